"""Drive and observe a distributed deployment: start workers, wait for a replay, read results.

Used by the integration tests, ``foreshock bench kafka`` and anyone who wants to check a
deployment from a script. Results are read from the topics themselves (the newest
version of each incident, every alert and dead letter), so they do not depend on the
store backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from foreshock.pipelines.kafka.connection import KafkaConnection
from foreshock.pipelines.kafka.topics import TopicNames
from foreshock.pipelines.kafka.wire import decode
from foreshock.pipelines.settings import Settings
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.errors import ForeshockError, SchemaError
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport


def start_worker(
    topology: Path, env: Mapping[str, str], home: Path, log: Path
) -> subprocess.Popen[bytes]:
    """``foreshock worker`` as a child process (its output in ``log``)."""
    full = {**os.environ, **env}
    out = log.open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "foreshock.cli.app",
            "worker",
            "--topology",
            str(topology),
            "--home",
            str(home),
            "--loglevel",
            "info",
        ],
        env=full,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


@dataclass
class Observed:
    incidents: dict[str, Incident] = field(default_factory=dict)
    reports: list[RootCauseReport] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    dead_letters: list[dict[str, str]] = field(default_factory=list)
    done: set[int] = field(default_factory=set)


def observe(settings: Settings, run: str | None = None, timeout: float = 5.0) -> Observed:
    """Read every output topic from the beginning (a fresh consumer group)."""
    from confluent_kafka import Consumer

    names = TopicNames(settings.kafka_topic_prefix)
    consumer = Consumer(
        KafkaConnection.from_settings(settings).config(
            {
                "group.id": f"observer-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "log_level": 2,
            }
        )
    )
    consumer.subscribe(
        [names.incidents, names.reports, names.alerts, names.dead_letters, names.control]
    )
    seen = Observed()
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < timeout:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            idle_since = time.monotonic()
            value = msg.value() or b""
            if msg.topic() == names.dead_letters:
                seen.dead_letters.append(orjson.loads(value))
                continue
            try:
                m = decode(value)
            except SchemaError:  # malformed input is the dead-letter topic's business
                continue
            if run is not None and m.run != run:
                continue
            if m.kind == "incident":
                prev = seen.incidents.get(m.record.id)
                if prev is None or m.record.version >= prev.version:
                    seen.incidents[m.record.id] = m.record
            elif m.kind == "report":
                seen.reports.append(m.record)
            elif m.kind == "alert":
                seen.alerts.append(m.record)
            elif m.kind == "done":
                seen.done.add(m.source)
    finally:
        consumer.close()
    return seen


def wait_done(settings: Settings, run: str, timeout: float = 300.0) -> Observed:
    """Wait until every correlate partition has finished ``run``; return what it produced."""
    deadline = time.monotonic() + timeout
    while True:
        seen = observe(settings, run, timeout=3.0)
        if len(seen.done) >= settings.kafka_partitions:
            return seen
        if time.monotonic() > deadline:
            raise ForeshockError(
                f"run {run} not finished after {timeout:.0f} s "
                f"({len(seen.done)}/{settings.kafka_partitions} partitions done)"
            )
        time.sleep(1.0)
