"""``foreshock score`` speed: the per-row reference path vs the chunked path, per core.

One synthetic NAB-like series of ``rows`` rows (a CSV with ``"YYYY-MM-DD HH:MM:SS"``
timestamps every 5 minutes: a daily cycle, noise, a few spikes, level shifts and missing
values) is written to a temporary folder. Then, each in a fresh process (so that each
peak RSS is its own):

- the reference path, :func:`reference_score_csv`: the scorer as it was before issue 10
  (the whole CSV read into lists, then one row at a time through the fleet detector's
  ``update`` on arrays of length 1 and the calibrator's ``transform`` then ``learn``),
  on the first ``sample`` rows only: it costs about a tenth of a millisecond per row;
- the current path, :func:`~foreshock.pipelines.runtimes.score.score_csv`, on all rows.

Both read and write the CSV, as ``foreshock score`` does. Timed: CPU seconds of the
process (:func:`time.process_time`) spent in the call; the rows/s of each and their
ratio are reported, with each process's peak RSS (:func:`resource.getrusage`; it
includes the interpreter and numpy/scipy, about 100 MB). ``same_scores`` says whether
the current path's output on the sampled rows is byte-identical to the reference's.

Examples
--------
>>> out = run_score_bench(rows=3000, sample=500)
>>> sorted(out)
['current', 'ratio', 'reference', 'rows', 'same_scores', 'sample']
>>> out["reference"]["rows"], out["current"]["rows"], out["same_scores"]
(500, 3000, True)
>>> out["current"]["rows_per_s"] > out["reference"]["rows_per_s"]
True
"""

from __future__ import annotations

import csv
import math
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.registry import create
from foreshock.pipelines.runtimes.score import (
    CALIBRATION_MIN_COUNT,
    SCORE_COLUMN,
    _finite,
    parse_timestamp,
    score_csv,
    scoring_params,
)

__all__ = ["reference_score_csv", "reference_score_series", "run_score_bench"]

_STEP_S = 300  # seconds between rows
_START = datetime(2014, 1, 1, tzinfo=UTC)


def write_series(path: Path, rows: int, seed: int = 0) -> None:
    """Write a synthetic NAB-like ``timestamp,value`` CSV of ``rows`` rows to ``path``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "s.csv"
    >>> write_series(p, 3)
    >>> p.read_text().splitlines()[:2]
    ['timestamp,value', '2014-01-01 00:00:00,50.251']
    """
    rng = np.random.default_rng(seed)
    start = int(_START.timestamp())
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["timestamp", "value"])
        for first in range(0, rows, 100_000):
            n = min(100_000, rows - first)
            i = np.arange(first, first + n)
            t = start + i * _STEP_S
            day = np.sin(2.0 * np.pi * (t % 86_400) / 86_400)
            shift = 20.0 * ((i // 50_000) % 2)  # a level shift every 50,000 rows
            values = 50.0 + 10.0 * day + shift + rng.normal(scale=2.0, size=n)
            spikes = rng.random(n) < 1e-3
            values[spikes] += rng.uniform(20.0, 200.0, size=int(spikes.sum()))
            cells = [f"{v:.3f}" for v in values.tolist()]
            for k in np.flatnonzero(rng.random(n) < 1e-4).tolist():
                cells[k] = ""  # a missing value
            stamps = [
                datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S") for s in t.tolist()
            ]
            writer.writerows(zip(stamps, cells, strict=True))


def reference_score_series(
    timestamps: list[float], values: list[float], detector: str = "fleet"
) -> list[float]:
    """The per-row scorer of ``score_series`` before issue 10 (the reference).

    Examples
    --------
    >>> from foreshock.pipelines.runtimes.score import score_series
    >>> ts, vs = [60.0 * i for i in range(500)], [float(i % 7) for i in range(500)]
    >>> reference_score_series(ts, vs) == score_series(ts, vs)
    True
    """
    model = create(detector, **scoring_params(detector, {}))
    calibrator = TailCalibrator(min_count=CALIBRATION_MIN_COUNT)
    ids = np.zeros(1, dtype=np.int64)
    scores: list[float] = []
    for t, v in zip(timestamps, values, strict=True):
        t, v = float(t), float(v)
        if not (math.isfinite(t) and math.isfinite(v)):
            scores.append(0.0)
            continue
        raw = float(model.update(ids, np.array([v]), t)[0])
        if not math.isfinite(raw):
            scores.append(0.0)
            continue
        one = np.array([math.log1p(abs(raw))], dtype=np.float64)
        evidence = one[0] >= calibrator.low
        scores.append(float(calibrator.transform(one)[0]) if evidence else 0.0)
        calibrator.learn(one)
    return scores


def reference_score_csv(input: Path, output: Path, detector: str = "fleet") -> int:
    """``score_csv`` before issue 10: the whole file in memory, scored row by row."""
    with input.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for row in reader if row]
    columns = [name.strip() for name in header]
    width = len(columns)
    t_col, v_col = columns.index("timestamp"), columns.index("value")
    timestamps: list[float] = []
    values: list[float] = []
    for row in rows:
        t = _finite(row[t_col], parse_timestamp) if t_col < len(row) else math.nan
        v = _finite(row[v_col], float) if v_col < len(row) else math.nan
        if len(row) != width or math.isnan(t) or math.isnan(v):
            t = v = math.nan
        timestamps.append(t)
        values.append(v)
    scores = reference_score_series(timestamps, values, detector)
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*header, SCORE_COLUMN])
        for row, score in zip(rows, scores, strict=True):
            writer.writerow([*(row + [""] * width)[:width], repr(score)])
    return len(rows)


