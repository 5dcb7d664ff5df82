"""Kafka over SASL_SSL, OpenSearch and Neo4j with TLS + auth, and a worker on all three.

The secure servers come from ``infra/local/services.sh`` (``make services-up`` starts them
with the others): Kafka's SASL_SSL listener, ``neo4j-secure`` and ``opensearch-secure``,
with a throwaway CA. Their settings are what ``services.sh env --secure`` prints, so the
tests follow whatever ports and folders the script was given. A wrong password and an
untrusted certificate must each be one clear line that says what to set.
Without the servers the tests fail, unless ``FORESHOCK_SKIP_INTEGRATION=1`` (skipped).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from foreshock.enrichers.stores.base import StoreError
from foreshock.enrichers.stores.opensearch import OpenSearchReportStore
from foreshock.graph.backends.neo4j_graph import Neo4jGraph
from foreshock.pipelines.backends import open_graph, open_store
from foreshock.pipelines.kafka.connection import KafkaConnection
from foreshock.pipelines.kafka.topics import TopicNames, ensure_topics
from foreshock.pipelines.runtimes.distributed.cluster import start_worker, wait_done
from foreshock.pipelines.runtimes.distributed.publish import publish_replay
from foreshock.pipelines.runtimes.embedded import RunResult, run_replay
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.logs.kafka_source import (
    KafkaLogSource,
    LogMessage,
    ensure_log_topic,
    publish_log_lines,
)
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.topology import Topology
from foreshock.sim.simulator import simulate

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "infra" / "local" / "services.sh"
TAG = uuid.uuid4().hex[:8]  # node ids of this run: the secure Neo4j keeps other runs' graphs
TOPOLOGY = Topology.model_validate(
    {
        "nodes": [{"id": f"web-{TAG}", "kind": "service"}, {"id": f"cache-{TAG}", "kind": "redis"}],
        "edges": [{"from": f"web-{TAG}", "to": f"cache-{TAG}", "type": "depends_on"}],
    }
)


def _unavailable(message: str) -> None:
    if os.environ.get("FORESHOCK_SKIP_INTEGRATION") == "1":
        pytest.skip(message)
    pytest.fail(message)


@pytest.fixture(scope="session")
def secure_env() -> dict[str, str]:
    """The ``FORESHOCK_*`` settings of the secure servers (``services.sh env --secure``)."""
    out = subprocess.run(
        ["bash", str(SERVICES), "env", "--secure"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    env: dict[str, str] = {}
    for line in out.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            key, _, value = words[1].partition("=")
            env[key] = value
    assert env.get("FORESHOCK_KAFKA_SECURITY_PROTOCOL") == "SASL_SSL", out
    return env


def secure_settings(env: dict[str, str], **extra: str) -> Settings:
    """Settings of the secure servers (and ``extra``), whatever this process's env says."""
    plain = {k: v for k, v in os.environ.items() if not k.startswith("FORESHOCK_")}
    return Settings.load(env={**plain, **env, **extra}, config=None)


@pytest.fixture(scope="session")
def secure(secure_env: dict[str, str]) -> Settings:
    """Settings of the secure servers, once each answered a real call."""
    s = secure_settings(secure_env)
    problems = []
    try:
        ensure_log_topic(KafkaConnection.from_settings(s), "foreshock-secure-check", timeout=20)
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        Neo4jGraph.connect(
            s.neo4j_uri, s.neo4j_user, s.neo4j_password, ca_file=s.neo4j_ca_file
        ).close()
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        OpenSearchReportStore.connect(
            s.opensearch_url,
            s.opensearch_user,
            s.opensearch_password,
            ca_file=s.opensearch_ca_file,
            prefix="fs-secure-check",
        ).close()
    except StoreError as exc:
        problems.append(str(exc))
    if problems:
        _unavailable("secure servers not ready (run `make services-up`): " + " | ".join(problems))
    return s


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


