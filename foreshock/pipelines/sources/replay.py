"""Read a replay folder: ``metrics.csv`` → time-ordered :class:`MetricBatch` records.

The contract: ``metrics.csv`` in long form (``timestamp,resource,metric,value``; extra
label columns allowed), ``topology.yaml`` (optional: without it every resource is
accepted as kind ``other`` and unconnected), ``truth.json`` (optional).

Malformed rows never stop a replay: each goes to the dead-letter list with its reason
(non-numeric or non-finite value, bad timestamp, missing field, a resource that is not
in the topology, a duplicate sample). Rows out of time order are put back in order (a
replay file is read whole), and counted.

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
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.errors import ReplayError, SchemaError
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Node, Topology

REQUIRED = ("timestamp", "resource", "metric", "value")


@dataclass
class Replay:
    batches: list[MetricBatch]
    topology: Topology
    truth: dict[str, Any] | None
    dead_letters: list[DeadLetter] = field(default_factory=list)
    rows: int = 0
    reordered: int = 0
    has_topology: bool = True

    @property
    def samples(self) -> int:
        return sum(len(b) for b in self.batches)


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
            from datetime import UTC

            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if not math.isfinite(v):
        raise SchemaError(f"bad timestamp {text!r}")
    return v


def read_topology(path: Path) -> Topology:
    """A topology YAML file, or a replay folder holding ``topology.yaml``.

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
        return Topology.model_validate(yaml.safe_load(file.read_text()) or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
        raise SchemaError(f"{file}: invalid topology: {exc}") from exc


def load_replay_topology(folder: Path) -> tuple[Topology, bool]:
    path = folder / "topology.yaml"
    if not path.exists():
        return Topology(), False
    return read_topology(path), True


def read_replay(folder: Path) -> Replay:
    """Read and validate a replay folder (see the module docstring)."""
    metrics = folder / "metrics.csv"
    if not metrics.is_file():
        raise ReplayError(f"{folder}: no metrics.csv (is this a replay folder?)")
    topology, has_topo = load_replay_topology(folder)
    known = {n.id for n in topology.nodes}
    truth = None
    if (folder / "truth.json").is_file():
        try:
            truth = orjson.loads((folder / "truth.json").read_bytes())
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"{folder / 'truth.json'}: invalid JSON: {exc}") from exc

    dead: list[DeadLetter] = []
    by_t: dict[float, dict[tuple[str, str], float]] = defaultdict(dict)
    rows = reordered = 0
    last_t = -math.inf
    with metrics.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ReplayError(f"{metrics}: empty file")
        cols = {name.strip(): i for i, name in enumerate(header)}
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise ReplayError(
                f"{metrics}: header lacks {', '.join(missing)} (has {', '.join(header)})"
            )
        it, ir, im, iv = (cols[c] for c in REQUIRED)
        width = max(it, ir, im, iv) + 1
        for lineno, row in enumerate(reader, start=2):
            rows += 1
            where = f"{metrics.name}:{lineno}"
            if len(row) < width:
                dead.append(DeadLetter(source=where, reason="missing field", payload=",".join(row)))
                continue
            resource, metric = row[ir].strip(), row[im].strip()
            reason = None
            if not resource or not metric:
                reason = "empty resource or metric"
            elif has_topo and resource not in known:
                reason = f"unknown resource {resource!r} (not in topology.yaml)"
            if reason is None:
                try:
                    t = parse_timestamp(row[it])
                except SchemaError as exc:
                    reason = str(exc)
            if reason is None:
                try:
                    v = float(row[iv])
                except ValueError:
                    reason = f"non-numeric value {row[iv]!r}"
                else:
                    if not math.isfinite(v):
                        reason = f"non-finite value {row[iv]!r}"
            if reason is not None:
                dead.append(DeadLetter(source=where, reason=reason, payload=",".join(row)))
                continue
            slot = by_t[t]
            if (resource, metric) in slot:
                dead.append(
                    DeadLetter(
                        source=where,
                        reason="duplicate sample (same series and timestamp)",
                        payload=",".join(row),
                    )
                )
                continue
            if t < last_t:
                reordered += 1
            last_t = max(last_t, t)
            slot[(resource, metric)] = v
    if not has_topo:
        seen = sorted({r for slot in by_t.values() for r, _ in slot})
        topology = Topology(nodes=[Node(id=r) for r in seen])
    batches = []
    for t in sorted(by_t):
        slot = by_t[t]
        batches.append(
            MetricBatch.model_construct(
                timestamp=t,
                resources=[k[0] for k in slot],
                metrics=[k[1] for k in slot],
                values=list(slot.values()),
            )
        )
    return Replay(batches, topology, truth, dead, rows, reordered, has_topo)