def _timed(path: str, output: str, reference: bool) -> dict[str, float]:
    """Run one path in this (fresh) process: CPU seconds, rows and peak RSS."""
    run: Callable[[Path, Path], int] = reference_score_csv if reference else score_csv
    start = time.process_time()
    rows = run(Path(path), Path(output))
    cpu = time.process_time() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {
        "rows": rows,
        "cpu_s": round(cpu, 3),
        "rows_per_s": round(rows / max(cpu, 1e-9), 1),
        "us_per_row": round(1e6 * cpu / max(rows, 1), 2),
        "peak_rss_mb": round(peak_kb / 1024.0, 1),
    }


def _in_fresh_process(path: Path, output: Path, reference: bool) -> dict[str, float]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_timed, str(path), str(output), reference).result()


def run_score_bench(rows: int = 1_000_000, sample: int = 20_000, seed: int = 0) -> dict[str, Any]:
    """Rows/s of the reference path (on ``sample`` rows) and of the current one (all rows).

    The reference path is timed on the series' first ``sample`` rows (it holds every
    row in memory and costs about a tenth of a millisecond per row); see the module's
    example for a run.

    Examples
    --------
    >>> run_score_bench(rows=0)
    Traceback (most recent call last):
    ...
    ValueError: rows and sample must be at least 1
    """
    if rows < 1 or sample < 1:
        raise ValueError("rows and sample must be at least 1")
    sample = min(sample, rows)
    folder = Path(tempfile.mkdtemp(prefix="foreshock-bench-score-"))
    try:
        full, part = folder / "series.csv", folder / "sample.csv"
        write_series(full, rows, seed)
        with full.open(encoding="utf-8") as f, part.open("w", encoding="utf-8") as g:
            g.writelines(line for _, line in zip(range(sample + 1), f, strict=False))
        reference = _in_fresh_process(part, folder / "reference.csv", reference=True)
        current = _in_fresh_process(full, folder / "current.csv", reference=False)
        with (folder / "reference.csv").open() as f, (folder / "current.csv").open() as g:
            same = all(a == b for a, b in zip(f, g, strict=False))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "rows": rows,
        "sample": sample,
        "reference": reference,
        "current": current,
        "ratio": round(current["rows_per_s"] / max(reference["rows_per_s"], 1e-9), 1),
        "same_scores": same,
    }
