"""The distributed drivers, without Kafka: any partitioning gives the embedded result."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from graph.embedded import NetworkXGraph
from pipelines.distributed import (
    PartitionCorrelator,
    PartitionDetector,
    components,
    partition_of,
)
from pipelines.embedded import run_replay
from pipelines.publish import split_batch
from pipelines.sources.replay import read_replay
from pipelines.wire import Message
from schemas.incident import Incident


def run_partitioned(replay: Path, n: int, crash_every: int = 0, seed: int = 0):  # type: ignore[no-untyped-def]
    """Drive n detect partitions and n correlate partitions like the Faust agents do,
    optionally 'crashing' (restore from the last snapshot and redeliver) now and then."""
    rep = read_replay(replay)
    kinds = rep.topology.kinds()
    comp = components(rep.topology)
    graph = NetworkXGraph(rep.topology)
    detectors = [PartitionDetector(kinds) for _ in range(n)]
    correlators = [PartitionCorrelator(n, graph) for _ in range(n)]
    logs: list[list[Message]] = [[] for _ in range(n)]  # the anomalies topic, per partition
    rng = random.Random(seed)
    incidents: dict[str, Incident] = {}

    def feed_correlator(cp: int) -> None:
        c = correlators[cp]
        for off, msg in enumerate(logs[cp]):
            if off <= c.offset:
                continue
            saved = c.snapshot()
            out = c.handle(off, msg) or []
            if crash_every and rng.random() < 1 / crash_every:  # crash before state is stored
                c.restore(saved)
                out = c.handle(off, msg) or []  # redelivered
            for kind, rec in out:
                if kind == "incident":
                    incidents[rec.id] = rec

    offsets = [0] * n
    for batch in rep.batches:
        for p, sub in enumerate(split_batch(batch, n)):
            msg = Message("batch", "t", sub)
            det = detectors[p]
            saved = det.snapshot()
            out = det.handle(offsets[p], msg) or []
            if crash_every and rng.random() < 1 / crash_every:
                det.restore(saved)
                again = det.handle(offsets[p], msg) or []
                assert again == out  # deterministic replay of the same input
            offsets[p] += 1
            for kind, rec in out:
                if kind == "anomaly":
                    logs[partition_of(comp[rec.resource], n)].append(Message("anomaly", "t", rec))
                    if crash_every and rng.random() < 1 / crash_every:  # sent twice
                        logs[partition_of(comp[rec.resource], n)].append(
                            Message("anomaly", "t", rec)
                        )
                else:
                    for cp in range(n):
                        logs[cp].append(Message("tick", "t", None, p, rec))
        for cp in range(n):
            feed_correlator(cp)
    for p in range(n):
        for cp in range(n):
            logs[cp].append(Message("end", "t", None, p, rep.batches[-1].timestamp))
    for cp in range(n):
        feed_correlator(cp)
    return sorted(incidents.values(), key=lambda i: i.opened_at)


def summary(incidents: list[Incident]) -> list[tuple[str, list[str], list[str]]]:
    return [(i.id, i.resources, [c.resource for c in i.candidates[:3]]) for i in incidents]


@pytest.mark.parametrize("partitions", [1, 4])
def test_partitioned_drivers_find_the_embedded_incidents(
    lock_replay: Path, tmp_path: Path, partitions: int
) -> None:
    embedded = run_replay(lock_replay, tmp_path / "home")
    assert summary(run_partitioned(lock_replay, partitions)) == summary(embedded.incidents)


def test_crashes_and_redeliveries_change_nothing(lock_replay: Path, tmp_path: Path) -> None:
    embedded = run_replay(lock_replay, tmp_path / "home")
    assert summary(run_partitioned(lock_replay, 4, crash_every=20, seed=3)) == summary(
        embedded.incidents
    )
