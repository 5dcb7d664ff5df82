"""Read a replay folder: ``metrics.csv`` → time-ordered :class:`MetricBatch` records.

The contract: ``metrics.csv`` in long form (``timestamp,resource,metric,value``; extra
label columns allowed; or gzipped, ``metrics.csv.gz``), ``topology.yaml`` (optional:
without it every resource is accepted as kind ``other`` and unconnected), ``truth.json``
(optional; checked against :class:`~foreshock.schemas.truth.Truth` before anything else is
read).

**One row per physical line.** Every line of ``metrics.csv`` (ending in ``\\n`` or
``\\r\\n``) is decoded as UTF-8 and parsed as CSV on its own, so a bad line cannot affect
another: a byte that is not UTF-8, a quote that does not close on its line, a line longer
than :data:`MAX_LINE` bytes is that line's problem only. A UTF-8 byte-order mark before
the header is accepted; quoted fields work as long as they end on their line.

Malformed rows never stop a replay: each goes to the dead-letter list with its line and
reason (not UTF-8, malformed CSV, non-numeric or non-finite value, bad timestamp, missing
field, empty line, a resource that is not in the topology, a duplicate sample), and every
other row is used: ``rows == samples + len(dead_letters)``. Rows may come in any order;
they are put back in time order (a replay file is read whole), and counted.

Memory: rows are kept as columns (float64 time, int32 series id, float64 value: 20 bytes a
row while reading, 12 after) with one table of series names; :class:`ReplayBatches` builds
each :class:`MetricBatch` when it is asked for.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "metrics.csv").write_text(
...     "timestamp,resource,metric,value\\n60,a,m,1\\n0,a,m,2\\n30,a,m,oops\\n")
>>> rep = read_replay(d)
>>> [b.timestamp for b in rep.batches], rep.reordered, [x.reason for x in rep.dead_letters]
([0.0, 60.0], 1, ["non-numeric value 'oops'"])
"""

from __future__ import annotations

import csv
import gzip
import math
import operator
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast, overload

import numpy as np
from pydantic import ValidationError

from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.errors import ReplayError, SchemaError
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Node, Topology
from foreshock.schemas.truth import read_truth
from foreshock.schemas.validation import describe
from foreshock.schemas.yaml_input import YamlInputError, load_yaml

__all__ = [
    "MAX_LINE",
    "REQUIRED",
    "Replay",
    "ReplayBatches",
    "load_replay_topology",
    "parse_timestamp",
    "read_replay",
    "read_topology",
]

REQUIRED = ("timestamp", "resource", "metric", "value")
#: Longest line of ``metrics.csv`` read, in bytes; a longer one is dead-lettered.
MAX_LINE = 65536

_BOM = b"\xef\xbb\xbf"
_SHOWN = 200  # bytes of an over-long line kept in its dead letter
_TCACHE = 4096  # distinct timestamp texts remembered (a scrape repeats one per series)


