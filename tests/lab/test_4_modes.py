"""One window of the lab's history, three runtimes, the same incidents (issue 9).

The last ``WINDOW`` of the lab's Prometheus (after ``test_3_faults`` it holds the injected
faults) and the servers' logs are judged three ways, all on the Neo4j graph backend
(``FORESHOCK_GRAPH_BACKEND=neo4j``, which each runtime must honour):

- live: :func:`run_live` in window mode, reading Prometheus itself;
- embedded: the window recorded as a replay folder (the code of ``foreshock record``), then
  ``run_replay`` with the same log files (``foreshock run --replay DIR --logs ...``);
- distributed: that replay and the logs published to Kafka, judged by a worker process.

Needs the local Kafka and Neo4j (``make services-up``; ``make test`` starts them).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from foreshock_lab import LabConfig
from lab_live import log_specs, source

from foreshock.pipelines.runtimes.distributed.cluster import start_worker, wait_done
from foreshock.pipelines.runtimes.distributed.publish import publish_replay
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.runtimes.live import run_live
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.logs.tail import LogFiles
from foreshock.pipelines.sources.record import write_replay
from foreshock.schemas.incident import Incident

WINDOW = 25 * 60.0  # seconds of history judged
LAG = 15.0  # the newest scrapes may still be in flight


def summary(incidents: list[Incident]) -> list[tuple[str, list[str], list[str], float]]:
    return sorted(
        (i.id, i.resources, [c.resource for c in i.candidates[:3]], i.opened_at) for i in incidents
    )


def _settings(prefix: str) -> Settings:
    env = {
        **os.environ,
        "FORESHOCK_GRAPH_BACKEND": "neo4j",
        "FORESHOCK_STORE_BACKEND": "sqlite",
        "FORESHOCK_FORECAST": "false",  # a 25-minute window holds no forecast
        "FORESHOCK_KAFKA_TOPIC_PREFIX": prefix,
    }
    return Settings.load(env=env, config=None)


def _kafka_up(settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 2}).list_topics(
            timeout=10
        )
    except Exception as exc:
        pytest.fail(f"Kafka not reachable at {settings.kafka_bootstrap}: {exc}: make services-up")


def test_live_window_replay_and_worker_find_the_same_incidents(
    lab: LabConfig, tmp_path: Path
) -> None:
    prefix = f"lab{uuid.uuid4().hex[:8]}"
    settings = _settings(prefix)
    _kafka_up(settings)
    end = time.time() - LAG
    window = (end - WINDOW, end)
    specs = log_specs(lab)

    src = source(lab, backfill=0.0)
    live = run_live(src, tmp_path / "live", settings, logs=LogFiles(specs), window=window)

    recorded = tmp_path / "window"
    disc = src.discovery
    assert disc is not None
    samples = write_replay(recorded, src.fetch(*window), disc.topology)
    assert samples == live.samples, "the recording holds other samples than the live run read"
    embedded = run_replay(recorded, tmp_path / "embedded", settings=settings, logs=specs)
    assert embedded.log_records > 0, "the servers' logs were not read"

    env = {
        "FORESHOCK_GRAPH_BACKEND": "neo4j",
        "FORESHOCK_STORE_BACKEND": "sqlite",
        "FORESHOCK_FORECAST": "false",
        "FORESHOCK_KAFKA_TOPIC_PREFIX": prefix,
    }
    log = tmp_path / "worker.log"
    worker = start_worker(recorded / "topology.yaml", env, tmp_path / "worker", log)
    try:
        deadline = time.monotonic() + 90
        while b"Worker]: Ready" not in (log.read_bytes() if log.exists() else b""):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 90 s"
            time.sleep(0.5)
        pub = publish_replay(recorded, settings, logs=specs)
        seen = wait_done(settings, pub.run, timeout=300)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

    found = {
        "live": summary(list(live.incidents.values())),
        "embedded": summary(embedded.incidents),
        "distributed": summary(list(seen.incidents.values())),
    }
    print(f"{len(found['live'])} incidents in the window: {found['live']}")
    assert found["embedded"] == found["live"]
    assert found["distributed"] == found["live"]
