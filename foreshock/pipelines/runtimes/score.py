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

How the replay is computed (the scores are the same, bit for bit, as feeding the rows
one at a time through the detector's ``update`` and the calibrator's ``transform`` then
``learn``; the tests hold that per-row reference):

- The series is scored in chunks of :data:`CHUNK_ROWS` rows (:class:`SeriesScorer`);
  :func:`score_csv` reads, scores and writes a chunk at a time, so its memory does not
  grow with the file.
- The fleet detector replays a chunk with
  :meth:`~foreshock.detectors.fleet.RobustBaseline.replay`, its update in plain Python
  floats; other detectors (River models) get one ``update`` per row.
- The calibrator calibrates a chunk with
  :meth:`~foreshock.detectors.calibration.TailCalibrator.prequential`, the histograms
  of a block of rows built at once.

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
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np

from foreshock.detectors.base import BatchDetector, FloatArray
from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.fleet import RobustBaseline
from foreshock.schemas.errors import SchemaError

__all__ = [
    "CALIBRATION_MIN_COUNT",
    "CHUNK_ROWS",
    "SCORE_COLUMN",
    "SeriesScorer",
    "parse_timestamp",
    "score_csv",
    "score_series",
    "scoring_params",
]

SCORE_COLUMN = "anomaly_score"
CALIBRATION_MIN_COUNT = 300  # raw scores learned before the calibrator's histogram is used
CHUNK_ROWS = 65_536  # rows read, scored and written at a time
_TIMESTAMP = "timestamp"
_VALUE = "value"

_log = logging.getLogger(__name__)


