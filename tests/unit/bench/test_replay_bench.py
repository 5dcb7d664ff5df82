"""``foreshock bench replay``: CPU time and memory of whole runs by replay length."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from foreshock.bench.replay import measure_run, run_replay_bench
from foreshock.cli.app import app


def test_each_length_is_simulated_run_in_a_child_and_measured(tmp_path: Path) -> None:
    lines: list[str] = []
    res = run_replay_bench([1.0, 0.5], tmp_path, progress=lines.append)
    runs = res["runs"]
    assert [r["hours"] for r in runs] == [0.5, 1.0]  # shortest first
    assert 1.8 < runs[1]["rows"] / runs[0]["rows"] < 2.2
    for r in runs:
        assert r["cpu_s"] == pytest.approx(r["user_s"] + r["sys_s"])
        assert r["cpu_s"] > 0.2  # a whole foreshock process, imports included
        assert r["peak_rss_mb"] > 30  # the child's, not this process's
    assert res["ratio"] == pytest.approx(
        runs[1]["cpu_s"] / (runs[1]["rows"] / runs[0]["rows"] * runs[0]["cpu_s"])
    )
    assert (tmp_path / "home-1h" / "reports.sqlite").exists()  # the run really ran
    assert lines[0] == "simulating 0.5 h" and lines[-1].startswith("running 1 h (")


def test_a_run_that_fails_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"no metrics\.csv"):
        measure_run(tmp_path, tmp_path / "home")


@pytest.mark.parametrize("hours", ["51", "abc,2", "0,5"])
def test_bad_lengths_are_refused(hours: str) -> None:
    out = CliRunner().invoke(app, ["bench", "replay", "--hours", hours])
    assert out.exit_code == 2 and "--hours" in out.output
