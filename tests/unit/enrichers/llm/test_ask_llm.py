"""`foreshock ask` with an LLM: the model words the answer and is held to the material."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import KEY, FakeOpenAI
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.enrichers.ask import Answer
from foreshock.enrichers.ask_llm import LlmAsker
from foreshock.enrichers.llm.journal import AuditLog
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.schemas.forecast import Forecast

OFFLINE = Answer(
    "when does redis-cache fill up? my password=hunter2x",
    "capacity",
    "redis-cache redis_memory_used_bytes reaches its limit (100) first: in about 6.0 h.",
    ["forecast:redis-cache/redis_memory_used_bytes"],
    ["redis-cache redis_memory_used_bytes reaches its limit (100) first: in about 6.0 h."],
)


def _reply(answer: str, sources: list[str]) -> str:
    return json.dumps({"answer": answer, "sources": sources})


def _asker(fake: FakeOpenAI, audit: AuditLog | None = None) -> LlmAsker:
    return LlmAsker(fake.url, "local-model", KEY, timeout_s=5, audit=audit)


def test_a_faithful_answer_is_used_and_the_question_is_masked(fake_openai: FakeOpenAI) -> None:
    fake_openai.script = [
        _reply(
            "Redis memory on redis-cache fills first, in about 6.0 h.",
            ["forecast:redis-cache/redis_memory_used_bytes"],
        )
    ]
    audit = AuditLog()
    out = _asker(fake_openai, audit).rephrase(OFFLINE)
    assert out.answered_by == "local-model" and out.note is None
    assert out.text == "Redis memory on redis-cache fills first, in about 6.0 h."
    assert "hunter2x" not in fake_openai.bodies()
    assert [e["outcome"] for e in audit.entries] == ["accepted"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            _reply("Fills in 2 h.", ["forecast:redis-cache/redis_memory_used_bytes"]),
            "states numbers not in the material: 2",
        ),
        (_reply("Fills in about 6.0 h.", ["inc-99"]), "cites ids it was not given: inc-99"),
        (_reply("Fills in about 6.0 h.", []), "cites no id"),
        ("Sure! It fills soon.", "not the JSON asked for"),
        (500, "LLM endpoint failed: HTTP 500"),
    ],
)
def test_an_answer_that_strays_keeps_the_offline_one(
    fake_openai: FakeOpenAI, reply: object, reason: str
) -> None:
    fake_openai.script = [reply, reply, reply]  # the client retries a 500 twice
    out = _asker(fake_openai).rephrase(OFFLINE)
    assert out.answered_by == "offline" and out.text == OFFLINE.text
    assert out.note is not None and reason in out.note


def test_the_cli_uses_the_configured_endpoint_unless_offline(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = SQLiteReportStore(home / "reports.sqlite")
    db.put_forecasts(
        [
            Forecast(
                resource="redis-cache",
                metric="mem",
                made_at=0.0,
                model="ets",
                horizon_s=86400.0,
                limit=100.0,
                exhaustion_p50=21600.0,
            )
        ]
    )
    db.close()
    env = {
        "FORESHOCK_LLM_BASE_URL": fake_openai.url,
        "FORESHOCK_LLM_MODEL": "local-model",
        "FORESHOCK_LLM_API_KEY": KEY,
    }
    fake_openai.script = [_reply("redis-cache fills first.", ["forecast:redis-cache/mem"])]
    res = runner.invoke(app, ["ask", "what runs out first?", "--home", str(home)], env=env)
    assert res.exit_code == 0, res.output
    assert "redis-cache fills first." in res.output and "answered by local-model" in res.output
    audit = [json.loads(x) for x in (home / "llm-audit.jsonl").read_text().splitlines()]
    assert audit[-1]["purpose"] == "ask" and audit[-1]["outcome"] == "accepted"
    res = runner.invoke(
        app, ["ask", "what runs out first?", "--home", str(home), "--offline"], env=env
    )
    assert "answered by offline (templates)" in res.output and len(fake_openai.requests) == 1


runner = CliRunner()
