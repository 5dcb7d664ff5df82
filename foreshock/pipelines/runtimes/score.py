"""Replay one series through a registered detector and calibrate its scores to [0, 1].

Scoring is *prequential*, as a live stream would see it: each row is first scored
against what the detector has learned from the rows before it, then learned. The raw
scores are calibrated online by a :class:`~foreshock.detectors.calibration.TailCalibrator` fitted on
the series' own earlier raw scores (transform first, then learn), so no score ever
depends on a later row. Rows whose value (or time) is not a finite number get score 0.0
and are learned by neither the detector nor the calibrator.

How raw scores are calibrated (each choice measured on NAB, see the module's tests):

- The calibrator learns ``log1p(|raw|)``, not ``|raw|``. The empirical CDF is unchanged
  (the map is monotone); what changes is the tail beyond the data: the calibrator's
  exponential tail becomes a power-law tail in the raw score. Robust z-scores are
  heavy-tailed (a level shift against a small MAD gives z in the hundreds, a burst on a
  near-constant series 1e12), and an exponential tail in raw z rounds all of them to
  exactly 1.0, so no threshold can tell them apart.
- A raw score below the calibrator's resolution (``TailCalibrator.low``) is no evidence:
  it scores 0.0 (a detector's warm-up, an exact prediction). It is still learned. Without
  this, a series whose raw scores are all 0 (a flat line) scores 1.0 on every row, as
  P(S <= 0) = 1.
- The calibrator's normal-tail prior is replaced by its histogram after
  :data:`CALIBRATION_MIN_COUNT` scores: enough for a few of them to lie above the 99%
  quantile where its fitted tail starts, yet short, as prior and histogram put the same
  raw score at different calibrated levels and one threshold must hold over the series.

Examples
--------
>>> ts = [60.0 * i for i in range(400)]
>>> vs = [10.0 + (i % 5) * 0.1 for i in range(400)]
>>> vs[300] = 50.0
>>> scores = score_series(ts, vs)
>>> len(scores) == 400 and all(0.0 <= s <= 1.0 for s in scores)
True
>>> max(range(400), key=scores.__getitem__)
300
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from foreshock.detectors.calibration import TailCalibrator
from foreshock.schemas.errors import SchemaError

__all__ = ["CALIBRATION_MIN_COUNT", "SCORE_COLUMN", "parse_timestamp", "score_csv", "score_series"]

SCORE_COLUMN = "anomaly_score"
CALIBRATION_MIN_COUNT = 300  # raw scores learned before the calibrator's histogram is used
_TIMESTAMP = "timestamp"
_VALUE = "value"

_log = logging.getLogger(__name__)


def score_series(
    timestamps: Sequence[float],
    values: Sequence[float],
    detector: str = "fleet",
    **params: Any,
) -> list[float]:
    """Calibrated anomaly scores in [0, 1] of one series, replayed prequentially.

    Parameters
    ----------
    timestamps
        Epoch seconds of each row (the detector sees them as ``x["t"]``).
    values
        The value of each row; non-finite values (NaN for a missing or malformed
        value) score 0.0 and are not learned.
    detector
        Name of a detector in :mod:`foreshock.detectors.registry`.
    **params
        Hyperparameters passed to the detector's constructor.

    Returns
    -------
    list[float]
        One score per row, in [0, 1]: the estimated probability that the detector's
        raw scores on the series so far were below this row's raw score (0.0 for a raw
        score that is no evidence at all).

    Raises
    ------
    ValueError
        If ``timestamps`` and ``values`` differ in length.
    foreshock.schemas.errors.UnknownNameError
        If ``detector`` is not registered.

    Examples
    --------
    >>> score_series([0.0, 60.0, 120.0], [1.0, float("nan"), 1.0])
    [0.0, 0.0, 0.0]
    >>> len(score_series([0.0, 60.0], [1.0, 2.0], detector="hst", window_size=10))
    2
    """
    from foreshock.detectors.registry import create

    if len(timestamps) != len(values):
        raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
    model = create(detector, **params)
    calibrator = TailCalibrator(min_count=CALIBRATION_MIN_COUNT)
    ids = np.zeros(1, dtype=np.int64)  # one series: id 0 of the batch contract
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


def parse_timestamp(text: str) -> float:
    """Epoch seconds of ``text``: a number of epoch seconds or an ISO-8601 date-time.

    Date-times without a time zone (NAB's ``"YYYY-MM-DD HH:MM:SS"``) are taken as UTC.

    Raises
    ------
    ValueError
        If ``text`` is neither.

    Examples
    --------
    >>> parse_timestamp("2014-02-14 14:30:00")
    1392388200.0
    >>> parse_timestamp("2014-02-14T15:30:00+01:00"), parse_timestamp(" 1392388200 ")
    (1392388200.0, 1392388200.0)
    """
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _finite(text: str, parse: Callable[[str], float]) -> float:
    """``parse(text)`` if it is a finite number, else NaN."""
    try:
        number = float(parse(text))
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def score_csv(input: Path, output: Path, detector: str = "fleet", **params: Any) -> int:
    """Score the series in CSV file ``input`` and write it, scored, to ``output``.

    ``input`` has a header with at least ``timestamp`` and ``value`` columns; the
    timestamp is epoch seconds or ISO-8601 (NAB's ``"YYYY-MM-DD HH:MM:SS"`` included).
    ``output`` gets every input row and column, in order, plus ``anomaly_score`` (an
    existing ``anomaly_score`` column is overwritten). A row whose value or timestamp is
    not a finite number, or whose number of cells differs from the header's, is
    malformed: it is kept (padded with empty cells, or cut to the header's width), scores
    0.0 and is not learned. A ``score_csv_done`` log event
    reports the row and malformed-row counts.

    Parameters
    ----------
    input, output
        Paths of the CSV file to read and of the one to write.
    detector
        Name of a detector in :mod:`foreshock.detectors.registry`.
    **params
        Hyperparameters of the detector.

    Returns
    -------
    int
        The number of data rows written.

    Raises
    ------
    foreshock.schemas.errors.SchemaError
        If the header lacks a ``timestamp`` or ``value`` column.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "in.csv").write_text("timestamp,value,host\\n0,1.5,a\\n60,oops,a\\n")
    >>> score_csv(d / "in.csv", d / "out.csv")
    2
    >>> print((d / "out.csv").read_text().strip())
    timestamp,value,host,anomaly_score
    0,1.5,a,0.0
    60,oops,a,0.0
    """
    with input.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = [row for row in reader if row]
    columns = [name.strip() for name in header or []]
    missing = [name for name in (_TIMESTAMP, _VALUE) if name not in columns]
    if missing:
        raise SchemaError(
            f"{input}: the CSV header must name the columns 'timestamp' and 'value'; "
            f"missing {', '.join(map(repr, missing))} (header: {columns})"
        )
    width = len(columns)
    t_col, v_col = columns.index(_TIMESTAMP), columns.index(_VALUE)
    timestamps: list[float] = []
    values: list[float] = []
    malformed = 0
    for row in rows:
        t = _finite(row[t_col], parse_timestamp) if t_col < len(row) else math.nan
        v = _finite(row[v_col], float) if v_col < len(row) else math.nan
        if len(row) != width or math.isnan(t) or math.isnan(v):
            malformed += 1
            t = v = math.nan
        timestamps.append(t)
        values.append(v)

    scores = score_series(timestamps, values, detector, **params)

    if SCORE_COLUMN in columns:
        out_header, s_col = list(header or []), columns.index(SCORE_COLUMN)
    else:
        out_header, s_col = [*(header or []), SCORE_COLUMN], width
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
    summary = {"input": str(input), "detector": detector, "rows": len(rows), "malformed": malformed}
    _log.info("score_csv_done %s", summary, extra={"event": "score_csv_done", **summary})
    return len(rows)
