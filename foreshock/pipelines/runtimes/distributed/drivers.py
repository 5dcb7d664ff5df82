"""Partition-local stage drivers for the distributed runtime (no Kafka in here).

The Faust agents (:mod:`.app`) are thin: they decode a message, hand it to
one of these drivers with its offset, send what comes back, and store the driver's
snapshot on the compacted state topic. The drivers run the two halves of the chain that
:mod:`foreshock.pipelines.assembly` builds (the same stages, in the same order, as the
embedded runtime), and make that safe:

- **Idempotent on redelivery.** A driver remembers the last offset it applied; after a
  crash Kafka redelivers what was not committed, and the driver skips what its restored
  state already contains. Its outputs are acknowledged by the broker *before* its state is
  written, so a state that is stored never lacks the outputs it implies; outputs that are
  sent twice (state not yet stored when the worker died) are dropped downstream, where
  every record has an identity.
- **Deterministic.** The correlator buffers anomalies from every detect partition and
  applies them in event-time order, up to the watermark (the oldest tick all detect
  partitions have reported); the chain's order stage
  (:mod:`foreshock.pipelines.stages.order`) then applies the anomalies of each instant in
  the canonical order every runtime uses, so all runtimes find the same incidents.
- **State is data.** A snapshot is the driver's offset and its stages' state as plain data
  (:mod:`foreshock.schemas.state`: versioned, checksummed, keyed by the ``state_key``
  setting, never unpickled); one that cannot be used (foreign, tampered, another version
  or configuration) raises :class:`~foreshock.schemas.errors.SnapshotError`, and the
  worker starts that partition empty: it relearns from the stream.

Examples
--------
>>> from foreshock.schemas.topology import Topology
>>> topo = Topology.model_validate({"nodes": [{"id": "a"}, {"id": "b"}],
...                                 "edges": [{"from": "a", "to": "b"}]})
>>> components(topo)
{'a': 'a', 'b': 'a'}
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from foreshock.graph.backends.base import GraphBackend
from foreshock.packs.loader import PackIndex
from foreshock.pipelines.assembly import correlation, detection
from foreshock.pipelines.chain import Tick
from foreshock.pipelines.kafka.wire import Message
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.stages.order import canonical_key
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.state import dump_state, load_state
from foreshock.schemas.topology import Topology

Out = tuple[str, Any]  # (kind, record or timestamp)

_KIND: dict[type, str] = {
    Anomaly: "anomaly",
    Forecast: "forecast",
    Incident: "incident",
    RootCauseReport: "report",
    AlertEvent: "alert",
}


def components(topology: Topology) -> dict[str, str]:
    """Resource → id of its connected component (edges in either direction)."""
    parent: dict[str, str] = {n.id: n.id for n in topology.nodes}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in topology.dependencies():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in sorted(parent)}


def _tagged(records: list[Any]) -> list[Out]:
    return [(_KIND[type(r)], r) for r in records]


class PartitionDetector:
    """The detection half of the chain (forecast → logs → detect) for one metrics partition.

    Metrics and log records are keyed by resource, so a capacity series and its limit, and
    a resource's logs and metrics, share a partition. Every batch is followed by its
    event-time tick, as in the embedded runtime: anomalies come out as ``("anomaly", a)``,
    forecasts as ``("forecast", f)``, then ``("tick", timestamp)``.
    """

    def __init__(
        self,
        settings: Settings,
        kinds: Mapping[str, str],
        packs: PackIndex,
        key: bytes = b"",
    ) -> None:
        self.stages = detection(settings, kinds, packs)
        self.chain = self.stages.chain
        self.key = key
        self.offset = -1

    def handle(self, offset: int, msg: Message) -> list[Out] | None:
        """Outputs for one message; ``None`` for a redelivered one already applied."""
        if offset <= self.offset:
            return None
        self.offset = offset
        if msg.kind in ("batch", "log"):
            out = _tagged(self.chain.feed(msg.record))
            if msg.kind == "batch":
                out.append(("tick", float(msg.record.timestamp)))
            return out
        if msg.kind == "end":
            return [("end", msg.timestamp)]
        return []

    def snapshot(self) -> bytes:
        state = {"offset": self.offset, "stages": self.stages.state_dict()}
        return dump_state("partition-detector", state, self.stages.config(), self.key)

    def restore(self, blob: bytes) -> None:
        """Take a snapshot's state; :class:`SnapshotError` leaves this driver untouched
        only if raised before any stage was loaded: build a new driver on error."""
        state = load_state(blob, "partition-detector", self.stages.config(), self.key)
        try:
            offset = int(state["offset"])
            stages = state["stages"]
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"detector partition state does not fit: {exc!r}") from None
        self.stages.load_state_dict(stages)
        self.offset = offset


@dataclass
class _Clock:
    latest: dict[int, float] = field(default_factory=dict)
    pending: list[float] = field(default_factory=list)
    ended: set[int] = field(default_factory=set)


class PartitionCorrelator:
    """The correlation half (correlate → enrich → alert) for one anomalies partition,
    applied in event time."""

    def __init__(
        self,
        sources: int,
        settings: Settings,
        graph: GraphBackend,
        packs: PackIndex,
        key: bytes = b"",
        keep_seen: float = 7200.0,
    ) -> None:
        self.sources = sources
        self.stages = correlation(settings, graph, packs)
        self.chain = self.stages.chain
        self.key = key
        self.keep_seen = keep_seen
        self.offset = -1
        self.clock = _Clock()
        self.buffer: list[Anomaly] = []
        self.seen: dict[tuple[str, str, float, float, str], float] = {}
        self.done = False

    # -- input ---------------------------------------------------------------------------
    def handle(self, offset: int, msg: Message) -> list[Out] | None:
        if offset <= self.offset:
            return None
        self.offset = offset
        if msg.kind == "anomaly":
            a: Anomaly = msg.record
            key = _seen_key(a)
            if key not in self.seen:  # a redelivered duplicate from a detect partition
                self.seen[key] = a.detected_at
                self.buffer.append(a)
            return []
        if msg.kind == "tick":
            c = self.clock
            for ts in msg.timestamps or (msg.timestamp,):
                c.latest[msg.source] = max(c.latest.get(msg.source, float("-inf")), ts)
                i = bisect.bisect_left(c.pending, ts)
                if i == len(c.pending) or c.pending[i] != ts:
                    c.pending.insert(i, ts)
            return self._advance()
        if msg.kind == "end":
            self.clock.ended.add(msg.source)
            if len(self.clock.ended) >= self.sources and not self.done:
                out = self._advance(final=True)
                out += _tagged(self.stages.finish())
                self.done = True
                out.append(("done", msg.timestamp))
                return out
            return []
        return []

    # -- event time ------------------------------------------------------------------------
    def watermark(self) -> float:
        c = self.clock
        if len(c.latest) < self.sources:
            return float("-inf")
        return min(c.latest.values())

    def _advance(self, final: bool = False) -> list[Out]:
        wm = float("inf") if final else self.watermark()
        out: list[Out] = []
        c = self.clock
        while c.pending and c.pending[0] <= wm:
            t = c.pending.pop(0)
            ready = sorted((a for a in self.buffer if a.detected_at <= t), key=canonical_key)
            if ready:
                taken = {id(a) for a in ready}
                self.buffer = [a for a in self.buffer if id(a) not in taken]
            for a in ready:
                out += _tagged(self.chain.feed(a))
            out += _tagged(self.chain.feed(Tick(t)))
        horizon = wm - self.keep_seen
        if horizon > float("-inf"):
            self.seen = {k: v for k, v in self.seen.items() if v >= horizon}
        return out

    # -- state as data -----------------------------------------------------------------------
    def snapshot(self) -> bytes:
        c = self.clock
        state = {
            "offset": self.offset,
            "stages": self.stages.state_dict(),
            "clock": {"latest": c.latest, "pending": c.pending, "ended": c.ended},
            "buffer": [a.model_dump(mode="python") for a in self.buffer],
            "seen": [[*k, v] for k, v in self.seen.items()],
            "done": self.done,
        }
        config = {**self.stages.config(), "sources": self.sources}
        return dump_state("partition-correlator", state, config, self.key)

    def restore(self, blob: bytes) -> None:
        """Take a snapshot's state (:class:`SnapshotError`: build a new driver instead)."""
        config = {**self.stages.config(), "sources": self.sources}
        state = load_state(blob, "partition-correlator", config, self.key)
        try:
            clock = state["clock"]
            self.clock = _Clock(
                latest={int(k): float(v) for k, v in clock["latest"].items()},
                pending=[float(x) for x in clock["pending"]],
                ended={int(x) for x in clock["ended"]},
            )
            self.buffer = [Anomaly.model_validate(a) for a in state["buffer"]]
            self.seen = {
                (str(r), str(m), float(o), float(d), str(s)): float(v)
                for r, m, o, d, s, v in state["seen"]
            }
            self.done = bool(state["done"])
            self.stages.load_state_dict(state["stages"])
            self.offset = int(state["offset"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"correlator partition state does not fit: {exc!r}") from None


def _seen_key(a: Anomaly) -> tuple[str, str, float, float, str]:
    return (a.resource, a.metric, a.onset, a.detected_at, a.state)


class PartitionPager:
    """Pages of one alerts partition: each page (``"dedup_key|action"``, an update
    ``"dedup_key|trigger#n"``) goes out once.

    Examples
    --------
    >>> pager = PartitionPager()
    >>> pager.first_time(0, "inc-1|trigger"), pager.first_time(1, "inc-1|trigger")
    (True, False)
    >>> again = PartitionPager(); again.restore(pager.snapshot()); again.keys
    {'inc-1|trigger'}
    """

    def __init__(self, key: bytes = b"") -> None:
        self.key = key
        self.offset = -1
        self.keys: set[str] = set()

    def first_time(self, offset: int, page: str) -> bool:
        """Whether ``page`` was not sent before (and remember it as sent)."""
        self.offset = max(self.offset, offset)
        if page in self.keys:
            return False
        self.keys.add(page)
        return True

    def snapshot(self) -> bytes:
        return dump_state("pager", {"offset": self.offset, "keys": self.keys}, key=self.key)

    def restore(self, blob: bytes) -> None:
        state = load_state(blob, "pager", key=self.key)
        try:
            self.offset = int(state["offset"])
            self.keys = {str(k) for k in state["keys"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"pager state does not fit: {exc!r}") from None
