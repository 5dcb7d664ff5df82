"""Log lines through a real Kafka topic: records come out, malformed messages are dead-lettered.

Needs the local Kafka (`make services-up`); `make test` starts it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from foreshock.pipelines.sinks.dead_letters import JsonlDeadLetterSink
from foreshock.pipelines.sources.logs.kafka_source import (
    KafkaLogSource,
    LogMessage,
    ensure_log_topic,
    publish_log_lines,
)
from foreshock.schemas.logs import LogRecord


@pytest.fixture()
def topic(kafka: str) -> Iterator[str]:
    prefix = f"itlogs{uuid.uuid4().hex[:8]}"
    name = f"{prefix}.logs"
    ensure_log_topic(kafka, name, partitions=2)
    yield name
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": kafka})
    for fut in admin.delete_topics([name], operation_timeout=30).values():
        fut.result()


def test_lines_come_out_as_records_and_malformed_ones_are_dead_lettered(
    kafka: str, topic: str
) -> None:
    messages: list[LogMessage | bytes] = [
        LogMessage("redis-cache", "1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp"),
        LogMessage(
            "orders-db",
            '2026-11-25 13:53:01.001 UTC [88] ERROR:  relation "nope" does not exist',
            "postgresql",
        ),
        LogMessage(
            "orders-db", "2026-11-25 13:53:01.001 UTC [88] STATEMENT:  SELECT 1", "postgresql"
        ),
        b"{this is not json",
        b'{"line": "a line without its resource"}',
        LogMessage("billing", "payment provider timed out", "generic", ts=1795614800.0),
        LogMessage("redis-cache", "1:M 25 Nov 2026 13:52:49.000 # Connection with replica lost."),
    ]
    assert publish_log_lines(kafka, topic, messages) == len(messages)

    dead = JsonlDeadLetterSink(None)
    prefix = topic.removesuffix(".logs")
    records: list[LogRecord] = []
    with KafkaLogSource(kafka, prefix=prefix, dead_letters=dead) as source:
        assert source.topic == topic
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(records) < 4 or dead.total < 2):
            records += source.poll(timeout=1.0)
        records += source.poll(timeout=1.0)  # a quiet poll releases the waiting ERROR

    by_resource: dict[str, list[LogRecord]] = {}
    for r in records:
        by_resource.setdefault(r.resource, []).append(r)
    redis = by_resource["redis-cache"]
    assert [(r.level, r.message) for r in redis] == [
        ("notice", "Ready to accept connections tcp"),
        ("warning", "Connection with replica lost."),
    ]
    [pg] = by_resource["orders-db"]
    assert (pg.level, pg.message, pg.attributes["statement"]) == (
        "error",
        'relation "nope" does not exist',
        "SELECT 1",
    )
    [billing] = by_resource["billing"]
    assert (billing.timestamp, billing.level) == (1795614800.0, "info")

    assert dead.total == 2
    reasons = sorted(letter.reason for letter in dead.letters)
    assert reasons[0] == "missing resource"
    assert reasons[1].startswith("not JSON")
    assert all(letter.source.startswith(f"{topic}:") for letter in dead.letters)
    assert any(letter.payload == "{this is not json" for letter in dead.letters)
