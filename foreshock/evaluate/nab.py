"""The NAB corpus on disk, and a registered detector run over it.

- :func:`load_corpus` reads a NAB checkout's ``data/`` series and
  ``labels/combined_windows.json`` into :class:`~foreshock.evaluate.nab_scoring.NabFile` s;
- :func:`evaluate` replays every file through a registered detector and scores the result
  with NAB's rules (:mod:`foreshock.evaluate.nab_scoring`).
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from foreshock.evaluate.nab_scoring import NabFile, NabResult, evaluate_scores
from foreshock.schemas.errors import ConfigError, SchemaError

__all__ = ["evaluate", "load_corpus"]

LABELS_FILE = Path("labels") / "combined_windows.json"


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
