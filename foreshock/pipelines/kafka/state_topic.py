"""Stage snapshots in a compacted Kafka topic, read back when a partition is (re)assigned.

Faust tables do the same in principle, but their changelog recovery hung after a
``kill -9`` in our tests (the recovery consumer never saw an event). This is the smallest
thing that works: one compacted topic, keyed by ``<stage>:<partition>``, written after every
message (after that message's outputs were acknowledged) and read back to the end when a
driver for a partition has to be rebuilt.
"""

from __future__ import annotations

import uuid
from typing import Any

from foreshock.pipelines.kafka.connection import (
    KafkaConnection,
    admin_client,
    check_kafka,
    kafka_connection,
)
from foreshock.schemas.errors import ConfigError


def ensure_state_topic(bootstrap: str | KafkaConnection, topic: str, partitions: int) -> None:
    """Create the compacted state topic unless it exists (``bootstrap``: a
    :class:`KafkaConnection`, or ``host:port`` for a plain one)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.cimpl import NewTopic

    conn = kafka_connection(bootstrap)
    errors: list[Any] = []
    admin = admin_client(conn, errors)
    if topic in check_kafka(admin, conn, errors, 30.0).topics:
        return
    new = NewTopic(
        topic,
        num_partitions=partitions,
        replication_factor=1,
        config={
            "cleanup.policy": "compact",
            "segment.ms": "60000",
            "min.cleanable.dirty.ratio": "0.1",
        },
    )
    for name, fut in admin.create_topics([new], operation_timeout=30).items():
        try:
            fut.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise ConfigError(f"cannot create topic {name}: {exc}") from None


def load_latest(
    bootstrap: str | KafkaConnection,
    topic: str,
    partition: int,
    key: bytes,
    timeout: float = 30.0,
) -> bytes | None:
    """The newest value of ``key`` in one partition of the state topic (None if none)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        kafka_connection(bootstrap).config(
            {
                "group.id": f"foreshock-state-reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "log_level": 2,
            }
        )
    )
    try:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout
        )
        if high <= low:
            return None
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        latest: bytes | None = None
        while True:
            msg = consumer.poll(timeout)
            if msg is None:
                raise ConfigError(f"state topic {topic}[{partition}] unreadable within {timeout} s")
            if msg.error():
                continue
            if msg.key() == key:
                latest = msg.value()
            offset = msg.offset()
            if offset is not None and offset >= high - 1:
                return latest
    finally:
        consumer.close()
