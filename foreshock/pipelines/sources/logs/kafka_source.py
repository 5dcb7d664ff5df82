"""Log lines from a Kafka topic (``<prefix>.logs``), and a small producer for them.

Each message is one JSON object ``{"resource": str, "line": str, "format": str?, "ts":
number?}``, keyed by resource (so one resource's lines stay in order on one partition).
``format`` is one of :data:`~foreshock.pipelines.sources.logs.formats.FORMATS` (default ``auto``,
decided on the first line of each resource); lines of one resource and format go through
one :class:`~foreshock.pipelines.sources.logs.formats.LineParser`, so multi-line entries (a
PostgreSQL ``ERROR`` and its ``STATEMENT``, a slow-log entry) are assembled as from a
file. The record's time is the one in the line's header; else ``ts`` (epoch seconds);
else the Kafka message time.

A message that cannot be used (not JSON, not an object, no resource, no line, an unknown
format, a ``ts`` that is not a number) goes to the dead-letter sink with the reason and
its ``topic:partition:offset``; the source goes on.

Examples
--------
>>> msg = log_message("redis-cache", "1:M 25 Nov 2026 13:52:48.123 * Ready", format="redis")
>>> m = decode_log_message(msg)
>>> m.resource, m.format, m.ts
('redis-cache', 'redis', None)
>>> decode_log_message(b'{"line": "x"}')
Traceback (most recent call last):
...
foreshock.schemas.errors.SchemaError: missing resource
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from types import TracebackType
from typing import Any

import orjson

from foreshock.pipelines.kafka.connection import (
    KafkaConnection,
    admin_client,
    check_kafka,
    kafka_connection,
)
from foreshock.pipelines.kafka.topics import TopicNames
from foreshock.pipelines.sinks.dead_letters import DeadLetterSink, JsonlDeadLetterSink
from foreshock.pipelines.sources.logs.formats import FORMATS, LineParser
from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.errors import ConfigError, SchemaError
from foreshock.schemas.logs import LogRecord

__all__ = [
    "KafkaLogSource",
    "LogMessage",
    "decode_log_message",
    "ensure_log_topic",
    "log_message",
    "publish_log_lines",
]


@dataclass(frozen=True)
class LogMessage:
    """One decoded message of the logs topic."""

    resource: str
    line: str
    format: str = "auto"
    ts: float | None = None


def log_message(
    resource: str, line: str, format: str | None = None, ts: float | None = None
) -> bytes:
    """The JSON of one message (``format`` and ``ts`` only when given)."""
    body: dict[str, Any] = {"resource": resource, "line": line}
    if format is not None:
        body["format"] = format
    if ts is not None:
        body["ts"] = ts
    return orjson.dumps(body)


def decode_log_message(raw: bytes | None) -> LogMessage:
    """Decode and check one message; :class:`SchemaError` says why it cannot be used."""
    if not raw:
        raise SchemaError("empty message")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SchemaError("not a JSON object")
    resource, line = body.get("resource"), body.get("line")
    if not isinstance(resource, str) or not resource.strip():
        raise SchemaError("missing resource")
    if not isinstance(line, str):
        raise SchemaError("missing line")
    fmt = body.get("format") or "auto"
    if fmt not in FORMATS:
        raise SchemaError(f"unknown format {fmt!r}")
    ts = body.get("ts")
    if ts is not None and (
        isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts)
    ):
        raise SchemaError("ts is not a number of epoch seconds")
    return LogMessage(resource.strip(), line, fmt, None if ts is None else float(ts))


class KafkaLogSource:
    """Consume ``<prefix>.logs`` (or ``topic``) into :class:`~foreshock.schemas.logs.LogRecord` s.

    Parameters
    ----------
    bootstrap
        Kafka bootstrap servers (``host:port``, plain), or a
        :class:`~foreshock.pipelines.kafka.connection.KafkaConnection` with TLS / SASL
        (:meth:`~foreshock.pipelines.kafka.connection.KafkaConnection.from_settings`).
    prefix
        Topic prefix; the topic is ``f"{prefix}.logs"`` unless ``topic`` is given.
    topic
        Topic name, overriding the prefix.
    group
        Consumer group (default ``f"{prefix}-logs"``); offsets are committed
        automatically, so a restarted source continues where the group stopped.
    dead_letters
        Sink of unusable messages (default: kept in memory).
    tz
        Zone of header times that carry none.
    clock
        Time of a message Kafka gives no timestamp.
    config
        Extra ``confluent_kafka`` consumer settings.

    Examples
    --------
    >>> src = KafkaLogSource("127.0.0.1:9092", prefix="fs")   # connects on first poll
    >>> src.topic
    'fs.logs'
    """

    def __init__(
        self,
        bootstrap: str | KafkaConnection,
        prefix: str = "foreshock",
        topic: str | None = None,
        group: str | None = None,
        dead_letters: DeadLetterSink | None = None,
        tz: tzinfo = UTC,
        clock: Callable[[], float] = time.time,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.connection = kafka_connection(bootstrap)
        self.bootstrap = self.connection.bootstrap
        self.prefix = prefix
        self.topic = topic or TopicNames(prefix).logs
        self.group = group or f"{prefix}-logs"
        self.dead_letters: DeadLetterSink = dead_letters or JsonlDeadLetterSink(None)
        self.tz = tz
        self.clock = clock
        self.config = dict(config or {})
        self._consumer: Any = None
        self._parsers: dict[tuple[str, str], LineParser] = {}

    def _connect(self) -> Any:
        if self._consumer is None:
            from confluent_kafka import Consumer

            self._consumer = Consumer(
                self.connection.config(
                    {
                        "group.id": self.group,
                        "auto.offset.reset": "earliest",
                        "enable.auto.commit": True,
                        "log_level": 2,
                        **self.config,
                    }
                )
            )
            self._consumer.subscribe([self.topic])
        return self._consumer

    def poll(self, timeout: float = 1.0, max_messages: int = 500) -> list[LogRecord]:
        """Records of the messages that arrive within ``timeout`` seconds (at most
        ``max_messages``); records waiting for continuation lines are released once
        their resource sends nothing in a poll."""
        consumer = self._connect()
        out: list[LogRecord] = []
        fed: set[tuple[str, str]] = set()
        for msg in consumer.consume(max_messages, timeout):
            if msg.error():
                continue  # partition EOF and transient broker errors: the client retries
            raw = msg.value()
            where = f"{msg.topic()}:{msg.partition()}:{msg.offset()}"
            try:
                m = decode_log_message(raw)
            except SchemaError as exc:
                payload = (raw or b"").decode("utf-8", "replace")[:4000]
                self.dead_letters.send(DeadLetter(source=where, reason=str(exc), payload=payload))
                continue
            kind, stamp = msg.timestamp()
            arrival = stamp / 1000.0 if kind and stamp > 0 else self.clock()
            key = (m.resource, m.format)
            parser = self._parsers.get(key)
            if parser is None:
                parser = LineParser(m.format, m.resource, self.tz, {"source": self.topic})
                self._parsers[key] = parser
            out += parser.feed([m.line], m.ts if m.ts is not None else arrival)
            fed.add(key)
        now = self.clock()
        for key, parser in self._parsers.items():
            if key not in fed:
                out += parser.flush(now)
        return out

    def close(self) -> None:
        """Leave the consumer group (committing offsets)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def __enter__(self) -> KafkaLogSource:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def ensure_log_topic(
    bootstrap: str | KafkaConnection, topic: str, partitions: int = 1, timeout: float = 30.0
) -> None:
    """Create ``topic`` unless it exists (:class:`ConfigError` if Kafka does not answer,
    refuses the credentials or shows an untrusted certificate)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.cimpl import NewTopic

    conn = kafka_connection(bootstrap)
    errors: list[Any] = []
    admin = admin_client(conn, errors)
    if topic in check_kafka(admin, conn, errors, timeout).topics:
        return
    try:
        fut = admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
            operation_timeout=timeout,
        )[topic]
        fut.result()
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise ConfigError(f"Kafka at {conn.where}: cannot create {topic}: {exc}") from None


def publish_log_lines(
    bootstrap: str | KafkaConnection,
    topic: str,
    messages: Iterable[LogMessage | bytes],
    timeout: float = 30.0,
) -> int:
    """Produce ``messages`` (decoded ones are encoded; bytes go as they are, which lets a
    test send a malformed one) keyed by resource; returns how many were acknowledged."""
    from confluent_kafka import Producer

    producer = Producer(
        kafka_connection(bootstrap).config(
            {
                "linger.ms": 5,
                "enable.idempotence": True,
                "client.id": f"foreshock-logs-{uuid.uuid4().hex[:6]}",
            }
        )
    )
    errors: list[str] = []
    sent = 0

    def on_delivery(err: object, _msg: object) -> None:
        nonlocal sent
        if err is None:
            sent += 1
        else:
            errors.append(str(err))

    for m in messages:
        if isinstance(m, LogMessage):
            value = log_message(m.resource, m.line, m.format, m.ts)
            key: bytes | None = m.resource.encode()
        else:
            value, key = m, None
        while True:
            try:
                producer.produce(topic, value, key=key, on_delivery=on_delivery)
                break
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(timeout)
    if left or errors:
        raise ConfigError(f"Kafka publish to {topic} failed: {left} unsent, {errors[:3]}")
    return sent
