"""The chunked scorer gives the scores of the per-row one, bit for bit (issue 10).

The published NAB numbers come from ``score_series``: the per-row implementation it
replaced is kept here, frozen, as the reference (one ``update`` per row on arrays of
length 1, then the calibrator's ``transform`` and ``learn``), with the CSV writer it
fed. The detector is built as the score path builds it (``scoring_params``: the fleet
tier with ``novelty`` unless told otherwise), so each case also holds the fleet tier's
plain-float ``replay`` to its vectorised ``update``, with and without novelty. Every
comparison is of bytes: floats by ``tobytes`` (NaN payloads included), CSV files byte
for byte.
"""

from __future__ import annotations

import csv
import math
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import foreshock.pipelines.runtimes.score as score_module
from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.registry import create
from foreshock.pipelines.runtimes.score import (
    SeriesScorer,
    _finite,
    _Timestamps,
    parse_timestamp,
    score_csv,
    score_series,
    scoring_params,
)

_NAB = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "nab-dev" / "data"


# -- the reference: score_series and score_csv before issue 10, frozen -------------------


def _reference_scores(
    timestamps: list[float], values: list[float], detector: str = "fleet", **params: Any
) -> list[float]:
    model = create(detector, **scoring_params(detector, params))
    calibrator = TailCalibrator(min_count=300)
    ids = np.zeros(1, dtype=np.int64)
    scores: list[float] = []
    for t, v in zip(timestamps, values, strict=True):
        t, v = float(t), float(v)
        if not (math.isfinite(t) and math.isfinite(v)):
            scores.append(0.0)
            continue
        raw = float(model.update(ids, np.array([v]), t)[0])  # scored, then learned
        if not math.isfinite(raw):
            scores.append(0.0)
            continue
        one = np.array([math.log1p(abs(raw))], dtype=np.float64)
        evidence = one[0] >= calibrator.low
        scores.append(float(calibrator.transform(one)[0]) if evidence else 0.0)
        calibrator.learn(one)
    return scores


def _reference_csv(input: Path, output: Path, detector: str = "fleet") -> None:
    with input.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = [row for row in reader if row]
    columns = [name.strip() for name in header or []]
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
    scores = _reference_scores(timestamps, values, detector)
    if "anomaly_score" in columns:
        out_header, s_col = list(header or []), columns.index("anomaly_score")
    else:
        out_header, s_col = [*(header or []), "anomaly_score"], width
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(out_header)
        for row, score in zip(rows, scores, strict=True):
            cells = (row + [""] * width)[:width]
            if s_col == width:
                cells.append(repr(score))
            else:
                cells[s_col] = repr(score)
            writer.writerow(cells)


def _bytes(scores: list[float]) -> bytes:
    return np.array(scores, dtype=np.float64).tobytes()


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflowing series on purpose
        return fn(*args, **kwargs)


# -- series ---------------------------------------------------------------------------------

_RNG = np.random.default_rng(29)
_N = 2600  # more than one calibrator block (2048) after the warm-up
_T = [1_600_000_000.0 + 60.0 * i for i in range(_N)]


_NOVELTY: list[dict[str, Any]] = [{}, {"novelty": False}]


def _series_cases() -> list[tuple[str, list[float], list[float], dict[str, Any]]]:
    noisy = (50.0 + 5.0 * np.sin(np.arange(_N) / 60.0) + _RNG.normal(size=_N)).tolist()
    holes = list(noisy)
    for i in range(0, _N, 97):
        holes[i] = math.nan
    for i in range(5, _N, 211):
        holes[i] = 1e9
    for i in range(7, _N, 401):
        holes[i] = math.inf
    bad_times = list(_T)
    bad_times[100], bad_times[200] = math.nan, math.inf
    bursts = np.where(_RNG.uniform(size=_N) < 0.03, _RNG.uniform(1e6, 1e9, size=_N), 0.0)
    overflow = np.where(_RNG.random(_N) < 0.5, 1e308, -1e308)
    blip = [5.0] * _N
    blip[2100] = 5.5
    return [
        ("noisy", _T, noisy, {}),
        ("flat", _T, [5.0] * _N, {}),
        ("flat with a blip", _T, blip, {}),
        ("NaN, inf and spikes", _T, holes, {}),
        ("timestamps not finite", bad_times, holes, {}),
        ("bursts on zeros", _T, bursts.tolist(), {}),
        ("overflow", _T, overflow.tolist(), {}),
        ("zeros without a floor", _T, [0.0] * _N, {"abs_floor": 0.0}),
        ("no warm-up", _T, noisy, {"warmup": 0}),
        ("early season", _T, noisy, {"season_after": 50, "warmup": 2}),
        *[(f"{n} rows", _T[:n], noisy[:n], {}) for n in (0, 1, 29, 30, 31, 299, 300, 301, 331)],
    ]


@pytest.mark.parametrize(
    ("timestamps", "values", "params"),
    [(*c[1:3], {**c[3], **novelty}) for c in _series_cases() for novelty in _NOVELTY],
    ids=[f"{c[0]}{tag}" for c in _series_cases() for tag in ("", " (novelty off)")],
)
def test_score_series_is_the_per_row_reference(
    timestamps: list[float], values: list[float], params: dict[str, Any]
) -> None:
    expected = _quiet(_reference_scores, timestamps, values, **params)
    assert _bytes(_quiet(score_series, timestamps, values, **params)) == _bytes(expected)


