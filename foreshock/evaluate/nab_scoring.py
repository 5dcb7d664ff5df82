"""The Numenta Anomaly Benchmark (NAB) scoring rules: labelled series, costs, score.

A detector emits a score per row; a threshold turns scores into detections, and each
file is scored against its labelled anomaly windows (Lavin & Ahmad, 2015; semantics of
NAB's reference ``sweeper``):

- the first ``min(floor(15% of the rows), 750)`` rows are a probation period: nothing in
  it is scored, and a window lying wholly inside it does not exist for the scorer;
- inside a window only the earliest detection counts, worth
  ``A_TP * σ(p) / σ(-1)`` with ``σ(y) = 2 / (1 + e^{5y}) - 1`` and
  ``p = -(end - i + 1) / width`` (so the first row of the window earns exactly ``A_TP``);
- a detection outside every window adds ``A_FP * σ(d)`` (a cost, σ < 0 there) where ``d``
  is its distance past the end of the preceding window relative to that window's width
  minus one (``σ = -1`` from ``d >= 3`` on, and before the first window);
- a window without detection costs ``A_FN``.

The threshold is chosen per profile by sweeping every distinct score over the whole
corpus, and the corpus score ``S`` at that threshold is normalised to
``100 * (S - S_null) / (S_perfect - S_null)``: the null detector makes no detection, the
perfect one detects the earliest scorable row of every window and nothing else.

Examples
--------
>>> f = NabFile("demo/a.csv", [60.0 * i for i in range(100)], [0.0] * 100, [(50, 59)])
>>> f.probation
15
>>> score_detections(f, [i == 50 for i in range(100)]).score
1.0
>>> late = score_detections(f, [i == 59 for i in range(100)]).score
>>> round(late, 4)
0.2482
>>> result = evaluate_scores([f], [[1.0 if i == 50 else 0.0 for i in range(100)]])
>>> result.profiles["standard"].score
100.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from rich.table import Table

from foreshock.schemas.errors import SchemaError

__all__ = [
    "PROFILES",
    "CostProfile",
    "FileScore",
    "NabFile",
    "NabResult",
    "ProfileResult",
    "evaluate_scores",
    "probation_length",
    "scaled_sigmoid",
    "score_detections",
    "sweep_thresholds",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750  # NAB: 15% of 5000 rows


@dataclass(frozen=True)
class CostProfile:
    """Weights of an application profile: reward of a true positive, costs of errors."""

    tp: float
    fp: float
    fn: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP": CostProfile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN": CostProfile(tp=1.0, fp=0.11, fn=2.0),
}


def scaled_sigmoid(y: float) -> float:
    """NAB's ``σ(y) = 2 / (1 + e^{5y}) - 1``, and exactly -1 from ``y >= 3`` on.

    Examples
    --------
    >>> round(scaled_sigmoid(-1.0), 5), scaled_sigmoid(0.0), scaled_sigmoid(3.0)
    (0.98661, 0.0, -1.0)
    """
    return -1.0 if y >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def _scaled_sigmoid(y: FloatArray) -> FloatArray:
    out = 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0
    return np.asarray(np.where(y >= 3.0, -1.0, out), dtype=np.float64)


def probation_length(n_rows: int) -> int:
    """Rows at the start of a file that NAB does not score: min(15% of them, 750).

    Examples
    --------
    >>> probation_length(4032), probation_length(10_000)
    (604, 750)
    """
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_MAX_ROWS)


@dataclass(frozen=True)
class NabFile:
    """One labelled series of the corpus.

    Parameters
    ----------
    name
        Path relative to the corpus' ``data/`` folder, e.g.
        ``"realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv"``.
    timestamps, values
        One entry per row (epoch seconds; NaN for a malformed value).
    windows
        Anomaly windows as inclusive ``(first_row, last_row)`` index pairs, in order and
        not overlapping.

    Raises
    ------
    SchemaError
        If the lengths differ or a window is empty, out of range or overlaps another.
    """

    name: str
    timestamps: Sequence[float]
    values: Sequence[float]
    windows: Sequence[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if len(self.values) != n:
            raise SchemaError(f"{self.name}: {n} timestamps but {len(self.values)} values")
        after = 0
        for start, end in self.windows:
            if not after <= start <= end < n:
                raise SchemaError(
                    f"{self.name}: window ({start}, {end}) is empty, out of the file's "
                    f"{n} rows or overlaps the previous window"
                )
            after = end + 1

    @property
    def probation(self) -> int:
        """Number of leading rows in the probation period."""
        return probation_length(len(self.timestamps))


class _Rows(NamedTuple):
    """Per-row scoring facts of one file, the same for every profile."""

    window: IntArray  # index of the row's window in the file, -1 outside any window
    unit: FloatArray  # in a window: σ(p)/σ(-1) (× A_TP); outside: σ(d) (× A_FP, ≤ 0)
    scorable: BoolArray  # past the probation period


def _rows(file: NabFile) -> _Rows:
    n = len(file.timestamps)
    window = np.full(n, -1, dtype=np.int64)
    unit = np.full(n, -1.0)  # before the first window: full FP cost
    max_tp = scaled_sigmoid(-1.0)
    for k, (start, end) in enumerate(file.windows):
        width = end - start + 1
        inside = np.arange(start, end + 1, dtype=np.float64)
        window[start : end + 1] = k
        unit[start : end + 1] = _scaled_sigmoid(-(end - inside + 1.0) / width) / max_tp
        stop = file.windows[k + 1][0] if k + 1 < len(file.windows) else n
        past = np.arange(end + 1, stop, dtype=np.float64)
        unit[end + 1 : stop] = _scaled_sigmoid((past - end) / max(width - 1, 1))
    scorable = np.arange(n) >= file.probation
    return _Rows(window, unit, scorable)


@dataclass(frozen=True)
class FileScore:
    """NAB score of one file's detections, with windows hit (tp) and missed (fn) and
    detections outside every window (fp); probation rows are not counted."""

    score: float
    tp: int
    fp: int
    fn: int


def score_detections(
    file: NabFile,
    detections: Sequence[bool] | BoolArray,
    profile: str | CostProfile = "standard",
) -> FileScore:
    """NAB score of one file's detections (one bool per row) under ``profile``.

    Examples
    --------
    >>> f = NabFile("x.csv", list(range(200)), [0.0] * 200, [(100, 119)])
    >>> none = score_detections(f, [False] * 200)
    >>> none.score, none.fn
    (-1.0, 1)
    >>> near = score_detections(f, [i == 121 for i in range(200)], "reward_low_FP")
    >>> far = score_detections(f, [i == 190 for i in range(200)], "reward_low_FP")
    >>> bool(far.score < near.score < -1.0)
    True
    """
    cost = PROFILES[profile] if isinstance(profile, str) else profile
    rows = _rows(file)
    hits = np.asarray(detections, dtype=np.bool_)
    if hits.shape != rows.unit.shape:
        raise ValueError(f"{file.name}: {hits.size} detections for {rows.unit.size} rows")
    hits = hits & rows.scorable
    false_pos = hits & (rows.window < 0)
    score = cost.fp * float(rows.unit[false_pos].sum())
    tp = fn = 0
    for k in np.unique(rows.window[rows.scorable & (rows.window >= 0)]):
        in_window = np.flatnonzero(hits & (rows.window == k))
        if in_window.size:
            score += cost.tp * float(rows.unit[in_window[0]])
            tp += 1
        else:
            score -= cost.fn
            fn += 1
    return FileScore(score=score, tp=tp, fp=int(false_pos.sum()), fn=fn)


def _perfect(file: NabFile) -> BoolArray:
    """Detections of the perfect detector: the earliest scorable row of every window."""
    hits = np.zeros(len(file.timestamps), dtype=np.bool_)
    for start, end in file.windows:
        if end >= file.probation:
            hits[max(start, file.probation)] = True
    return hits


def sweep_thresholds(
    files: Sequence[NabFile],
    scores: Sequence[Sequence[float]],
    profile: str | CostProfile = "standard",
) -> list[tuple[float, float]]:
    """Corpus score at every candidate threshold, from no detection down to all rows.

    A row is a detection when its score is ``>= threshold``; the first candidate,
    ``inf``, detects nothing. Returns ``(threshold, corpus score)`` pairs by decreasing
    threshold.

    Examples
    --------
    >>> f = NabFile("x.csv", list(range(100)), [0.0] * 100, [(50, 59)])
    >>> s = [0.0] * 100
    >>> s[50], s[80] = 0.9, 0.5
    >>> [(t, round(v, 3)) for t, v in sweep_thresholds([f], [s])]
    [(inf, -1.0), (0.9, 1.0), (0.5, 0.89), (0.0, -7.028)]
    """
    cost = PROFILES[profile] if isinstance(profile, str) else profile
    all_scores: list[FloatArray] = []
    all_windows: list[IntArray] = []
    all_units: list[FloatArray] = []
    n_windows = 0
    for file, file_scores in zip(files, scores, strict=True):
        rows = _rows(file)
        s = np.asarray(file_scores, dtype=np.float64)
        if s.shape != rows.unit.shape:
            raise ValueError(f"{file.name}: {s.size} scores for {rows.unit.size} rows")
        in_window = rows.window[rows.scorable]
        ids = np.unique(in_window[in_window >= 0])
        keep = rows.scorable & ~np.isnan(s)  # a NaN score is never a detection
        local = rows.window[keep]
        # renumber this file's scorable windows to corpus-wide ids
        remap = np.full(len(file.windows) + 1, -1, dtype=np.int64)
        remap[ids] = np.arange(n_windows, n_windows + ids.size)
        n_windows += int(ids.size)
        all_scores.append(s[keep])
        all_windows.append(remap[local])
        all_units.append(rows.unit[keep])
    if not all_scores:
        return [(math.inf, 0.0)]
    s = np.concatenate(all_scores)
    order = np.argsort(-s, kind="stable")
    s, window, unit = s[order], np.concatenate(all_windows)[order], np.concatenate(all_units)[order]
    best = np.full(n_windows, -math.inf)
    total = -cost.fn * n_windows
    out = [(math.inf, total)]
    for i in range(s.size):
        k = int(window[i])
        if k < 0:
            total += cost.fp * float(unit[i])
        elif best[k] == -math.inf:  # first detection in the window: a miss becomes a hit
            total += cost.fn + cost.tp * float(unit[i])
            best[k] = unit[i]
        elif unit[i] > best[k]:  # an earlier detection in an already detected window
            total += cost.tp * float(unit[i] - best[k])
            best[k] = unit[i]
        if i + 1 == s.size or s[i + 1] != s[i]:
            out.append((float(s[i]), total))
    return out


@dataclass(frozen=True)
class ProfileResult:
    """NAB result under one profile.

    Attributes
    ----------
    score
        Normalised score: 100 for the perfect detector, 0 for the null detector.
    threshold
        Best threshold of the corpus sweep (``inf``: detecting nothing was best).
    raw, null, perfect
        Corpus scores ``S`` of the detector at ``threshold``, of the null detector and of
        the perfect detector.
    tp, fp, fn
        Windows detected, detections outside windows, windows missed (corpus totals).
    per_file
        Each file's score at ``threshold``.
    """

    score: float
    threshold: float
    raw: float
    null: float
    perfect: float
    tp: int
    fp: int
    fn: int
    per_file: dict[str, FileScore]


@dataclass(frozen=True)
class NabResult:
    """NAB results of one detector on a corpus, per profile name."""

    detector: str
    n_files: int
    n_windows: int
    profiles: dict[str, ProfileResult]

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON-ready but for an ``inf`` threshold)."""
        return asdict(self)

    def to_table(self) -> Table:
        """A rich table with one row per profile."""
        table = Table(
            title=f"NAB — {self.detector} ({self.n_files} files, {self.n_windows} windows)"
        )
        for name in ("profile", "score", "threshold", "TP", "FP", "FN", "S", "S_null"):
            table.add_column(name, justify="left" if name == "profile" else "right")
        for name, r in self.profiles.items():
            table.add_row(
                name,
                f"{r.score:.1f}",
                f"{r.threshold:.6f}",
                str(r.tp),
                str(r.fp),
                str(r.fn),
                f"{r.raw:.2f}",
                f"{r.null:.2f}",
            )
        return table