# --- Kafka over SASL_SSL ------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_over_sasl_ssl_carries_log_lines(secure: Settings, mechanism: str) -> None:
    conn = KafkaConnection.from_settings(secure.updated(kafka_sasl_mechanism=mechanism))
    prefix = f"itsec{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.logs"
    ensure_log_topic(conn, topic)
    line = "1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp"
    assert publish_log_lines(conn, topic, [LogMessage("redis-cache", line, "redis")]) == 1
    records = []
    with KafkaLogSource(conn, prefix=prefix) as source:
        deadline = time.monotonic() + 60
        while not records and time.monotonic() < deadline:
            records += source.poll(timeout=1.0)
    assert [(r.resource, r.message) for r in records] == [
        ("redis-cache", "Ready to accept connections tcp")
    ]


def test_kafka_wrong_password_is_one_clear_line(secure: Settings) -> None:
    conn = KafkaConnection.from_settings(secure.updated(kafka_sasl_password="not-the-password"))
    started = time.monotonic()
    with pytest.raises(ConfigError) as exc:
        ensure_topics(conn, TopicNames("itsec-wrong"), 1, timeout=30)
    message = one_line(exc)
    assert message.startswith(f"Kafka at {secure.kafka_bootstrap} (SASL_SSL) rejected the ")
    assert "kafka_sasl_password" in message and "not-the-password" not in message
    assert time.monotonic() - started < 15, "a rejected login must not wait for the timeout"


def test_kafka_untrusted_certificate_is_one_clear_line(secure: Settings) -> None:
    conn = KafkaConnection.from_settings(secure.updated(kafka_ssl_cafile=""))  # system CAs
    with pytest.raises(ConfigError) as exc:
        ensure_topics(conn, TopicNames("itsec-untrusted"), 1, timeout=30)
    message = one_line(exc)
    assert "TLS certificate is not trusted" in message and "kafka_ssl_cafile" in message


def test_a_plain_client_on_the_tls_listener_is_told_about_tls(secure: Settings) -> None:
    conn = KafkaConnection(secure.kafka_bootstrap)  # PLAINTEXT on the SASL_SSL port
    with pytest.raises(ConfigError) as exc:
        ensure_topics(conn, TopicNames("itsec-plain"), 1, timeout=3)
    message = one_line(exc)
    assert message.startswith(f"Kafka not reachable at {secure.kafka_bootstrap}")
    assert "kafka_security_protocol" in message


# --- OpenSearch with TLS and auth ---------------------------------------------------------


def report(incident: str) -> RootCauseReport:
    return RootCauseReport(
        id=f"{incident}-v1",
        incident_id=incident,
        created_at=100.0,
        title="Redis memory exhaustion on redis-cache",
        summary="redis-cache evicted keys at maxmemory; checkout latency rose.",
        root_cause_resource="redis-cache",
        failure_mode="memory_exhaustion",
    )


@pytest.fixture
def index_prefix(secure: Settings) -> Iterator[str]:
    prefix = f"fs-itsec-{uuid.uuid4().hex[:8]}"
    yield prefix
    from foreshock.enrichers.stores.opensearch_client import connect

    client = connect(
        secure.opensearch_url,
        secure.opensearch_user,
        secure.opensearch_password,
        ca_file=secure.opensearch_ca_file,
    )
    client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    for name in [t["name"] for t in _templates(client, prefix)]:
        client.indices.delete_index_template(name=name)
    client.close()


def _templates(client: Any, prefix: str) -> list[dict[str, Any]]:
    from opensearchpy import NotFoundError

    try:
        found = client.indices.get_index_template(name=f"{prefix}-*")
    except NotFoundError:
        return []
    return list(found.get("index_templates", []))


def test_opensearch_over_tls_with_auth_stores_and_finds_reports(
    secure: Settings, index_prefix: str, tmp_path: Path
) -> None:
    settings = secure.updated(store_backend="opensearch", opensearch_index_prefix=index_prefix)
    with closing(open_store(settings, tmp_path)) as store:
        assert store.put(report("inc-sec-1"))
        hits = store.search("redis-cache evicted")
    assert [h.incident_id for h in hits] == ["inc-sec-1"]


