"""Throughput of the Kafka path, end to end, next to the embedded figure on the same replay.

A simulated replay is published flat out to fresh topics; ``workers`` real
``foreshock worker`` processes consume it; the clock runs from the first publish to the
last ``done`` marker (every sample detected, every anomaly correlated, every incident,
report and alert sent). The embedded runtime then runs the same replay in-process.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from foreshock.pipelines.runtimes.distributed.cluster import start_worker, wait_done
from foreshock.pipelines.runtimes.distributed.publish import publish_replay
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.settings import Settings
from foreshock.schemas.errors import ForeshockError
from foreshock.sim.simulator import simulate


def run_kafka_bench(
    workers: int = 1,
    hours: float = 6.0,
    partitions: int = 4,
    fault: str = "mysql_lock_contention",
    seed: int = 1,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        replay = simulate(fault, seed=seed, hours=hours).write(tmp / "replay")
        env = {
            "FORESHOCK_KAFKA_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
            "FORESHOCK_KAFKA_PARTITIONS": str(partitions),
            "FORESHOCK_STORE_BACKEND": "sqlite",
            "FORESHOCK_GRAPH_BACKEND": "embedded",
        }
        # as the workers will: the environment, then foreshock.toml (Kafka's TLS / SASL too)
        settings = Settings.load(env={**os.environ, **env})
        procs = []
        try:
            for i in range(workers):
                log = tmp / f"worker-{i}.log"
                home = tmp / f"home-{i}"  # one state folder per worker
                procs.append(start_worker(replay / "topology.yaml", env, home, log))
            deadline = time.monotonic() + 120
            for i, _ in enumerate(procs):
                log = tmp / f"worker-{i}.log"
                while b"Worker]: Ready" not in (log.read_bytes() if log.exists() else b""):
                    if time.monotonic() > deadline:
                        raise ForeshockError(f"worker {i} not ready: see {log}")
                    time.sleep(0.3)
            started = time.perf_counter()
            pub = publish_replay(replay, settings)
            wait_done(settings, pub.run, timeout=1800)
            seconds = time.perf_counter() - started
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(30)
        emb = run_replay(replay, tmp / "emb")
    return {
        "kafka": {
            "workers": workers,
            "partitions": partitions,
            "samples": pub.samples,
            "messages": pub.messages,
            "seconds": round(seconds, 2),
            "samples_per_s": pub.samples / seconds,
            "samples_per_s_per_worker": pub.samples / seconds / workers,
        },
        "embedded": {
            "samples": emb.samples,
            "seconds": round(emb.seconds, 2),
            "samples_per_s": emb.samples / emb.seconds,
        },
    }
