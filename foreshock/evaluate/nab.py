"""The Numenta Anomaly Benchmark (NAB) score of a detector over a corpus of labelled series.

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

import bisect
import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from rich.table import Table

from foreshock.schemas.errors import ConfigError, SchemaError

__all__ = [
    "PROFILES",
    "CostProfile",
    "FileScore",
    "NabFile",
    "NabResult",
    "ProfileResult",
    "evaluate",
    "evaluate_scores",
    "load_corpus",
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
LABELS_FILE = Path("labels") / "combined_windows.json"


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


def _read_series(path: Path) -> tuple[list[float], list[float]]:
    from foreshock.pipelines.runtimes.score import parse_timestamp

    timestamps: list[float] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"timestamp", "value"} <= set(reader.fieldnames or []):
            raise SchemaError(f"{path}: the header must name 'timestamp' and 'value'")
        for row in reader:
            timestamps.append(parse_timestamp(row["timestamp"]))
            try:
                values.append(float(row["value"]))
            except (TypeError, ValueError):
                values.append(math.nan)
    return timestamps, values


def load_corpus(data_dir: Path) -> list[NabFile]:
    """The labelled files of a NAB corpus, sorted by name.

    ``data_dir`` holds ``data/<category>/<file>.csv`` (``timestamp,value``) and
    ``labels/combined_windows.json`` (``{"<category>/<file>.csv": [[start, end], ...]}``
    with NAB's timestamps). Every labelled file is loaded; a window becomes the rows
    whose timestamps lie within ``[start, end]``.

    Raises
    ------
    SchemaError
        If the labels file is missing or names a file that does not exist.

    Examples
    --------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "data" / "cat").mkdir(parents=True)
    >>> (d / "labels").mkdir()
    >>> rows = "".join(f"2020-01-01 00:{i:02d}:00,{i}\\n" for i in range(10))
    >>> _ = (d / "data" / "cat" / "f.csv").write_text("timestamp,value\\n" + rows)
    >>> w = [["2020-01-01 00:05:00.000000", "2020-01-01 00:07:00.000000"]]
    >>> _ = (d / "labels" / "combined_windows.json").write_text(json.dumps({"cat/f.csv": w}))
    >>> [(f.name, f.windows) for f in load_corpus(d)]
    [('cat/f.csv', [(5, 7)])]
    """
    from foreshock.pipelines.runtimes.score import parse_timestamp

    labels_path = data_dir / LABELS_FILE
    if not labels_path.is_file():
        raise SchemaError(f"{data_dir} is not a NAB corpus: {labels_path} is missing")
    labels: dict[str, list[list[str]]] = json.loads(labels_path.read_text(encoding="utf-8"))
    files: list[NabFile] = []
    for name in sorted(labels):
        path = data_dir / "data" / name
        if not path.is_file():
            raise SchemaError(f"{labels_path} labels {name!r} but {path} does not exist")
        timestamps, values = _read_series(path)
        windows: list[tuple[int, int]] = []
        for start, end in labels[name]:
            first = bisect.bisect_left(timestamps, parse_timestamp(start))
            last = bisect.bisect_right(timestamps, parse_timestamp(end)) - 1
            if first <= last:
                windows.append((first, last))
        files.append(NabFile(name, timestamps, values, windows))
    return files


def evaluate(
    data_dir: Path,
    detector: str = "fleet",
    progress: Callable[[int, int], None] | None = None,
    categories: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> NabResult:
    """NAB results of registered detector ``detector`` on the corpus in ``data_dir``.

    Each file is replayed on its own by :func:`~foreshock.pipelines.runtimes.score.score_series`
    (a new
    detector per file, scores calibrated online to [0, 1]); the threshold is then swept
    over the whole corpus for each profile.

    Parameters
    ----------
    data_dir
        Corpus folder (see :func:`load_corpus`).
    detector
        Name of a detector in :mod:`foreshock.detectors.registry`.
    progress
        Called with ``(files done, files in all)`` after each file is scored.
    categories
        Only the files of these categories (the first part of a file's name).
    params
        Hyperparameters of the detector.

    Raises
    ------
    ConfigError
        If ``categories`` selects no file.
    """
    from foreshock.pipelines.runtimes.score import score_series

    files = load_corpus(data_dir)
    if categories is not None:
        wanted = set(categories)
        known = sorted({f.name.split("/")[0] for f in files})
        files = [f for f in files if f.name.split("/")[0] in wanted]
        if not files:
            raise ConfigError(f"no file in categories {sorted(wanted)}; known: {known}")
    scores: list[list[float]] = []
    for i, f in enumerate(files):
        scores.append(score_series(f.timestamps, f.values, detector, **(params or {})))
        if progress is not None:
            progress(i + 1, len(files))
    return evaluate_scores(files, scores, detector=detector)