def test_river_detectors_keep_their_per_row_path() -> None:
    ts, vs = _T[:700], (20.0 + _RNG.normal(size=700)).tolist()
    vs[650] += 30.0
    for detector, params in (("hst", {"window_size": 50}), ("loda", {})):
        expected = _reference_scores(ts, vs, detector, **params)
        assert _bytes(score_series(ts, vs, detector, **params)) == _bytes(expected)


def _nab_files() -> list[Path]:
    return sorted(_NAB.glob("*/*.csv"))


@pytest.mark.skipif(not _nab_files(), reason="no NAB corpus at ../shared/data/nab-dev")
@pytest.mark.parametrize(
    "name", ["art_daily_jumpsup", "ec2_cpu_utilization_825cc2", "grok_asg_anomaly"]
)
def test_nab_files_score_as_the_reference(name: str) -> None:
    (path,) = [p for p in _nab_files() if p.stem == name]
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    ts, vs = [parse_timestamp(r[0]) for r in rows], [float(r[1]) for r in rows]
    assert _bytes(score_series(ts, vs)) == _bytes(_reference_scores(ts, vs))


def test_chunks_of_any_size_give_the_same_scores() -> None:
    ts = np.array(_T)
    vs = 50.0 + _RNG.normal(size=_N)
    vs[::301] = np.nan
    whole = SeriesScorer().score(ts, vs)
    scorer, parts, start = SeriesScorer(), [], 0
    for size in [1, 2, 297, 1, 1000, 5, 2048, 10_000]:
        parts.append(scorer.score(ts[start : start + size], vs[start : start + size]))
        start += size
    assert np.concatenate(parts).tobytes() == whole.tobytes()
    assert whole.tobytes() == _bytes(_reference_scores(_T, vs.tolist()))


# -- CSV --------------------------------------------------------------------------------------


def _messy_csv(path: Path, rows: int, seed: int) -> None:
    """Quoted cells, commas and line breaks in cells, CRLF, blank lines, bad rows."""
    rnd = random.Random(seed)
    lines = ['timestamp,"value",host,anomaly_score']
    for i in range(rows):
        if rnd.random() < 0.7:
            t = f"2020-01-{1 + i // 1440:02d} {i // 60 % 24:02d}:{i % 60:02d}:00"
        else:
            t = str(1_577_836_800 + 60 * i)
        v = f"{20 + rnd.gauss(0, 1):.4f}"
        r = rnd.random()
        v = "n/a" if r < 0.01 else "" if r < 0.02 else "1e999" if r < 0.03 else v
        if rnd.random() < 0.005:
            v = "95.0"  # a spike
        host = rnd.choice(["a", "b,c", 'say "hi"', "two\nlines", "é", "x\ry"])
        row = [t, v, host, "9"]
        if rnd.random() < 0.01:
            row = row[:2]
        if rnd.random() < 0.01:
            row = [*row, "extra"]
        quoted = [
            '"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\n\r') else c for c in row
        ]
        lines.append(",".join(quoted))
        if rnd.random() < 0.01:
            lines.append("")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def _plain_csv(path: Path, rows: int) -> None:
    """NAB's layout: ``timestamp,value`` with ``YYYY-MM-DD HH:MM:SS`` timestamps."""
    rng = np.random.default_rng(rows)
    values = 20.0 + rng.normal(size=rows)
    values[rows // 2] += 25.0
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["timestamp", "value"])
        for i, v in enumerate(values.tolist()):
            writer.writerow([f"2015-03-{1 + i // 1440:02d} {i // 60 % 24:02d}:{i % 60:02d}:00", v])


@pytest.mark.parametrize("chunk_rows", [64, 100_000])
def test_score_csv_writes_the_reference_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    monkeypatch.setattr(score_module, "CHUNK_ROWS", chunk_rows)
    _messy_csv(tmp_path / "messy.csv", 1500, seed=3)
    _plain_csv(tmp_path / "plain.csv", 1500)
    for name in ("messy.csv", "plain.csv"):
        _reference_csv(tmp_path / name, tmp_path / "expected.csv")
        assert score_csv(tmp_path / name, tmp_path / "got.csv") == 1500
        assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()


def test_fast_timestamps_parse_as_parse_timestamp() -> None:
    rnd = random.Random(5)
    texts = [
        "2014-02-14 14:30:00",
        "2014-02-14T14:30:59",
        "2014-02-14x14:30:59",
        "2014-02-29 00:00:00",
        "2016-02-29 23:59:59",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "0000-01-01 00:00:00",
        "1969-12-31 23:59:59",
        "2014-13-01 00:00:00",
        "2014-02-14 24:00:00",
        "2014-02-14 23:60:00",
        "2014-02-14 23:59:60",
        "2014-02-14 1٤:30:00",  # a digit, not an ASCII one
        " 2014-02-14 14:30:0",
        "2014-02-14 14:30:00 ",
        "2014-02-14T14:30:00Z",
        "2014-02-14T15:30:00+01:00",
        "2014-02-14 14:30:00.250",
        "1392388200",
        " 1392388200.5 ",
        "1e999",
        "nan",
        "",
        "+1392388200.000000",
    ]
    for _ in range(3000):
        y, m, d = rnd.randint(0, 2100), rnd.randint(0, 13), rnd.randint(0, 32)
        hh, mm, ss = rnd.randint(0, 25), rnd.randint(0, 61), rnd.randint(0, 61)
        texts.append(f"{y:04d}-{m:02d}-{d:02d}{rnd.choice(' T_')}{hh:02d}:{mm:02d}:{ss:02d}")
    expected = np.array([_finite(t, parse_timestamp) for t in texts])
    assert _Timestamps()(texts).tobytes() == expected.tobytes()
    assert np.isfinite(expected).sum() > 1000  # many valid ones among them
