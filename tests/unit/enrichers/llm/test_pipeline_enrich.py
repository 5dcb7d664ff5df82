"""With an LLM endpoint configured, a run enriches every incident's report off the
pipeline's path, with the knowledge base in the prompt; the local server checks every call."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import KEY, FakeOpenAI
from test_enricher import _answer, _report
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.enrichers.llm.background import BackgroundEnricher
from foreshock.enrichers.llm.enricher import LlmEnricher
from foreshock.sim.simulator import simulate

runner = CliRunner()


def _analyst(body: dict[str, Any]) -> str:
    """A model that follows the rules: the first ranked candidate, cites E1, no numbers."""
    user = body["messages"][1]["content"]
    first = re.search(r"candidates \(best first\): ([^,\n]+)", user)
    assert first is not None, user
    return _answer(
        summary=f"{first.group(1)} is the root cause; its first anomaly started the incident.",
        root_cause={"resource": first.group(1), "failure_mode": None},
        causal_chain=[{"step": "The first anomaly", "evidence": ["E1"]}],
    )


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replay") / "redis"
    return simulate("redis_memory_exhaustion", seed=1, hours=4).write(folder)


def _env(fake: FakeOpenAI, home: Path) -> dict[str, str]:
    return {
        "FORESHOCK_LLM_BASE_URL": fake.url,
        "FORESHOCK_LLM_MODEL": "local-model",
        "FORESHOCK_LLM_API_KEY": KEY,
        "FORESHOCK_HOME": str(home),
    }


def test_run_replay_enriches_every_incident_report_with_the_knowledge_base(
    fake_openai: FakeOpenAI, replay: Path, tmp_path: Path
) -> None:
    fake_openai.default = _analyst
    home = tmp_path / "home"
    res = runner.invoke(
        app,
        ["run", "--replay", str(replay), "--home", str(home), "--json"],
        env=_env(fake_openai, home),
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    incidents = [i["id"] for i in out["incidents"]]
    assert incidents and fake_openai.requests
    prompts = [r["body"]["messages"][1]["content"] for r in fake_openai.requests]
    assert all("Knowledge base (the failure modes that match):" in p for p in prompts)
    assert any("redis.memory_exhaustion" in p for p in prompts)
    for inc in incidents:
        shown = runner.invoke(
            app,
            ["reports", "show", inc, "--json", "--home", str(home)],
            env=_env(fake_openai, home),
        )
        report = json.loads(shown.output)
        assert report["enriched_by"] == "local-model", report.get("enrichment_note")
    audit = (home / "llm-audit.jsonl").read_text().splitlines()
    assert len(audit) >= len(incidents)


def test_a_failing_endpoint_leaves_the_narrators_report_saying_why(
    fake_openai: FakeOpenAI, replay: Path, tmp_path: Path
) -> None:
    fake_openai.default = 500
    home = tmp_path / "home"
    res = runner.invoke(
        app,
        ["run", "--replay", str(replay), "--home", str(home), "--json"],
        env=_env(fake_openai, home),
    )
    assert res.exit_code == 0, res.output
    inc = json.loads(res.output)["incidents"][0]["id"]
    shown = runner.invoke(
        app, ["reports", "show", inc, "--json", "--home", str(home)], env=_env(fake_openai, home)
    )
    report = json.loads(shown.output)
    assert report["enriched_by"] == "narrator"
    assert report["enrichment_note"] == "LLM endpoint failed: HTTP 500"


def _wait_for(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_newer_versions_of_an_incident_replace_the_one_waiting(fake_openai: FakeOpenAI) -> None:
    """While the model works on v1, v2 and v3 arrive: v2 is never sent, v3 is."""
    fake_openai.script = [("sleep", 0.5, _answer())]
    fake_openai.default = _analyst
    bg = BackgroundEnricher(LlmEnricher(base_url=fake_openai.url, model="local-model", api_key=KEY))
    v1 = _report()
    bg.submit(v1)
    _wait_for(lambda: len(fake_openai.requests) == 1)
    bg.submit(v1.model_copy(update={"id": "inc-1-v2", "title": "second"}))
    bg.submit(v1.model_copy(update={"id": "inc-1-v3", "title": "third"}))
    done = bg.drain(timeout_s=30)
    assert [r.id for r in done] == ["inc-1-v1", "inc-1-v3"]
    assert {r.enriched_by for r in done} == {"local-model"} and bg.coalesced == 1
    assert len(fake_openai.requests) == 2


def test_what_does_not_finish_in_time_says_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.script = [("sleep", 2.0, _answer())]
    bg = BackgroundEnricher(LlmEnricher(base_url=fake_openai.url, model="local-model", api_key=KEY))
    bg.submit(_report())
    _wait_for(lambda: len(fake_openai.requests) == 1)
    [late] = bg.drain(timeout_s=0.1)
    assert late.enriched_by == "narrator"
    assert late.enrichment_note == "not enriched within 0.1 s of the run's end"


def test_a_second_run_shows_the_model_the_first_runs_incident(
    fake_openai: FakeOpenAI, replay: Path, tmp_path: Path
) -> None:
    """Past incidents join the prompt as comparison (never as this incident's evidence)."""
    fake_openai.default = _analyst
    home = tmp_path / "home"
    env = _env(fake_openai, home)
    first = runner.invoke(
        app, ["run", "--replay", str(replay), "--home", str(home), "--json"], env=env
    )
    past = json.loads(first.output)["incidents"][0]["id"]
    sent = len(fake_openai.requests)
    again = simulate("redis_memory_exhaustion", seed=2, hours=4).write(tmp_path / "again")
    second = runner.invoke(
        app, ["run", "--replay", str(again), "--home", str(home), "--json"], env=env
    )
    assert second.exit_code == 0, second.output
    prompts = [r["body"]["messages"][1]["content"] for r in fake_openai.requests[sent:]]
    assert prompts and all("Similar past incidents" in p for p in prompts)
    assert any(past in p for p in prompts)