def test_opensearch_wrong_password_is_one_clear_line(secure: Settings, tmp_path: Path) -> None:
    settings = secure.updated(store_backend="opensearch", opensearch_password="nope-nope")
    with pytest.raises(StoreError) as exc:
        open_store(settings, tmp_path)
    message = one_line(exc)
    assert message.startswith(f"OpenSearch at {secure.opensearch_url} rejected the credentials")
    assert "opensearch_password" in message


def test_opensearch_untrusted_certificate_is_one_clear_line(
    secure: Settings, tmp_path: Path
) -> None:
    settings = secure.updated(store_backend="opensearch", opensearch_ca_file="")
    with pytest.raises(StoreError) as exc:
        open_store(settings, tmp_path)
    message = one_line(exc)
    assert "its TLS certificate is not trusted (certificate verify failed" in message
    assert "opensearch_ca_file" in message


# --- Neo4j with auth and TLS --------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["bolt+s", "bolt"])  # bolt:// + a CA file: TLS too
def test_neo4j_with_auth_and_tls_holds_the_graph(secure: Settings, scheme: str) -> None:
    uri = f"{scheme}://{secure.neo4j_uri.partition('://')[2]}"
    settings = secure.updated(graph_backend="neo4j", neo4j_uri=uri)
    with open_graph(settings, TOPOLOGY) as opened:
        assert opened.graph.upstream(f"web-{TAG}") == {f"cache-{TAG}"}
        assert opened.history is not None


def test_neo4j_wrong_password_is_one_clear_line(secure: Settings) -> None:
    settings = secure.updated(graph_backend="neo4j", neo4j_password="nope-nope")
    with pytest.raises(ConfigError) as exc:
        open_graph(settings, TOPOLOGY)
    message = one_line(exc)
    assert message.startswith(f"Neo4j at {secure.neo4j_uri} rejected the credentials")


def test_neo4j_untrusted_certificate_is_one_clear_line(secure: Settings) -> None:
    settings = secure.updated(graph_backend="neo4j", neo4j_ca_file="")  # bolt+s: system CAs
    with pytest.raises(ConfigError) as exc:
        open_graph(settings, TOPOLOGY)
    message = one_line(exc)
    assert message.startswith(f"Neo4j at {secure.neo4j_uri}: its TLS certificate is not trusted")
    assert "neo4j_ca_file" in message


def test_neo4j_without_tls_on_a_tls_server_is_told_about_tls(secure: Settings) -> None:
    uri = f"bolt://{secure.neo4j_uri.partition('://')[2]}"
    settings = secure.updated(graph_backend="neo4j", neo4j_uri=uri, neo4j_ca_file="")
    with pytest.raises(ConfigError) as exc:
        open_graph(settings, TOPOLOGY)
    assert "bolt+s://" in one_line(exc)


# --- the command line: one line, nothing secret -------------------------------------------


