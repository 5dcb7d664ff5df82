"""Partition-local stage drivers for the distributed runtime (no Kafka in here).

The Faust agents (:mod:`.app`) are thin: they decode a message, hand it to
one of these drivers with its offset, send what comes back, and store the driver's
snapshot in a changelogged table. The drivers make that safe:

- **Idempotent on redelivery.** A driver remembers the last offset it applied; after a
  crash Kafka redelivers what was not committed, and the driver skips what its restored
  state already contains. Its outputs are acknowledged by the broker *before* its state is
  written, so a state that is stored never lacks the outputs it implies; outputs that are
  sent twice (state not yet stored when the worker died) are dropped downstream, where
  every record has an identity.
- **Deterministic.** The correlator buffers anomalies from every detect partition and
  applies them in event-time order, up to the watermark (the oldest tick all detect
  partitions have reported), in the same canonical order as the embedded runtime, so both
  runtimes find the same incidents.

Examples
--------
>>> from foreshock.schemas.topology import Topology
>>> topo = Topology.model_validate({"nodes": [{"id": "a"}, {"id": "b"}],
...                                 "edges": [{"from": "a", "to": "b"}]})
>>> partition_of("a", 4) == partition_of("a", 4)
True
>>> components(topo)
{'a': 'a', 'b': 'a'}
"""

from __future__ import annotations

import bisect
import hashlib
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from foreshock.enrichers.narrator import OfflineNarrator
from foreshock.graph.backends.base import GraphBackend
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.kafka.wire import Message
from foreshock.pipelines.stages.alerting import AlertStage
from foreshock.pipelines.stages.correlate import CorrelateStage
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.pipelines.stages.enrich import EnrichStage
from foreshock.pipelines.stages.forecast import ForecastStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology

Out = tuple[str, Any]  # (kind, record or timestamp)


def partition_of(key: str, partitions: int) -> int:
    """Stable partition of a key (the same in every process, unlike ``hash``)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


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


def pack_state(offset: int, body: Any) -> bytes:
    return struct.pack(">q", offset) + pickle.dumps(body)


def state_offset(state: bytes | None) -> int:
    """Offset a stored snapshot was taken at (-1 for none)."""
    if not state:
        return -1
    return int(struct.unpack(">q", state[:8])[0])


def unpack_state(state: bytes) -> tuple[int, Any]:
    return state_offset(state), pickle.loads(state[8:])


class PartitionDetector:
    """The detect stage of one metrics partition, and its forecast stage.

    Metrics are keyed by resource, so a capacity series and its limit share a partition.
    With ``forecast`` on, every batch also feeds a
    :class:`~foreshock.pipelines.stages.forecast.ForecastStage`, ticked at the batch's time as in
    the embedded runtime: its forecasts come out as ``("forecast", f)`` and its
    predicted-exhaustion anomalies as ordinary ``("anomaly", a)``.
    """

    def __init__(
        self, kinds: dict[str, str], packs: PackIndex | None = None, forecast: bool = True
    ) -> None:
        self.stage = DetectStage(kinds=kinds, packs=packs)
        self.forecast = ForecastStage(kinds=kinds, packs=packs) if forecast else None
        self.offset = -1

    def handle(self, offset: int, msg: Message) -> list[Out] | None:
        """Outputs for one message; ``None`` for a redelivered one already applied."""
        if offset <= self.offset:
            return None
        self.offset = offset
        if msg.kind == "batch":
            batch: MetricBatch = msg.record
            out: list[Out] = []
            if len(batch):
                if self.forecast is not None:
                    self.forecast.process(batch)
                out += [("anomaly", a) for a in self.stage.process(batch)]
            if self.forecast is not None:
                for rec in self.forecast.tick(batch.timestamp):
                    out.append(("forecast" if isinstance(rec, Forecast) else "anomaly", rec))
            out.append(("tick", batch.timestamp))
            return out
        if msg.kind == "end":
            return [("end", msg.timestamp)]
        return []

    def snapshot(self) -> bytes:
        fc = self.forecast.snapshot() if self.forecast is not None else None
        return pack_state(self.offset, (self.stage.snapshot(), fc))

    def restore(self, state: bytes) -> None:
        self.offset, (body, fc) = unpack_state(state)
        self.stage.restore(body)
        if self.forecast is not None and fc is not None:
            self.forecast.restore(fc)


@dataclass
class _Clock:
    latest: dict[int, float] = field(default_factory=dict)
    pending: list[float] = field(default_factory=list)
    ended: set[int] = field(default_factory=set)


class PartitionCorrelator:
    """Correlate → enrich → alert for the anomalies of one partition, in event time."""

    def __init__(
        self,
        sources: int,
        graph: GraphBackend,
        packs: PackIndex | None = None,
        keep_seen: float = 7200.0,
    ) -> None:
        index = packs or PackIndex(load_packs())
        self.sources = sources
        self.correlate = CorrelateStage(graph, index)
        self.enrich = EnrichStage(OfflineNarrator(index.packs))
        self.alerting = AlertStage()
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
            key = (a.resource, a.metric, a.onset, a.detected_at, a.state)
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
                for e in self.alerting.flush():
                    out.append(("alert", e))
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
            ready = sorted(
                (a for a in self.buffer if a.detected_at <= t),
                key=lambda a: (a.detected_at, a.resource, a.metric, a.state),
            )
            if ready:
                taken = {id(a) for a in ready}
                self.buffer = [a for a in self.buffer if id(a) not in taken]
            for a in ready:
                out.append(("anomaly", a))
                out += self._route_incidents(self.correlate.process(a))
            out += self._route_incidents(list(self.correlate.tick(t)))
            out += [("alert", e) for e in self.alerting.tick(t)]
        horizon = wm - self.keep_seen
        if horizon > float("-inf"):
            self.seen = {k: v for k, v in self.seen.items() if v >= horizon}
        return out

    def _route_incidents(self, incidents: Sequence[Incident]) -> list[Out]:
        out: list[Out] = []
        for inc in incidents:
            out.append(("incident", inc))
            out += [("report", r) for r in self.enrich.process(inc)]
            out += [("alert", e) for e in self.alerting.process(inc)]
        return out

    def snapshot(self) -> bytes:
        body = {
            "correlate": self.correlate.snapshot(),
            "alerting": self.alerting.snapshot(),
            "clock": self.clock,
            "buffer": self.buffer,
            "seen": self.seen,
            "done": self.done,
        }
        return pack_state(self.offset, body)

    def restore(self, state: bytes) -> None:
        self.offset, body = unpack_state(state)
        self.correlate.restore(body["correlate"])
        self.alerting.restore(body["alerting"])
        self.clock = body["clock"]
        self.buffer = body["buffer"]
        self.seen = body["seen"]
        self.done = body["done"]
