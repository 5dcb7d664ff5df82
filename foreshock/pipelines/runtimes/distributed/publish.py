"""Publish a replay folder to Kafka, as a fleet's scrapes would arrive.

Each scrape (one :class:`MetricBatch`) is split by resource into one sub-batch per
metrics partition, every partition getting one (possibly empty) sub-batch per scrape so
that event time advances on all of them; an ``end`` marker on every partition closes the
replay. Log records (``logs``: server log files, as ``foreshock run --replay --logs``)
go to the partition of their resource, in event-time order with the scrapes, as the
embedded runtime merges them. ``speed`` paces publication in event time (``speed=60``: one
simulated minute per second; ``0``: as fast as the broker takes it).

Examples
--------
>>> from foreshock.schemas.metrics import MetricBatch
>>> parts = split_batch(MetricBatch(timestamp=1.0, resources=["a", "b"], metrics=["m", "m"],
...                                 values=[1.0, 2.0]), 4)
>>> sum(len(p) for p in parts), len(parts)
(2, 4)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from foreshock.pipelines.kafka.connection import KafkaConnection
from foreshock.pipelines.kafka.topics import TopicNames, ensure_topics
from foreshock.pipelines.kafka.wire import encode, encode_batch
from foreshock.pipelines.partitioning import partition_of
from foreshock.pipelines.runtimes.embedded import interleave
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.logs.tail import read_log_files
from foreshock.pipelines.sources.replay import read_replay
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch


@dataclass
class Published:
    run: str
    batches: int
    samples: int
    messages: int
    seconds: float
    dead_letters: int
    log_records: int = 0


def split_batch(batch: MetricBatch, partitions: int) -> list[MetricBatch]:
    cols: list[tuple[list[str], list[str], list[float]]] = [([], [], []) for _ in range(partitions)]
    for r, m, v in zip(batch.resources, batch.metrics, batch.values, strict=True):
        c = cols[partition_of(r, partitions)]
        c[0].append(r)
        c[1].append(m)
        c[2].append(v)
    return [
        MetricBatch.model_construct(timestamp=batch.timestamp, resources=a, metrics=b, values=c)
        for a, b, c in cols
    ]


def publish_replay(
    folder: Path,
    settings: Settings,
    speed: float = 0.0,
    run: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    logs: Sequence[str] = (),
) -> Published:
    """Produce a replay folder to ``<prefix>.metrics``; returns what was sent."""
    from confluent_kafka import KafkaException, Producer

    rep = read_replay(folder)
    records = read_log_files(logs) if logs else []
    names = TopicNames(settings.kafka_topic_prefix)
    n = settings.kafka_partitions
    conn = KafkaConnection.from_settings(settings)
    ensure_topics(conn, names, n)
    run = run or uuid.uuid4().hex[:12]
    producer = Producer(conn.config({"linger.ms": 20, "enable.idempotence": True}))
    errors: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    started = time.perf_counter()
    messages = 0
    first_ts = rep.batches[0].timestamp if rep.batches else 0.0

    def produce(value: bytes, key: bytes, p: int) -> None:
        while True:
            try:
                producer.produce(
                    names.metrics, value, key=key, partition=p, on_delivery=on_delivery
                )
                return
            except BufferError:
                producer.poll(0.1)

    i = 0
    for item in interleave(rep.batches, records):
        if isinstance(item, LogRecord):
            key = item.resource.encode()
            produce(encode("log", item, run), key, partition_of(item.resource, n))
            messages += 1
            continue
        if speed > 0:
            due = started + (item.timestamp - first_ts) / speed
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        for p, sub in enumerate(split_batch(item, n)):
            produce(encode_batch(sub, run), str(p).encode(), p)
            messages += 1
        producer.poll(0)
        i += 1
        if progress is not None:
            progress(i, len(rep.batches))
    last = rep.batches[-1].timestamp if rep.batches else 0.0
    for p in range(n):
        producer.produce(
            names.metrics,
            encode("end", run=run, timestamp=last),
            key=b"end",
            partition=p,
            on_delivery=on_delivery,
        )
        messages += 1
    try:
        left = producer.flush(60)
    except KafkaException as exc:  # pragma: no cover - broker gone mid-flush
        raise ConfigError(f"Kafka publish failed: {exc}") from None
    if left or errors:
        raise ConfigError(f"Kafka publish failed: {left} unsent, errors: {errors[:3]}")
    return Published(
        run,
        len(rep.batches),
        rep.samples,
        messages,
        time.perf_counter() - started,
        len(rep.dead_letters),
        sum(1 for r in records if r.timestamp <= (rep.batches[-1].timestamp if rep.batches else 0)),
    )
