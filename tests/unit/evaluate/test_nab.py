"""NAB corpus: labelled windows mapped to rows, and a detector run end to end over it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foreshock.evaluate.nab import evaluate, load_corpus
from foreshock.schemas.errors import ConfigError, SchemaError


def _stamp(row: int) -> str:
    """NAB's timestamp of row ``row`` of a 5-minute series starting 2020-01-01."""
    minute = 5 * row
    return f"2020-01-{1 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}:00"


def _write_corpus(root: Path, spike: bool = True) -> None:
    rng = np.random.default_rng(3)
    labels = {}
    for category, name in (("realA", "s1.csv"), ("realB", "s2.csv")):
        folder = root / "data" / category
        folder.mkdir(parents=True, exist_ok=True)
        values = 50.0 + rng.normal(size=2000)
        if spike:
            values[1500] += 40.0
        lines = ["timestamp,value"] + [f"{_stamp(i)},{v:.4f}" for i, v in enumerate(values)]
        (folder / name).write_text("\n".join(lines) + "\n")
        labels[f"{category}/{name}"] = [[f"{_stamp(1480)}.000000", f"{_stamp(1540)}.000000"]]
    (root / "labels").mkdir(exist_ok=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))


def test_load_corpus_maps_window_times_to_rows(tmp_path: Path) -> None:
    _write_corpus(tmp_path)
    files = load_corpus(tmp_path)
    assert [f.name for f in files] == ["realA/s1.csv", "realB/s2.csv"]
    assert all(f.windows == [(1480, 1540)] and len(f.values) == 2000 for f in files)
    assert files[0].timestamps[1] - files[0].timestamps[0] == 300.0


def test_load_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"combined_windows\.json"):
        load_corpus(tmp_path)
    _write_corpus(tmp_path)
    (tmp_path / "data" / "realB" / "s2.csv").unlink()
    with pytest.raises(SchemaError, match=r"s2\.csv"):
        load_corpus(tmp_path)


def test_evaluate_end_to_end_finds_a_planted_spike(tmp_path: Path) -> None:
    _write_corpus(tmp_path)
    calls: list[tuple[int, int]] = []
    result = evaluate(tmp_path, "fleet", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    assert result.n_files == 2 and result.n_windows == 2
    standard = result.profiles["standard"]
    assert standard.tp == 2 and standard.score > 50.0
    only_a = evaluate(tmp_path, "fleet", categories=["realA"])
    assert list(only_a.profiles["standard"].per_file) == ["realA/s1.csv"]
    with pytest.raises(ConfigError, match="realA"):
        evaluate(tmp_path, "fleet", categories=["nope"])