def scoring_params(detector: str, params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters of ``detector`` when it scores one series: the fleet tier scores breakouts.

    Scoring one series asks when it started doing something it had never done (what NAB
    and a person reading a scored CSV look for), so the fleet detector runs with
    ``novelty=True`` unless ``params`` says otherwise
    (:class:`~foreshock.detectors.fleet.RobustBaseline`); the pipeline's detect stage runs
    it without, as its decider needs to know a fault is still there.

    >>> scoring_params("fleet", {}), scoring_params("fleet", {"novelty": False})
    ({'novelty': True}, {'novelty': False})
    >>> scoring_params("deep", {"growth": 2})
    {'growth': 2}
    """
    if detector == "fleet":
        return {"novelty": True, **params}
    return dict(params)


class SeriesScorer:
    """Prequential, calibrated scorer of one series, fed in consecutive chunks.

    :meth:`score` on the chunks of a series, in order, gives the scores
    :func:`score_series` gives on the whole series.

    Parameters
    ----------
    detector
        Name of a detector in :mod:`foreshock.detectors.registry`.
    **params
        Hyperparameters passed to the detector's constructor.

    Raises
    ------
    foreshock.schemas.errors.UnknownNameError
        If ``detector`` is not registered.

    Examples
    --------
    >>> ts = np.arange(400) * 60.0
    >>> vs = 10.0 + (np.arange(400) % 5) * 0.1
    >>> vs[300] = 50.0
    >>> scorer = SeriesScorer()
    >>> parts = [scorer.score(ts[:250], vs[:250]), scorer.score(ts[250:], vs[250:])]
    >>> np.concatenate(parts).tolist() == score_series(ts.tolist(), vs.tolist())
    True
    """

    def __init__(self, detector: str = "fleet", **params: Any) -> None:
        from foreshock.detectors.registry import create

        self.model: BatchDetector = create(detector, **scoring_params(detector, params))
        self.calibrator = TailCalibrator(min_count=CALIBRATION_MIN_COUNT)

    def score(self, timestamps: FloatArray, values: FloatArray) -> FloatArray:
        """Scores in [0, 1] of the next rows of the series (epoch seconds, values).

        A row whose timestamp or value is not a finite number scores 0.0 and is learned
        by neither the detector nor the calibrator.
        """
        timestamps = np.asarray(timestamps, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if len(timestamps) != len(values):
            raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
        ok = np.isfinite(timestamps) & np.isfinite(values)
        raw = np.zeros(len(values))
        if type(self.model) is RobustBaseline:  # exactly: a subclass may update otherwise
            raw[ok] = self.model.replay(timestamps[ok], values[ok])
        else:
            ids = np.zeros(1, dtype=np.int64)  # one series: id 0 of the batch contract
            for i in np.flatnonzero(ok).tolist():
                t, v = float(timestamps[i]), float(values[i])
                raw[i] = float(self.model.update(ids, np.array([v]), t)[0])  # scored, learned
        good = ok & np.isfinite(raw)
        # math.log1p, not np.log1p: numpy's vectorised log1p may round differently
        logged = np.fromiter(map(math.log1p, np.abs(raw[good]).tolist()), np.float64)
        calibrated = self.calibrator.prequential(logged)
        scores = np.zeros(len(values))
        # a raw score below the calibrator's resolution is no evidence (still learned)
        scores[good] = np.where(logged >= self.calibrator.low, calibrated, 0.0)
        return scores


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
    if len(timestamps) != len(values):
        raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
    scorer = SeriesScorer(detector, **params)
    scores: list[float] = []
    ts, vs = iter(timestamps), iter(values)
    for _ in range(0, len(values), CHUNK_ROWS):
        t = np.fromiter(map(float, islice(ts, CHUNK_ROWS)), np.float64)
        v = np.fromiter(map(float, islice(vs, CHUNK_ROWS)), np.float64)
        scores.extend(scorer.score(t, v).tolist())
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


class _Timestamps:
    """Epoch seconds of a column of timestamp texts, as :func:`parse_timestamp` reads them.

    NaN where :func:`parse_timestamp` fails or gives no finite number. Texts in NAB's
    layout, ``YYYY-MM-DD HH:MM:SS`` (or with a ``T``) in ASCII digits, are read at once
    with numpy (each distinct date once, through :class:`datetime.date`): the same
    whole number of seconds :func:`parse_timestamp` gives. Any other text goes through
    :func:`parse_timestamp`.

    Examples
    --------
    >>> parse = _Timestamps()
    >>> parse(["2014-02-14 14:30:00", "2014-02-14T14:30:59", "2014-02-30 00:00:00"]).tolist()
    [1392388200.0, 1392388259.0, nan]
    >>> parse(["2014-02-14 14:30:59", "2014-02-14 14:30:60", "1392388200.5"]).tolist()
    [1392388259.0, nan, 1392388200.5]
    """

    _DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)  # positions of digits

    def __init__(self) -> None:
        self._days: dict[int, float] = {}  # yyyymmdd -> days since 1970-01-01, NaN if none

    def __call__(self, texts: list[str]) -> FloatArray:
        out = np.full(len(texts), math.nan)
        sized = np.fromiter(map(len, texts), np.int64, len(texts)) == 19
        where = np.flatnonzero(sized)
        if where.size:
            picked = texts if where.size == len(texts) else [texts[i] for i in where.tolist()]
            codes = np.array(picked, dtype="U19").view(np.uint32).reshape(-1, 19)
            d = codes[:, list(self._DIGITS)].astype(np.int64) - ord("0")
            ok = ((d >= 0) & (d <= 9)).all(axis=1)
            ok &= (codes[:, 4] == ord("-")) & (codes[:, 7] == ord("-"))
            ok &= (codes[:, 10] == ord(" ")) | (codes[:, 10] == ord("T"))
            ok &= (codes[:, 13] == ord(":")) & (codes[:, 16] == ord(":"))
            pairs = d[:, 0::2] * 10 + d[:, 1::2]  # yy yy mm dd HH MM SS
            hour, minute, second = pairs[:, 4], pairs[:, 5], pairs[:, 6]
            ok &= (hour < 24) & (minute < 60) & (second < 60)
            ymd = (pairs[:, 0] * 100 + pairs[:, 1]) * 10_000 + pairs[:, 2] * 100 + pairs[:, 3]
            keys, inverse = np.unique(np.where(ok, ymd, 0), return_inverse=True)
            days = np.array([self._day(int(k)) for k in keys.tolist()])[inverse.ravel()]
            seconds = days * 86_400.0 + (hour * 3600 + minute * 60 + second)
            out[where] = np.where(ok, seconds, math.nan)
            sized[where] = ok & np.isfinite(days)
        for i in np.flatnonzero(~sized).tolist():
            out[i] = _finite(texts[i], parse_timestamp)
        return out

    def _day(self, ymd: int) -> float:
        """Days from 1970-01-01 to date ``yyyymmdd`` (NaN if there is no such date)."""
        day = self._days.get(ymd)
        if day is None:
            try:
                day = float(date(ymd // 10_000, ymd // 100 % 100, ymd % 100).toordinal())
            except ValueError:
                day = math.nan
            day -= _EPOCH_ORDINAL
            if len(self._days) < 1_000_000:
                self._days[ymd] = day
        return day


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    """A text file that becomes ``path`` once written whole (none if writing fails).

    Written beside ``path`` and renamed over it, so that ``path`` may be the file being
    read (a CSV scored in place) and a failure half-way leaves no partial file. A path
    that is not a regular file (``/dev/stdout``, a pipe) is written directly.
    """
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        with target.open("w", newline="", encoding="utf-8") as f:
            yield f
        return
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with part.open("w", newline="", encoding="utf-8") as f:
            yield f
        if target.exists():
            shutil.copymode(target, part)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


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

    The file is streamed, :data:`CHUNK_ROWS` rows at a time: memory does not grow with
    its length. ``output`` appears when it is complete (it may be ``input`` itself).

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
        columns = [name.strip() for name in header or []]
        missing = [name for name in (_TIMESTAMP, _VALUE) if name not in columns]
        if missing:
            raise SchemaError(
                f"{input}: the CSV header must name the columns 'timestamp' and 'value'; "
                f"missing {', '.join(map(repr, missing))} (header: {columns})"
            )
        scorer = SeriesScorer(detector, **params)
        width = len(columns)
        if SCORE_COLUMN in columns:
            out_header, s_col = list(header or []), columns.index(SCORE_COLUMN)
        else:
            out_header, s_col = [*(header or []), SCORE_COLUMN], width
        rows = malformed = 0
        with _replacing(output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(out_header)
            parse_time = _Timestamps()
            for chunk in _chunks(reader):
                scores, bad = _score_chunk(scorer, chunk, columns, parse_time)
                _write_rows(out, writer, _scored(chunk, scores, width, s_col))
                rows += len(chunk)
                malformed += bad
    summary = {"input": str(input), "detector": detector, "rows": rows, "malformed": malformed}
    _log.info("score_csv_done %s", summary, extra={"event": "score_csv_done", **summary})
    return rows


def _chunks(reader: Iterator[list[str]]) -> Iterator[list[list[str]]]:
    """The non-empty rows of ``reader``, :data:`CHUNK_ROWS` (or fewer) at a time."""
    while block := list(islice(reader, CHUNK_ROWS)):
        if rows := [row for row in block if row]:
            yield rows


def _score_chunk(
    scorer: SeriesScorer,
    rows: list[list[str]],
    columns: list[str],
    parse_time: Callable[[list[str]], FloatArray],
) -> tuple[list[float], int]:
    """Scores of the next ``rows`` of the CSV, and how many of them are malformed."""
    width = len(columns)
    t_col, v_col = columns.index(_TIMESTAMP), columns.index(_VALUE)
    times = parse_time([row[t_col] if t_col < len(row) else "" for row in rows])
    values = np.fromiter(
        (_finite(row[v_col], float) if v_col < len(row) else math.nan for row in rows),
        np.float64,
    )
    bad = np.isnan(times) | np.isnan(values)
    if any(len(row) != width for row in rows):
        bad |= np.fromiter((len(row) != width for row in rows), np.bool_)
    times[bad] = values[bad] = math.nan
    return scorer.score(times, values).tolist(), int(np.count_nonzero(bad))


def _scored(rows: list[list[str]], scores: list[float], width: int, s_col: int) -> list[list[str]]:
    """``rows`` cut or padded to ``width`` cells, with their score at cell ``s_col``.

    The rows are changed in place (they are not used again).
    """
    if any(len(row) != width for row in rows):
        rows = [row if len(row) == width else (row + [""] * width)[:width] for row in rows]
    if s_col == width:
        for row, text in zip(rows, map(repr, scores), strict=True):
            row.append(text)
    else:
        for row, text in zip(rows, map(repr, scores), strict=True):
            row[s_col] = text
    return rows


def _write_rows(out: IO[str], writer: Any, rows: list[list[str]]) -> None:
    """``writer.writerows(rows)``, joined directly when no cell needs quoting.

    ``writer`` is a default (excel) :func:`csv.writer` ending lines with ``"\\n"``: it
    quotes only cells with a comma, a double quote or a line break (and a row made of
    one empty cell, which a scored row never is).
    """
    text = "\n".join([",".join(row) for row in rows]) + "\n"
    plain = (
        '"' not in text
        and "\r" not in text
        and text.count("\n") == len(rows)
        and text.count(",") == sum(map(len, rows)) - len(rows)
    )
    if plain:
        out.write(text)
    else:
        writer.writerows(rows)