def foreshock(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    plain = {k: v for k, v in os.environ.items() if not k.startswith("FORESHOCK_")}
    return subprocess.run(
        [sys.executable, "-m", "foreshock.cli.app", *args],
        env={**plain, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_errors_are_one_line_and_show_no_password(
    secure: Settings, secure_env: dict[str, str]
) -> None:
    wrong = {
        **secure_env,
        "FORESHOCK_NEO4J_PASSWORD": "wrong-secret-1",
        "FORESHOCK_OPENSEARCH_CA_FILE": "",
    }
    graph = foreshock(wrong, "graph", "show", f"web-{TAG}")
    assert graph.returncode == 1
    assert graph.stderr.count("\n") == 1 and "rejected the credentials" in graph.stderr
    reports = foreshock(
        {**wrong, "FORESHOCK_STORE_BACKEND": "opensearch"}, "reports", "search", "redis"
    )
    assert reports.returncode == 1
    assert reports.stderr.count("\n") == 1 and "not trusted" in reports.stderr
    for out in (graph.stdout + graph.stderr, reports.stdout + reports.stderr):
        assert "wrong-secret-1" not in out and secure.opensearch_password not in out


def test_config_show_masks_credentials_inside_urls(secure_env: dict[str, str]) -> None:
    from foreshock.cli.app import app

    env = {
        "FORESHOCK_OPENSEARCH_URL": "https://admin:url-secret-1@127.0.0.1:9201",
        "FORESHOCK_NEO4J_URI": "neo4j+s://neo4j:url-secret-2@127.0.0.1:7688",
        "FORESHOCK_KAFKA_BOOTSTRAP": "alice:url-secret-3@127.0.0.1:9094",
        "FORESHOCK_KAFKA_SASL_PASSWORD": "sasl-secret-4",
        "FORESHOCK_CONFIG": os.devnull,
    }
    runner = CliRunner()
    table = runner.invoke(app, ["config", "show"], env={**env, "COLUMNS": "200"})
    as_json = runner.invoke(app, ["config", "show", "--json"], env=env)
    for result in (table, as_json):
        assert result.exit_code == 0, result.output
        assert "url-secret" not in result.output and "sasl-secret" not in result.output
    assert "https://admin:****@127.0.0.1:9201" in table.output
    shown = json.loads(as_json.output)
    assert shown["opensearch_url"] == "https://admin:****@127.0.0.1:9201"
    assert shown["neo4j_uri"] == "neo4j+s://neo4j:****@127.0.0.1:7688"
    assert shown["kafka_bootstrap"] == "alice:****@127.0.0.1:9094"
    assert shown["kafka_sasl_password"] == "****"


# --- a worker on the secure servers finds what the embedded runtime finds -----------------


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate("redis_memory_exhaustion", seed=5, hours=4).write(
        tmp_path_factory.mktemp("secure") / "replay"
    )


@pytest.fixture(scope="module")
def embedded_run(replay: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_replay(replay, tmp_path_factory.mktemp("secure-emb"))


def summary(incidents: list[Incident]) -> list[tuple[str, list[str], list[str]]]:
    return sorted((i.id, i.resources, [c.resource for c in i.candidates[:3]]) for i in incidents)


def test_worker_on_the_secure_servers_finds_the_embedded_incidents(
    secure: Settings,
    secure_env: dict[str, str],
    replay: Path,
    embedded_run: RunResult,
    index_prefix: str,
    tmp_path: Path,
) -> None:
    """SASL_SSL Kafka (Faust/aiokafka in the worker, confluent-kafka in the publisher and
    the observer), Neo4j over TLS with auth, OpenSearch over TLS with auth."""
    env = {
        **secure_env,
        "FORESHOCK_KAFKA_TOPIC_PREFIX": f"itsec{uuid.uuid4().hex[:8]}",
        "FORESHOCK_KAFKA_PARTITIONS": "4",
        "FORESHOCK_STORE_BACKEND": "opensearch",
        "FORESHOCK_GRAPH_BACKEND": "neo4j",
        "FORESHOCK_OPENSEARCH_INDEX_PREFIX": index_prefix,
    }
    settings = secure_settings(env)
    log = tmp_path / "worker.log"
    worker = start_worker(replay / "topology.yaml", env, tmp_path / "home", log)
    try:
        deadline = time.monotonic() + 120
        while b"Worker]: Ready" not in (log.read_bytes() if log.exists() else b""):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 120 s"
            time.sleep(0.5)
        pub = publish_replay(replay, settings)
        seen = wait_done(settings, pub.run, timeout=300)
        embedded = embedded_run.incidents
        assert summary(list(seen.incidents.values())) == summary(embedded)
        first_pages = [a for a in seen.alerts if a.action == "trigger" and a.revision == 0]
        assert [(a.dedup_key, a.action) for a in first_pages] == [
            (i.id, "trigger") for i in embedded
        ]
        with closing(open_store(settings, tmp_path)) as store:
            deadline = time.monotonic() + 30
            while not (hits := store.search("redis-cache evicted")) and (
                time.monotonic() < deadline
            ):
                time.sleep(1)  # the store agent may still be writing
        assert hits and hits[0].incident_id == embedded[0].id
        with Neo4jGraph.connect(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password,
            ca_file=settings.neo4j_ca_file,
        ) as graph:
            past = {p.id: p for p in graph.history().past_incidents("redis-cache")}
        assert embedded[0].id in past and past[embedded[0].id].root_cause == "redis-cache"
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