class ReplayBatches(Sequence[MetricBatch]):
    """The batches of a replay, one per distinct timestamp, built when asked for.

    A sequence: ``len``, iteration, indexing (``[0]``, ``[-1]``) and slices (a view,
    nothing copied). The rows are held as columns (series id int32 and value float64,
    sorted by time) plus one table of series names.

    Examples
    --------
    >>> b = ReplayBatches(np.array([0.0, 15.0]), np.array([0, 2, 3]),
    ...                   np.array([0, 1, 0], dtype=np.int32), np.array([1.0, 2.0, 3.0]),
    ...                   ["db", "db"], ["up", "qps"])
    >>> len(b), b.samples, b[-1].timestamp, b[0].metrics, [x.values for x in b[1:]]
    (2, 3, 15.0, ['up', 'qps'], [[3.0]])
    """

    __slots__ = ("_ids", "_metrics", "_resources", "_starts", "_times", "_values")

    def __init__(
        self,
        times: np.ndarray,
        starts: np.ndarray,
        series_ids: np.ndarray,
        values: np.ndarray,
        resources: Sequence[str],
        metrics: Sequence[str],
    ) -> None:
        if len(starts) != len(times) + 1:
            raise ValueError("starts needs one offset more than there are timestamps")
        self._times = np.asarray(times, dtype=np.float64)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ids = np.asarray(series_ids, dtype=np.int32)
        self._values = np.asarray(values, dtype=np.float64)
        self._resources = np.asarray(resources, dtype=object)
        self._metrics = np.asarray(metrics, dtype=object)

    @classmethod
    def empty(cls) -> ReplayBatches:
        """No batches.

        >>> len(ReplayBatches.empty()), ReplayBatches.empty().samples
        (0, 0)
        """
        none = np.zeros(0)
        return cls(none, np.zeros(1, dtype=np.int64), none, none, [], [])

    @property
    def samples(self) -> int:
        """Samples in all the batches."""
        return int(self._starts[-1] - self._starts[0])

    @property
    def timestamps(self) -> np.ndarray:
        """The batch timestamps, ascending (a read-only view)."""
        view = self._times.view()
        view.flags.writeable = False
        return view

    def history_before(self, t: float) -> int:
        """How many samples the typical series (the median) has before time ``t``.

        >>> b = ReplayBatches(np.array([0.0, 15.0, 30.0]), np.array([0, 2, 3, 5]),
        ...                   np.array([0, 1, 0, 0, 1], dtype=np.int32), np.ones(5),
        ...                   ["db", "db"], ["up", "qps"])
        >>> b.history_before(20.0), b.history_before(0.0)
        (1, 0)
        """
        k = int(np.searchsorted(self._times, t, side="left"))
        ids = self._ids[int(self._starts[0]) : int(self._starts[k])]
        counts = np.bincount(ids, minlength=len(self._metrics))
        seen = np.unique(self._ids[int(self._starts[0]) : int(self._starts[-1])])
        return int(np.median(counts[seen])) if seen.size else 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (not counting the series names)."""
        arrays = (self._times, self._starts, self._ids, self._values)
        return sum(int(a.nbytes) for a in arrays)

    def __len__(self) -> int:
        return len(self._times)

    @overload
    def __getitem__(self, index: int) -> MetricBatch: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[MetricBatch]: ...

    def __getitem__(self, index: int | slice) -> MetricBatch | Sequence[MetricBatch]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self._batch(k) for k in range(start, stop, step)]
            stop = max(start, stop)
            return self._view(start, stop)
        k = operator.index(index)
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError("batch index out of range")
        return self._batch(k)

    def __iter__(self) -> Iterator[MetricBatch]:
        for k in range(len(self)):
            yield self._batch(k)

    def __repr__(self) -> str:
        return f"ReplayBatches({len(self)} batches, {self.samples} samples)"

    def _view(self, start: int, stop: int) -> ReplayBatches:
        view = ReplayBatches.__new__(ReplayBatches)
        view._times = self._times[start:stop]
        view._starts = self._starts[start : stop + 1]
        view._ids, view._values = self._ids, self._values
        view._resources, view._metrics = self._resources, self._metrics
        return view

    def _batch(self, k: int) -> MetricBatch:
        a, b = int(self._starts[k]), int(self._starts[k + 1])
        ids = self._ids[a:b]
        return MetricBatch.model_construct(
            timestamp=float(self._times[k]),
            resources=self._resources[ids].tolist(),
            metrics=self._metrics[ids].tolist(),
            values=self._values[a:b].tolist(),
        )


@dataclass
class Replay:
    """A replay folder, read: the batches (lazy), topology, truth and what was dropped.

    ``rows`` counts the data lines of ``metrics.csv``; each is a sample of the batches
    or a dead letter. ``reordered`` counts rows that came after a later one.
    """

    batches: ReplayBatches
    topology: Topology
    truth: dict[str, Any] | None
    dead_letters: list[DeadLetter] = field(default_factory=list)
    rows: int = 0
    reordered: int = 0
    has_topology: bool = True

    @property
    def samples(self) -> int:
        return self.batches.samples


def parse_timestamp(text: str) -> float:
    """Epoch seconds from epoch seconds or ISO-8601 text (naive means UTC).

    >>> parse_timestamp("1700000000"), parse_timestamp("2023-11-14 22:13:20")
    (1700000000.0, 1700000000.0)
    """
    try:
        v = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise SchemaError(f"bad timestamp {text!r}") from exc
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if not math.isfinite(v):
        raise SchemaError(f"bad timestamp {text!r}")
    return v


def read_topology(path: Path) -> Topology:
    """A topology YAML file, or a replay folder holding ``topology.yaml``.

    Read with :func:`~foreshock.schemas.yaml_input.load_yaml` (no anchors or aliases, a size
    cap, no key twice).

    Raises
    ------
    SchemaError
        No such file, or not a topology: the message says what is wrong with it.
    """
    file = path / "topology.yaml" if path.is_dir() else path
    if not file.is_file():
        raise SchemaError(
            f"{file}: no such topology file (pass a topology.yaml or a replay folder)"
        )
    try:
        data = load_yaml(file)
    except YamlInputError as exc:
        raise SchemaError(f"{file}: invalid topology: {exc.reason}") from None
    try:
        return Topology.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise SchemaError(f"{file}: invalid topology: {describe(exc)}") from None


def load_replay_topology(folder: Path) -> tuple[Topology, bool]:
    path = folder / "topology.yaml"
    if not path.exists():
        return Topology(), False
    return read_topology(path), True


def metrics_file(folder: Path) -> Path | None:
    """``folder``'s ``metrics.csv``, or its gzipped ``metrics.csv.gz`` (read as is)."""
    for name in ("metrics.csv", "metrics.csv.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path))
    return path.open("rb")


def read_replay(folder: Path) -> Replay:
    """Read and validate a replay folder (see the module docstring).

    Raises
    ------
    ReplayError
        No ``metrics.csv``, or one that cannot be read at all (empty, unreadable, a header
        without the required columns).
    SchemaError
        ``topology.yaml`` or ``truth.json`` is there and invalid.
    """
    metrics = metrics_file(folder)
    if metrics is None:
        raise ReplayError(f"{folder}: no metrics.csv (is this a replay folder?)")
    topology, has_topo = load_replay_topology(folder)
    truth_file = folder / "truth.json"
    truth = read_truth(truth_file) if truth_file.is_file() else None
    known = {n.id for n in topology.nodes} if has_topo else None
    try:
        with _open(metrics) as fh:
            rows = _Rows(metrics, known)
            rows.read(fh)
        if rows.unordered:
            _drop_late_duplicates(rows, metrics)
    except ReplayError:
        raise
    except OSError as exc:
        raise ReplayError(f"{metrics}: cannot read: {exc.strerror or exc}") from None
    batches, reordered = rows.batches()
    if not has_topo:
        topology = Topology(nodes=[Node(id=r) for r in sorted(set(rows.resources))])
    dead = [
        DeadLetter.model_construct(source=f"{metrics.name}:{line}", reason=reason, payload=text)
        for line, reason, text in sorted(rows.dead, key=lambda d: d[0])
    ]
    return Replay(batches, topology, truth, dead, rows.count, reordered, has_topo)


class _Rows:
    """The rows of one ``metrics.csv`` as columns, and its dead letters."""

    def __init__(self, path: Path, known: set[str] | None) -> None:
        self.path = path
        self.known = known
        self.times = array("d")
        self.ids = array("i")
        self.values = array("d")
        self.series: dict[tuple[str, str], int] = {}
        self.resources: list[str] = []
        self.metrics: list[str] = []
        self.dead: list[tuple[int, str, str]] = []  # (line, reason, payload)
        self.count = 0  # data lines
        # a series went back in time: a duplicate may hide among its earlier rows
        self.unordered = False

    def read(self, fh: IO[bytes]) -> None:
        lines = _lines(fh)
        first = next(lines, None)
        if first is None:
            raise ReplayError(f"{self.path}: empty file")
        raw, too_long = first
        if too_long:
            raise ReplayError(f"{self.path}: header longer than {MAX_LINE} bytes")
        try:
            text = raw.removeprefix(_BOM).decode("utf-8")
        except UnicodeDecodeError:
            raise ReplayError(f"{self.path}: the header is not UTF-8 text") from None
        try:
            header = _split(text)
        except csv.Error as exc:
            raise ReplayError(f"{self.path}: unreadable header ({_csv_reason(exc)})") from None
        cols: dict[str, int] = {}
        for i, name in enumerate(header):
            cols.setdefault(name.strip(), i)
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise ReplayError(
                f"{self.path}: header lacks {', '.join(missing)} (has {', '.join(header)})"
            )
        self._read_rows(lines, *(cols[c] for c in REQUIRED))

    def _read_rows(
        self, lines: Iterator[tuple[bytes, bool]], it: int, ir: int, im: int, iv: int
    ) -> None:
        width = max(it, ir, im, iv) + 1
        known, series, dead = self.known, self.series, self.dead
        add_t, add_id, add_v = self.times.append, self.ids.append, self.values.append
        last: list[float] = []  # per series: the latest time accepted
        tcache: dict[str, float] = {}
        lineno = 1
        for raw, too_long in lines:
            lineno += 1
            if too_long:
                shown = raw.decode("utf-8", "backslashreplace")
                dead.append((lineno, f"line longer than {MAX_LINE} bytes", shown + "…"))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                dead.append((lineno, reason, raw.decode("utf-8", "backslashreplace")))
                continue
            if '"' in text or "\r" in text:
                try:
                    row = _split(text)
                except csv.Error as exc:
                    dead.append((lineno, _csv_reason(exc), text))
                    continue
            else:
                row = text.split(",")
            if len(row) < width:
                dead.append((lineno, "missing field" if text else "empty line", text))
                continue
            resource, metric = row[ir].strip(), row[im].strip()
            if not resource or not metric:
                dead.append((lineno, "empty resource or metric", text))
                continue
            if known is not None and resource not in known:
                reason = f"unknown resource {resource!r} (not in topology.yaml)"
                dead.append((lineno, reason, text))
                continue
            stamp = row[it]
            t = tcache.get(stamp)
            if t is None:
                try:
                    t = parse_timestamp(stamp)
                except SchemaError as exc:
                    dead.append((lineno, str(exc), text))
                    continue
                if len(tcache) >= _TCACHE:
                    tcache.clear()
                tcache[stamp] = t
            try:
                v = float(row[iv])
            except ValueError:
                dead.append((lineno, f"non-numeric value {row[iv]!r}", text))
                continue
            if not math.isfinite(v):
                dead.append((lineno, f"non-finite value {row[iv]!r}", text))
                continue
            key = (resource, metric)
            sid = series.get(key)
            if sid is None:
                sid = series[key] = len(last)
                self.resources.append(resource)
                self.metrics.append(metric)
                last.append(t)
            elif t > last[sid]:
                last[sid] = t
            elif t == last[sid]:
                dead.append((lineno, _DUPLICATE, text))
                continue
            else:
                self.unordered = True
            add_t(t)
            add_id(sid)
            add_v(v)
        self.count = lineno - 1

    def batches(self) -> tuple[ReplayBatches, int]:
        """The batches in time order, and how many rows came before a row already read."""
        if len(self.times) == 0:
            return ReplayBatches.empty(), 0
        t = np.frombuffer(self.times, dtype=np.float64)
        reordered = 0
        if not bool(np.all(t[1:] >= t[:-1])):  # in order (the usual case): no running max
            reordered = int(np.count_nonzero(t[1:] < np.maximum.accumulate(t)[:-1]))
        if reordered:
            # rows of one timestamp keep their file order; one column at a time, each
            # freed once sorted, so the peak is one column more than the rows
            order = np.argsort(t, kind="stable")
            t = t[order]
            self.times = array("d")
            ids = np.frombuffer(self.ids, dtype=np.int32)[order]
            self.ids = array("i")
            v = np.frombuffer(self.values, dtype=np.float64)[order]
            self.values = array("d")
            del order
        else:  # views of the reader's arrays: nothing copied
            ids = np.frombuffer(self.ids, dtype=np.int32)
            v = np.frombuffer(self.values, dtype=np.float64)
        starts = np.concatenate(([0], np.flatnonzero(t[1:] != t[:-1]) + 1, [len(t)]))
        times = t[starts[:-1]]
        return ReplayBatches(times, starts, ids, v, self.resources, self.metrics), reordered


_DUPLICATE = "duplicate sample (same series and timestamp)"


def _drop_late_duplicates(rows: _Rows, path: Path) -> None:
    """Dead-letter every row whose (series, time) an earlier row of the file already has.

    Rows in order are checked as they are read; this finds the rest, once a series went
    back in time. Their lines are found from the row indices and read again for the
    payload.
    """
    t = np.frombuffer(rows.times, dtype=np.float64)
    ids = np.frombuffer(rows.ids, dtype=np.int32)
    order = np.lexsort((ids, t))  # stable: equal rows stay in file order
    ts, ss = t[order], ids[order]
    later = order[1:][(ts[1:] == ts[:-1]) & (ss[1:] == ss[:-1])]
    del ts, ss, order
    if len(later) == 0:
        return
    later.sort()
    # the k-th row used is on data line k + (dead lines before it)
    dead_lines = np.array(sorted(d[0] for d in rows.dead), dtype=np.int64) - 2
    used_before = dead_lines - np.arange(len(dead_lines))
    lines = later + np.searchsorted(used_before, later, side="right") + 2
    wanted = set(lines.tolist())
    with _open(path) as fh:
        for lineno, (raw, _) in enumerate(_lines(fh), start=1):
            if lineno in wanted:
                text = raw.decode("utf-8", "backslashreplace")
                rows.dead.append((lineno, _DUPLICATE, text))
    keep = np.ones(len(t), dtype=bool)
    keep[later] = False
    rows.times = array("d", t[keep].tobytes())
    rows.ids = array("i", ids[keep].tobytes())
    rows.values = array("d", np.frombuffer(rows.values, dtype=np.float64)[keep].tobytes())


def _lines(fh: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Physical lines without their ``\\n`` / ``\\r\\n``, and whether each is too long.

    A line over :data:`MAX_LINE` bytes is skipped to its end (never held whole in memory)
    and given as its first bytes.

    >>> import io
    >>> list(_lines(io.BytesIO(b"a,b\\r\\n\\nc")))
    [(b'a,b', False), (b'', False), (b'c', False)]
    """
    limit = MAX_LINE + 2  # room for "\r\n"
    readline = fh.readline
    while True:
        raw = readline(limit)
        if not raw:
            return
        if len(raw) == limit and raw[-1:] != b"\n":
            while True:  # the rest of an over-long line
                more = readline(limit)
                if not more or more[-1:] == b"\n":
                    break
            yield raw[:_SHOWN], True
            continue
        if raw[-1:] == b"\n":
            raw = raw[:-1]
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if len(raw) > MAX_LINE:
            yield raw[:_SHOWN], True
        else:
            yield raw, False


def _split(text: str) -> list[str]:
    """The fields of one CSV line (quotes must close on the line).

    >>> _split('1,"a,b",c'), _split("1,a")
    (['1', 'a,b', 'c'], ['1', 'a'])
    """
    if '"' not in text and "\r" not in text:
        return text.split(",")
    return next(csv.reader((text,), strict=True), [])


def _csv_reason(exc: csv.Error) -> str:
    """A dead-letter reason for a line the CSV parser refused.

    >>> try:
    ...     _split('15,"db,m,1')
    ... except csv.Error as exc:
    ...     print(_csv_reason(exc))
    malformed CSV: a quote does not close on its line
    """
    msg = str(exc)
    if msg == "unexpected end of data":
        return "malformed CSV: a quote does not close on its line"
    if msg.startswith("new-line character"):
        return "malformed CSV: a carriage return inside an unquoted field (lines end with \\n)"
    return f"malformed CSV: {msg}"
