"""`foreshock eval knowledge`: labelled pairs from recorded lab faults, saved and re-scored."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.schemas.errors import ConfigError

runner = CliRunner()
LAB = Path(__file__).parents[2] / "data" / "lab-replays"


def test_lab_faults_become_pairs_that_retrieval_finds(tmp_path: Path) -> None:
    saved = tmp_path / "pairs.jsonl"
    res = runner.invoke(
        app,
        [
            "eval",
            "knowledge",
            "--seeds",
            "none",
            "--replays",
            str(LAB),
            "--save-pairs",
            str(saved),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["pairs"], out["replay_pairs"], out["simulated_pairs"]) == (5, 5, 0)
    assert out["recall_at_3"] == 1.0 and out["recall_at_1"] >= 0.8
    truths = {json.loads(x)["truth"] for x in saved.read_text().splitlines()}
    assert "postgresql.idle_in_transaction" in truths and "redis.memory_exhaustion" in truths

    again = runner.invoke(app, ["eval", "knowledge", "--pairs", str(saved), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["recall_at_1"] == out["recall_at_1"]


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"resource": "x"}\n')
    res = runner.invoke(app, ["eval", "knowledge", "--pairs", str(bad)])
    assert isinstance(res.exception, ConfigError)
    assert "line 1: not a labelled pair" in str(res.exception)
    res = runner.invoke(
        app, ["eval", "knowledge", "--seeds", "none", "--replays", str(tmp_path / "nope")]
    )
    assert isinstance(res.exception, ConfigError) and "not a folder" in str(res.exception)
