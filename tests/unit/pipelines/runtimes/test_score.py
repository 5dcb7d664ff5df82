"""score_series (prequential, calibrated replay) and score_csv (CSV in, scored CSV out)."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.registry import create
from foreshock.pipelines.runtimes.score import (
    CALIBRATION_MIN_COUNT,
    parse_timestamp,
    score_csv,
    score_series,
    scoring_params,
)
from foreshock.schemas.errors import SchemaError, UnknownNameError


def _series(n: int = 600, spike_at: int | None = None) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(11)
    values = (20.0 + rng.normal(scale=0.5, size=n)).tolist()
    if spike_at is not None:
        values[spike_at] += 15.0
    return [1_600_000_000.0 + 60.0 * i for i in range(n)], values


# -- score_series -----------------------------------------------------------------------------


def test_every_row_gets_a_score_in_unit_interval_and_the_spike_ranks_first() -> None:
    ts, vs = _series(spike_at=450)
    scores = score_series(ts, vs, "fleet")
    assert len(scores) == len(vs)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[450] == max(scores) and scores[450] > 0.999
    # scored by z-score alone (no novelty gate) the spike is the one top row
    assert int(np.argmax(score_series(ts, vs, "fleet", novelty=False))) == 450


def test_any_registered_detector_can_be_replayed() -> None:
    ts, vs = _series(spike_at=450)
    scores = score_series(ts, vs, "hst", window_size=50)
    assert len(scores) == len(vs)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[:50] == [0.0] * 50  # HST scores 0 until its first window is complete
    assert scores[450] > 0.5


def test_a_flat_series_scores_zero_and_a_blip_on_it_scores_top() -> None:
    n = 800
    ts = [60.0 * i for i in range(n)]
    flat = score_series(ts, [5.0] * n)
    assert flat == [0.0] * n
    blip = [5.0] * n
    blip[700] = 5.5
    scores = score_series(ts, blip)
    assert int(np.argmax(scores)) == 700 and scores[700] > 0.99


def test_huge_raw_scores_stay_distinct() -> None:
    # bursts on a series that is zero almost always give robust z-scores of 1e9 and
    # more; they must still be ranked, not all rounded to 1.0
    rng = np.random.default_rng(5)
    n = 1500
    values = np.where(rng.uniform(size=n) < 0.03, rng.uniform(1e6, 1e9, size=n), 0.0)
    scores = np.array(score_series([60.0 * i for i in range(n)], values.tolist()))
    top = scores[values > 0][200:]
    assert np.all(top < 1.0)
    assert np.unique(top).size == top.size


def test_scores_do_not_look_ahead() -> None:
    ts, vs = _series(spike_at=450)
    full = score_series(ts, vs)
    assert score_series(ts[:460], vs[:460]) == full[:460]
    # what follows a row cannot change its score
    changed = vs[:]
    changed[500:] = [v + 100.0 for v in changed[500:]]
    assert score_series(ts, changed)[:500] == full[:500]


def test_each_row_is_calibrated_on_the_raw_scores_before_it() -> None:
    # the contract, spelled out: score, then learn; transform, then learn the calibrator
    ts, vs = _series(n=900, spike_at=850)
    model = create("fleet", **scoring_params("fleet", {}))
    calibrator = TailCalibrator(min_count=CALIBRATION_MIN_COUNT)
    expected = []
    ids = np.zeros(1, dtype=np.int64)
    for t, v in zip(ts, vs, strict=True):
        raw = float(model.update(ids, np.array([v]), t)[0])  # the batch contract, one series
        one = np.array([math.log1p(abs(raw))])
        expected.append(float(calibrator.transform(one)[0]) if one[0] >= calibrator.low else 0.0)
        calibrator.learn(one)
    assert score_series(ts, vs) == expected
    assert expected[850] == max(expected) > 0.999


def test_non_finite_values_score_zero_and_are_not_learned() -> None:
    ts, vs = _series(spike_at=450)
    holes = {100, 300, 449}
    with_holes = [math.nan if i in holes else v for i, v in enumerate(vs)]
    with_holes[200] = math.inf
    scores = score_series(ts, with_holes)
    assert all(scores[i] == 0.0 for i in [*holes, 200])
    # the other rows score as if the bad rows were not there at all
    keep = [i for i in range(len(vs)) if i not in holes and i != 200]
    without = score_series([ts[i] for i in keep], [vs[i] for i in keep])
    assert [scores[i] for i in keep] == without


def test_detector_params_reach_the_detector() -> None:
    ts, vs = _series(n=200)
    # fleet does not score its first ``warmup`` rows
    scores = score_series(ts, vs, "fleet", warmup=150, novelty=False)
    assert all(s == 0.0 for s in scores[:150]) and any(s > 0.0 for s in scores[150:])
    with pytest.raises(TypeError):
        score_series(ts, vs, "fleet", no_such_param=1)


def test_bad_arguments() -> None:
    with pytest.raises(UnknownNameError):
        score_series([0.0], [1.0], "no-such-detector")
    with pytest.raises(ValueError, match="2 timestamps but 1 values"):
        score_series([0.0, 1.0], [1.0])
    assert score_series([], []) == []


def test_parse_timestamp_formats() -> None:
    expected = 1392388200.0
    assert parse_timestamp("2014-02-14 14:30:00") == expected
    assert parse_timestamp("2014-02-14 14:30:00.000000") == expected
    assert parse_timestamp("2014-02-14T14:30:00Z") == expected
    assert parse_timestamp("1392388200") == expected
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


# -- score_csv ---------------------------------------------------------------------------------


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        reader = csv.reader(f)
        return next(reader), list(reader)


def test_score_csv_keeps_every_column_and_row(tmp_path: Path) -> None:
    _, vs = _series(spike_at=450)
    rows = [
        [f"2020-09-13 {i // 60 % 24:02d}:{i % 60:02d}:00", "web-1", f"{v:.6f}", f"r{i}"]
        for i, v in enumerate(vs)
    ]
    _write(tmp_path / "in.csv", ["timestamp", "host", "value", "note"], rows)
    n = score_csv(tmp_path / "in.csv", tmp_path / "out.csv", "fleet")
    header, out = _read(tmp_path / "out.csv")
    assert n == len(rows) == len(out)
    assert header == ["timestamp", "host", "value", "note", "anomaly_score"]
    assert [r[:4] for r in out] == rows
    scores = [float(r[4]) for r in out]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[450] == max(scores) > 0.999


def test_score_csv_epoch_and_iso_timestamps_score_alike(tmp_path: Path) -> None:
    ts, vs = _series(n=300)
    _write(
        tmp_path / "epoch.csv",
        ["timestamp", "value"],
        [[f"{t:.0f}", f"{v}"] for t, v in zip(ts, vs, strict=True)],
    )
    iso = [
        [f"2020-09-13T12:{(i // 60) % 60:02d}:{i % 60:02d}+00:00", f"{v}"] for i, v in enumerate(vs)
    ]
    _write(tmp_path / "iso.csv", ["timestamp", "value"], iso)
    score_csv(tmp_path / "epoch.csv", tmp_path / "a.csv", "fleet")
    score_csv(tmp_path / "iso.csv", tmp_path / "b.csv", "fleet")
    a = [r[-1] for r in _read(tmp_path / "a.csv")[1]]
    b = [r[-1] for r in _read(tmp_path / "b.csv")[1]]
    assert a == b == [f"{s!r}" for s in score_series(ts, vs)]


def test_score_csv_keeps_bad_rows_with_score_zero_and_counts_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ts, vs = _series(n=300)
    rows = [[f"{t:.0f}", f"{v}"] for t, v in zip(ts, vs, strict=True)]
    bad = {
        50: ["3000000000", "n/a"],
        60: ["3000000060", ""],
        70: ["not a time", "20.0"],
        80: ["3000000080"],
    }
    for i, row in bad.items():
        rows[i] = row
    _write(tmp_path / "in.csv", ["timestamp", "value"], rows)
    with caplog.at_level(logging.INFO, logger="foreshock.pipelines.runtimes.score"):
        n = score_csv(tmp_path / "in.csv", tmp_path / "out.csv", "fleet")
    assert n == 300
    _, out = _read(tmp_path / "out.csv")
    assert len(out) == 300
    for i, row in bad.items():
        assert out[i][0] == row[0]
        assert float(out[i][-1]) == 0.0
    assert out[80] == ["3000000080", "", "0.0"]  # a short row is padded, not dropped
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "score_csv_done"]
    assert getattr(record, "rows", None) == 300 and getattr(record, "malformed", None) == 4
    # the good rows score as if the bad ones were absent
    good = [i for i in range(300) if i not in bad]
    expected = score_series([ts[i] for i in good], [vs[i] for i in good])
    assert [float(out[i][-1]) for i in good] == expected


def test_score_csv_overwrites_an_existing_score_column(tmp_path: Path) -> None:
    _write(
        tmp_path / "in.csv",
        ["anomaly_score", "timestamp", "value"],
        [["9", "0", "1.0"], ["9", "60", "1.0"]],
    )
    assert score_csv(tmp_path / "in.csv", tmp_path / "out.csv", "fleet") == 2
    header, out = _read(tmp_path / "out.csv")
    assert header == ["anomaly_score", "timestamp", "value"]
    assert out == [["0.0", "0", "1.0"], ["0.0", "60", "1.0"]]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["time", "value"], "'timestamp'"),
        (["timestamp", "val"], "'value'"),
        ([], "'timestamp', 'value'"),
    ],
)
def test_score_csv_rejects_a_header_without_timestamp_or_value(
    tmp_path: Path, header: list[str], missing: str
) -> None:
    path = tmp_path / "in.csv"
    if header:
        _write(path, header, [["0", "1.0"]])
    else:
        path.write_text("")
    with pytest.raises(SchemaError, match=f"missing {missing}"):
        score_csv(path, tmp_path / "out.csv", "fleet")
    assert not (tmp_path / "out.csv").exists()


def _numbered(path: Path, n: int) -> None:
    ts, vs = _series(n=n, spike_at=n - 20)
    _write(
        path, ["timestamp", "value"], [[f"{t:.0f}", f"{v}"] for t, v in zip(ts, vs, strict=True)]
    )


def test_score_csv_streams_in_chunks_and_can_score_a_file_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import foreshock.pipelines.runtimes.score as score_module

    _numbered(tmp_path / "in.csv", 700)
    assert score_csv(tmp_path / "in.csv", tmp_path / "whole.csv") == 700
    monkeypatch.setattr(score_module, "CHUNK_ROWS", 50)  # 14 chunks
    assert score_csv(tmp_path / "in.csv", tmp_path / "chunked.csv") == 700
    expected = (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "chunked.csv").read_bytes() == expected
    assert score_csv(tmp_path / "in.csv", tmp_path / "in.csv") == 700  # input = output
    assert (tmp_path / "in.csv").read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.csv", "in.csv", "whole.csv"]


def test_score_csv_failing_half_way_leaves_the_output_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import foreshock.pipelines.runtimes.score as score_module

    monkeypatch.setattr(score_module, "CHUNK_ROWS", 50)
    _numbered(tmp_path / "in.csv", 2000)  # 60 kB: decoded in several reads
    with (tmp_path / "in.csv").open("ab") as f:
        f.write(b"1600099999,\xff\xfe\n")  # not UTF-8, well after the first chunks
    with pytest.raises(UnicodeDecodeError):
        score_csv(tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    (tmp_path / "out.csv").write_text("before\n")
    with pytest.raises(UnicodeDecodeError):
        score_csv(tmp_path / "in.csv", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
