"""Distributed mode on a real Kafka: same answers as embedded, crash-safe, scalable.

Needs the local servers (`make services-up`); `make test` starts them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from foreshock.pipelines.kafka.topics import TopicNames
from foreshock.pipelines.runtimes.distributed.cluster import observe, start_worker, wait_done
from foreshock.pipelines.runtimes.distributed.publish import Published, publish_replay
from foreshock.pipelines.runtimes.embedded import RunResult, run_replay
from foreshock.pipelines.settings import Settings
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.sim.simulator import simulate


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate("redis_memory_exhaustion", seed=5, hours=4).write(
        tmp_path_factory.mktemp("dist") / "replay"
    )


@pytest.fixture(scope="module")
def embedded_run(replay: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_replay(replay, tmp_path_factory.mktemp("emb"))


@pytest.fixture(scope="module")
def embedded(embedded_run: RunResult) -> list[Incident]:
    return embedded_run.incidents


class Cluster:
    def __init__(self, tmp: Path, partitions: int = 4) -> None:
        self.prefix = f"it{uuid.uuid4().hex[:8]}"
        self.env = {
            "FORESHOCK_KAFKA_TOPIC_PREFIX": self.prefix,
            "FORESHOCK_KAFKA_PARTITIONS": str(partitions),
            "FORESHOCK_STORE_BACKEND": "sqlite",
            "FORESHOCK_GRAPH_BACKEND": "embedded",
        }
        self.settings = Settings.load(env={**os.environ, **self.env}, config=None)
        self.tmp = tmp
        self.home = tmp / "home"
        self.workers: list[subprocess.Popen[bytes]] = []

    def start(self, replay: Path, home: Path | None = None) -> subprocess.Popen[bytes]:
        log = self.tmp / f"worker-{len(self.workers)}.log"
        w = start_worker(replay / "topology.yaml", self.env, home or self.home, log)
        self.workers.append(w)
        deadline = time.monotonic() + 90
        while b"Worker]: Ready" not in (log.read_bytes() if log.exists() else b""):
            assert w.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 90 s"
            time.sleep(0.5)
        return w

    def stop(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in self.workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()


@pytest.fixture
def cluster(kafka: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    yield c
    c.stop()


def summary(incidents: list[Incident]) -> list[tuple[str, list[str], list[str]]]:
    return sorted((i.id, i.resources, [c.resource for c in i.candidates[:3]]) for i in incidents)


def test_worker_finds_the_embedded_incidents_and_stores_reports(
    cluster: Cluster, replay: Path, embedded: list[Incident], embedded_run: RunResult
) -> None:
    cluster.start(replay)
    pub = publish_replay(replay, cluster.settings)
    seen = wait_done(cluster.settings, pub.run, timeout=300)
    assert summary(list(seen.incidents.values())) == summary(embedded)
    first_pages = [a for a in seen.alerts if a.action == "trigger" and a.revision == 0]
    assert [(a.dedup_key, a.action) for a in first_pages] == [(i.id, "trigger") for i in embedded]
    # reports are searchable in the worker's store
    from foreshock.enrichers.stores.sqlite import SQLiteReportStore

    with SQLiteReportStore(cluster.home / "reports.sqlite") as store:
        hits = store.search("redis-cache evicted")
    assert hits and hits[0].incident_id == embedded[0].id

    # the forecast stage runs in the worker too: the same forecasts reach its store
    def key(f: Forecast) -> tuple[str, str, float, str, float | None]:
        return (f.resource, f.metric, f.made_at, f.model, f.exhaustion_p50)

    want = sorted(map(key, embedded_run.forecasts))
    assert want, "the embedded run made no forecast"
    deadline = time.monotonic() + 60
    while True:
        with SQLiteReportStore(cluster.home / "reports.sqlite") as store:
            got = sorted(map(key, store.forecasts(latest_only=False)))
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == want


def test_kill_9_mid_replay_loses_nothing_and_pages_once(
    cluster: Cluster, replay: Path, embedded: list[Incident]
) -> None:
    import threading

    first = cluster.start(replay)
    published: list[object] = []
    # paced: 4 h of event time in about 12 s, so the kill lands mid-replay
    publisher = threading.Thread(
        target=lambda: published.append(publish_replay(replay, cluster.settings, speed=1200))
    )
    publisher.start()
    time.sleep(5)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    publisher.join(60)
    pub = published[0]
    assert isinstance(pub, Published)
    assert not observe(cluster.settings, pub.run, timeout=1).done, "replay finished before kill"
    cluster.start(replay)
    seen = wait_done(cluster.settings, pub.run, timeout=300)
    assert summary(list(seen.incidents.values())) == summary(embedded)
    lines = [orjson.loads(x) for x in (cluster.home / "alerts.jsonl").read_bytes().splitlines()]
    keys = [(x["dedup_key"], x["action"], x.get("revision", 0)) for x in lines]
    assert len(keys) == len(set(keys)), f"an alert was sent twice: {keys}"
    assert (embedded[0].id, "trigger", 0) in keys
    from foreshock.enrichers.stores.sqlite import SQLiteReportStore

    with SQLiteReportStore(cluster.home / "reports.sqlite") as store:
        ids = [r.id for r in store.recent(1000)]
    assert len(ids) == len(set(ids)) and ids


def test_two_workers_share_four_partitions_with_the_same_result(
    cluster: Cluster, replay: Path, embedded: list[Incident]
) -> None:
    cluster.start(replay)
    cluster.start(replay, home=cluster.tmp / "home-2")  # one state folder per worker
    pub = publish_replay(replay, cluster.settings)
    seen = wait_done(cluster.settings, pub.run, timeout=300)
    assert summary(list(seen.incidents.values())) == summary(embedded)
    logs = [p.read_text() for p in sorted(cluster.tmp.glob("worker-*.log"))]
    assert all("assigned" in log.lower() or "Ready" in log for log in logs)


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_worker_goes_on(
    cluster: Cluster, replay: Path, embedded: list[Incident]
) -> None:
    from confluent_kafka import Producer

    w = cluster.start(replay)
    names = TopicNames(cluster.settings.kafka_topic_prefix)
    prod = Producer({"bootstrap.servers": cluster.settings.kafka_bootstrap, "log_level": 2})
    prod.produce(names.metrics, b"not json at all", partition=0)
    prod.produce(
        names.metrics, b'{"t": "batch", "r": {"timestamp": 1, "resources": ["a"]}}', partition=1
    )
    prod.produce(names.anomalies, b'{"t": "alien"}', partition=2)
    prod.produce(names.incidents, b'{"t": "incident", "r": {"id": 3}}', partition=0)
    prod.flush(10)
    pub = publish_replay(replay, cluster.settings)
    seen = wait_done(cluster.settings, pub.run, timeout=300)
    assert w.poll() is None, "the worker must keep running"
    reasons = sorted(d["reason"].split(":")[0] for d in seen.dead_letters)
    assert len(seen.dead_letters) == 4, seen.dead_letters
    assert "not JSON" in reasons and "unknown message kind 'alien'" in reasons
    assert summary(list(seen.incidents.values())) == summary(embedded)


def test_on_neo4j_and_opensearch_reports_are_searchable_and_history_is_in_the_graph(
    kafka: str, tmp_path: Path, replay: Path, embedded: list[Incident]
) -> None:
    c = Cluster(tmp_path)
    index_prefix = f"it{uuid.uuid4().hex[:8]}"
    c.env.update(
        FORESHOCK_STORE_BACKEND="opensearch",
        FORESHOCK_GRAPH_BACKEND="neo4j",
        FORESHOCK_OPENSEARCH_INDEX_PREFIX=index_prefix,
    )
    c.settings = Settings.load(env={**os.environ, **c.env}, config=None)
    try:
        c.start(replay)
        pub = publish_replay(replay, c.settings)
        seen = wait_done(c.settings, pub.run, timeout=300)
        assert summary(list(seen.incidents.values())) == summary(embedded)
        from foreshock.pipelines.backends import open_store

        store = open_store(c.settings, c.home)
        deadline = time.monotonic() + 30
        while not (hits := store.search("redis-cache evicted")) and time.monotonic() < deadline:
            time.sleep(1)  # the store agent may still be writing
        assert hits and hits[0].incident_id == embedded[0].id
        from foreshock.graph.backends.neo4j_graph import Neo4jGraph

        s = c.settings
        with Neo4jGraph.connect(
            s.neo4j_uri, s.neo4j_user, s.neo4j_password, s.neo4j_database
        ) as graph:
            past = graph.history().past_incidents("redis-cache")
        assert embedded[0].id in [p.id for p in past]
        assert next(p for p in past if p.id == embedded[0].id).root_cause == "redis-cache"
    finally:
        c.stop()
        from opensearchpy import OpenSearch

        OpenSearch(c.settings.opensearch_url).indices.delete(index=f"{index_prefix}-*")


def test_stored_state_that_is_foreign_or_tampered_is_refused_and_the_worker_relearns(
    cluster: Cluster, replay: Path, embedded: list[Incident]
) -> None:
    """A snapshot on the state topic is data: one that is not foreshock's, or was altered,
    is refused with a warning (never executed), and that partition relearns from the stream."""
    import pickle

    from confluent_kafka import Producer

    from foreshock.pipelines.kafka.state_topic import ensure_state_topic
    from foreshock.schemas.state import dump_state

    s = cluster.settings
    state = f"{s.kafka_topic_prefix}.state"
    ensure_state_topic(s.kafka_bootstrap, state, s.kafka_partitions)
    forged = bytearray(dump_state("partition-detector", {"offset": 10**9, "stages": {}}))
    forged[-1] ^= 0x01  # altered after it was written: the checksum no longer matches

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("touch /tmp/foreshock-pwned",))

    prod = Producer({"bootstrap.servers": s.kafka_bootstrap, "log_level": 2})
    prod.produce(state, pickle.dumps(Boom()), key=b"detect:0", partition=0)
    prod.produce(state, bytes(forged), key=b"detect:1", partition=1)
    prod.produce(state, b"\x00" * 40, key=b"correlate:2", partition=2)
    prod.flush(10)
    Path("/tmp/foreshock-pwned").unlink(missing_ok=True)
    w = cluster.start(replay)
    pub = publish_replay(replay, s)
    seen = wait_done(s, pub.run, timeout=300)
    assert w.poll() is None, "the worker must keep running"
    assert not Path("/tmp/foreshock-pwned").exists(), "a stored state was executed"
    log = (cluster.tmp / "worker-0.log").read_text()
    assert "detect partition 0: stored state refused (not a foreshock snapshot" in log
    assert "detect partition 1: stored state refused (snapshot checksum mismatch" in log
    assert "correlate partition 2: stored state refused" in log
    assert summary(list(seen.incidents.values())) == summary(embedded)


def test_the_embedded_runtime_honours_the_neo4j_graph_backend(
    neo4j_settings: Settings, replay: Path, embedded: list[Incident], tmp_path: Path
) -> None:
    """``FORESHOCK_GRAPH_BACKEND=neo4j``: ``foreshock run --replay`` ranks on Neo4j (the same
    answers as networkx) and records the incident history there, as the worker does."""
    from foreshock.graph.backends.neo4j_graph import Neo4jGraph

    result = run_replay(replay, tmp_path / "home", settings=neo4j_settings)
    assert summary(result.incidents) == summary(embedded)
    s = neo4j_settings
    with Neo4jGraph.connect(s.neo4j_uri, s.neo4j_user, s.neo4j_password, s.neo4j_database) as g:
        past = {p.id: p for p in g.history().past_incidents("redis-cache")}
    assert embedded[0].id in past and past[embedded[0].id].root_cause == "redis-cache"


@pytest.fixture
def neo4j_settings() -> Settings:
    return Settings.load(
        env={**os.environ, "FORESHOCK_GRAPH_BACKEND": "neo4j", "FORESHOCK_STORE_BACKEND": "sqlite"},
        config=None,
    )
