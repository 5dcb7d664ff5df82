"""`foreshock reports enrich` and `reports show --json` against the local server."""

from __future__ import annotations

import json
from pathlib import Path

from fake_openai import KEY, FakeOpenAI
from test_enricher import _answer, _report
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.pipelines.backends import open_store
from foreshock.pipelines.settings import Settings

runner = CliRunner()


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = open_store(Settings.load(env={}), home)
    store.put(_report())
    store.close()
    return home


def test_enrich_stores_the_grounded_report_and_logs_the_call(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    home = _home(tmp_path)
    env = {
        "FORESHOCK_LLM_BASE_URL": fake_openai.url,
        "FORESHOCK_LLM_MODEL": "local-model",
        "FORESHOCK_LLM_API_KEY": KEY,
        "FORESHOCK_HOME": str(home),
    }
    fake_openai.script = [_answer()]
    res = runner.invoke(app, ["reports", "enrich", "inc-1-v1", "--home", str(home)], env=env)
    assert res.exit_code == 0, res.output
    assert "stored inc-1-v1-llm, written by local-model" in res.output
    shown = runner.invoke(
        app, ["reports", "show", "inc-1-v1-llm", "--json", "--home", str(home)], env=env
    )
    report = json.loads(shown.output)
    assert report["enriched_by"] == "local-model" and report["confidence"] == 0.8
    audit = [json.loads(x) for x in (home / "llm-audit.jsonl").read_text().splitlines()]
    assert [a["outcome"] for a in audit] == ["accepted"] and audit[0]["model"] == "local-model"


def test_enrich_says_why_when_the_answer_is_refused(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    home = _home(tmp_path)
    env = {
        "FORESHOCK_LLM_BASE_URL": fake_openai.url,
        "FORESHOCK_LLM_MODEL": "local-model",
        "FORESHOCK_LLM_API_KEY": KEY,
    }
    bad = _answer(summary="memory at 97 percent")
    fake_openai.script = [bad, bad]
    res = runner.invoke(app, ["reports", "enrich", "inc-1-v1", "--home", str(home)], env=env)
    assert res.exit_code == 1
    assert "not enriched: LLM answer rejected twice: states numbers not in the evidence: 97" in (
        res.output.replace("\n", " ")
    )
    shown = runner.invoke(app, ["reports", "show", "inc-1-v1", "--json", "--home", str(home)])
    assert json.loads(shown.output)["enriched_by"] == "narrator"
