"""Loghub Group Accuracy on small generated systems with known events."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rich.console import Console

from foreshock.evaluate.loghub import evaluate_loghub, group_accuracy, write_system
from foreshock.schemas.errors import ConfigError


def _easy(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append((f"Connection from 10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}", "E1"))
        else:
            out.append((f"Wrote {rng.randint(1, 10**6)} bytes to /tmp/f{rng.randint(1, 99)}", "E2"))
    return out


def test_group_accuracy_counts_only_exact_groups() -> None:
    truth = ["a", "a", "b", "b", "c"]
    assert group_accuracy([1, 1, 2, 2, 3], truth) == 1.0
    # b split in two: its two lines are wrong, the rest right
    assert group_accuracy([1, 1, 2, 3, 4], truth) == pytest.approx(3 / 5)
    # a and c merged: three lines wrong
    assert group_accuracy([1, 1, 2, 2, 1], truth) == pytest.approx(2 / 5)
    with pytest.raises(ValueError):
        group_accuracy([1], truth)


def test_perfect_on_easy_systems_and_mean_over_systems(tmp_path: Path) -> None:
    write_system(tmp_path, "Alpha", _easy(200, 1))
    write_system(tmp_path, "Beta", _easy(100, 2))
    r = evaluate_loghub(tmp_path)
    assert r.systems == ["Alpha", "Beta"]
    assert r.mean_ga == 1.0
    assert r.per_system["Alpha"]["templates"] == r.per_system["Alpha"]["events"] == 2
    assert r.per_system["Beta"]["lines"] == 100 and r.lines_per_s > 0


def test_a_miner_that_merges_events_loses_accuracy(tmp_path: Path) -> None:
    # two events that differ in one word out of three: a loose miner merges them
    lines = [("service alpha stopped", "E1"), ("service beta started", "E2")] * 20
    write_system(tmp_path, "Gamma", lines)
    strict = evaluate_loghub(tmp_path, params={"sim_th": 0.7})
    loose = evaluate_loghub(tmp_path, params={"sim_th": 0.1, "depth": 3})
    assert strict.mean_ga == 1.0
    assert loose.mean_ga == 0.0
    assert loose.params == {"sim_th": 0.1, "depth": 3}


def test_systems_filter_and_errors(tmp_path: Path) -> None:
    write_system(tmp_path, "Alpha", _easy(20, 1))
    write_system(tmp_path, "Beta", _easy(20, 2))
    assert evaluate_loghub(tmp_path, systems=["Beta"]).systems == ["Beta"]
    with pytest.raises(ConfigError, match="Gamma"):
        evaluate_loghub(tmp_path, systems=["Gamma"])
    with pytest.raises(ConfigError, match="no Loghub folder"):
        evaluate_loghub(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no Loghub system"):
        evaluate_loghub(tmp_path / "empty")


def test_result_table_and_dict(tmp_path: Path) -> None:
    write_system(tmp_path, "Alpha", _easy(50, 3))
    r = evaluate_loghub(tmp_path)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["mean_ga"] == 1.0 and d["per_system"]["Alpha"]["ga"] == 1.0
    assert d["lines_per_s"] > 0
    console = Console(record=True, width=120)
    console.print(r.to_table())
    text = console.export_text()
    assert "Alpha" in text and "mean" in text and "1.000" in text
