"""Log lines through partitioned detection: the same anomalies as one process.

The distributed runtime splits resources over Kafka partitions, each with its own log
stage that sees only its resources' lines (and every metric batch's tick). What one
resource's log lines turn into must therefore not depend on the lines of resources in
other partitions: not its warm-up, not its template ids, not when its rate windows close.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.assembly import detection
from foreshock.pipelines.partitioning import partition_of
from foreshock.pipelines.runtimes.distributed.publish import split_batch
from foreshock.pipelines.runtimes.embedded import interleave
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.replay import read_replay
from foreshock.pipelines.stages.log_groups import GroupedLogStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch

N = 4


def _two_partitions(resources: list[str]) -> tuple[str, str]:
    first = resources[0]
    other = next(r for r in resources if partition_of(r, N) != partition_of(first, N))
    return first, other


def _lines(start: float, chatty: str, late: str) -> list[LogRecord]:
    """``chatty`` logs from an hour before the metrics start, then every 7 s; ``late`` has
    its first line 40 s into the metrics (an error), then lines now and then."""

    def line(t: float, resource: str, message: str, level: str = "info") -> LogRecord:
        return LogRecord(timestamp=start + t, resource=resource, message=message, level=level)

    out = [line(-3600.0 + 7.0 * k, chatty, f"flushed {k} pages") for k in range(1200)]
    out.append(line(40.0, late, "Aborted connection 12 to db: 'app' (Got timeout)", "warning"))
    out += [line(40.0 + 37.0 * k, late, f"purged {k} rows") for k in range(1, 200)]
    out.append(line(5000.0, late, "Too many connections from app", "error"))
    return sorted(out, key=lambda r: r.timestamp)


def _key(a: Anomaly) -> tuple[Any, ...]:
    return (a.resource, a.metric, a.state, a.onset, a.detected_at, round(a.score, 9))


def test_log_lines_give_the_same_anomalies_in_one_process_and_over_partitions(
    lock_replay: Path,
) -> None:
    rep = read_replay(lock_replay)
    kinds = rep.topology.kinds()
    chatty, late = _two_partitions(sorted(kinds))
    kinds = {**kinds, late: kinds[chatty]}  # one kind: its template miner is shared
    records = _lines(float(rep.batches[0].timestamp), chatty, late)
    settings = Settings.load(env={"FORESHOCK_KAFKA_PARTITIONS": str(N)}, config=None)
    packs = PackIndex(load_packs())

    whole = detection(settings, kinds, packs).chain
    one: list[Anomaly] = []
    for item in interleave(rep.batches, records):
        one += [x for x in whole.feed(item) if isinstance(x, Anomaly)]

    parts = [detection(settings, kinds, packs).chain for _ in range(N)]
    split: list[Anomaly] = []
    for item in interleave(rep.batches, records):
        if isinstance(item, MetricBatch):
            for p, sub in enumerate(split_batch(item, N)):
                split += [x for x in parts[p].feed(sub) if isinstance(x, Anomaly)]
        else:
            p = partition_of(item.resource, N)
            split += [x for x in parts[p].feed(item) if isinstance(x, Anomaly)]

    logged = [a for a in one if a.resource == late and a.kind == "log"]
    assert logged, "the late resource's error lines raised nothing"
    assert sorted(map(_key, split)) == sorted(map(_key, one))


def test_the_grouped_log_stage_restores_its_groups_and_refuses_another_split() -> None:
    kinds = {f"db-{i}": "mysql" for i in range(8)}
    stage = GroupedLogStage(4, kinds=kinds, warmup=0.0, lateness=0.0)
    for i in range(8):
        stage.process(LogRecord(timestamp=1.0 + i, resource=f"db-{i}", message=f"ready {i}"))
    again = GroupedLogStage(4, kinds=kinds, warmup=0.0, lateness=0.0)
    again.restore(stage.snapshot())
    assert again.state_of() == stage.state_of() and again.lines == 8
    line = LogRecord(timestamp=30.0, resource="db-3", message="Deadlock found", level="error")
    raised = [a.metric for a in again.process(line) if isinstance(a, Anomaly)]
    assert raised and raised == [a.metric for a in stage.process(line) if isinstance(a, Anomaly)]
    with pytest.raises(SnapshotError):
        GroupedLogStage(2, kinds=kinds, warmup=0.0, lateness=0.0).restore(stage.snapshot())
