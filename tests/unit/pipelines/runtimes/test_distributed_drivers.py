"""The distributed drivers, without Kafka: any partitioning gives the embedded result."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.kafka.wire import Message
from foreshock.pipelines.partitioning import partition_of
from foreshock.pipelines.runtimes.distributed.drivers import (
    PartitionCorrelator,
    PartitionDetector,
    components,
)
from foreshock.pipelines.runtimes.distributed.publish import split_batch
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.replay import read_replay
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.sim.simulator import simulate


def run_partitioned(  # type: ignore[no-untyped-def]
    replay: Path,
    n: int,
    crash_every: int = 0,
    seed: int = 0,
    forecasts: list[Forecast] | None = None,
):
    """Drive n detect partitions and n correlate partitions like the Faust agents do,
    optionally 'crashing' (restore from the last snapshot and redeliver) now and then.
    Forecasts the detect partitions send are appended to ``forecasts``."""
    rep = read_replay(replay)
    kinds = rep.topology.kinds()
    comp = components(rep.topology)
    graph = NetworkXGraph(rep.topology)
    settings = Settings.load(env={}, config=None)
    packs = PackIndex(load_packs())
    detectors = [PartitionDetector(settings, kinds, packs) for _ in range(n)]
    correlators = [PartitionCorrelator(n, settings, graph, packs) for _ in range(n)]
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
                elif kind == "forecast":
                    if forecasts is not None:
                        forecasts.append(rec)
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


def test_partitions_forecast_like_embedded_and_open_the_exhaustion_incident(
    tmp_path: Path,
) -> None:
    replay = simulate("disk_filling", seed=2, hours=6).write(tmp_path / "replay")
    embedded = run_replay(replay, tmp_path / "home")
    assert summary(run_partitioned(replay, 1)) == summary(embedded.incidents)
    got: list[Forecast] = []
    incidents = run_partitioned(replay, 4, crash_every=25, seed=1, forecasts=got)
    # forecasts are per series: partitioning and crashes change nothing (a redelivered
    # forecast may come twice; the store upserts it by identity)

    def key(f: Forecast) -> tuple[str, str, float, str, float | None]:
        return (f.resource, f.metric, f.made_at, f.model, f.exhaustion_p50)

    assert embedded.forecasts
    assert sorted(set(map(key, got))) == sorted(set(map(key, embedded.forecasts)))
    # calibration is shared by the resources of one partition in every runtime, so the
    # partitioned run finds exactly the embedded incidents, predicted exhaustion included
    assert summary(incidents) == summary(embedded.incidents)
    exhaustion = [a for i in incidents for a in i.anomalies if a.kind == "predicted_exhaustion"]
    assert exhaustion and [(a.resource, a.detected_at) for a in exhaustion] == [
        (a.resource, a.detected_at)
        for i in embedded.incidents
        for a in i.anomalies
        if a.kind == "predicted_exhaustion"
    ]