def evaluate_scores(
    files: Sequence[NabFile],
    scores: Sequence[Sequence[float]],
    detector: str = "scores",
    profiles: Mapping[str, CostProfile] | None = None,
) -> NabResult:
    """NAB results of given per-row scores (one sequence per file), for every profile.

    Examples
    --------
    >>> f = NabFile("x.csv", list(range(100)), [0.0] * 100, [(50, 59)])
    >>> evaluate_scores([f], [[0.0] * 100]).profiles["reward_low_FN"].score
    0.0
    """
    results: dict[str, ProfileResult] = {}
    for name, cost in (profiles or PROFILES).items():
        sweep = sweep_thresholds(files, scores, cost)
        threshold = max(sweep, key=lambda pair: pair[1])[0]  # first (highest) of the best
        per_file = {
            f.name: score_detections(f, np.asarray(s, dtype=np.float64) >= threshold, cost)
            for f, s in zip(files, scores, strict=True)
        }
        raw = sum(r.score for r in per_file.values())
        null = sum(
            score_detections(f, np.zeros(len(f.values), np.bool_), cost).score for f in files
        )
        perfect = sum(score_detections(f, _perfect(f), cost).score for f in files)
        span = perfect - null
        normalised = 100.0 * (raw - null) / span if span > 0 else 100.0
        results[name] = ProfileResult(
            score=normalised,
            threshold=threshold,
            raw=raw,
            null=null,
            perfect=perfect,
            tp=sum(r.tp for r in per_file.values()),
            fp=sum(r.fp for r in per_file.values()),
            fn=sum(r.fn for r in per_file.values()),
            per_file=per_file,
        )
    n_windows = sum(1 for f in files for _, end in f.windows if end >= f.probation)
    return NabResult(detector=detector, n_files=len(files), n_windows=n_windows, profiles=results)
