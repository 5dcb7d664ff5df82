"""Client-side checks for the local servers started by services.sh.

    probe.py ready SERVICE [--pid PID] [--timeout SECONDS]   wait for a real client call to work
    probe.py smoke [SERVICE ...]                             round-trip data through each server

Exit codes of ``ready``: 0 ready, 1 timed out, 2 client library missing, 3 server process died.
Endpoints come from the same environment variables as services.sh (see README.md), which
also exports the secure servers' CA folder and account. Only loopback addresses are ever
contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
KAFKA = f"{HOST}:{os.environ.get('FORESHOCK_KAFKA_PORT', '9092')}"
NEO4J = f"bolt://{HOST}:{os.environ.get('FORESHOCK_NEO4J_PORT', '7687')}"
OPENSEARCH = f"http://{HOST}:{os.environ.get('FORESHOCK_OPENSEARCH_PORT', '9200')}"
# The secure servers (services.sh exports these; Kafka's SASL_SSL port and Neo4j's TLS port
# are empty when there are none).
KAFKA_SECURE_PORT = os.environ.get("FORESHOCK_KAFKA_SECURE_PORT", "")
NEO4J_SECURE_PORT = os.environ.get("FORESHOCK_NEO4J_SECURE_PORT", "")
NEO4J_SECURE = f"bolt+s://{HOST}:{NEO4J_SECURE_PORT}"
OPENSEARCH_SECURE = f"https://{HOST}:{os.environ.get('FORESHOCK_OPENSEARCH_SECURE_PORT', '9201')}"
TLS_DIR = os.environ.get("FORESHOCK_SERVICES_TLS_DIR", "/tmp/foreshock-services/tls")
CA_FILE = os.path.join(TLS_DIR, "ca.pem")
SECURE_USER = os.environ.get("FORESHOCK_SERVICES_SECURE_USER", "foreshock")
SECURE_PASSWORD = os.environ.get("FORESHOCK_SERVICES_SECURE_PASSWORD", "foreshock-secret")


class NotReady(Exception):
    """The server does not answer (yet)."""


class MissingClient(Exception):
    """The Python client library needed for the check is not installed."""


def _import(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise MissingClient(
            f"python module {module!r} is missing in {sys.executable} ({e}); "
            "run `make install` or point PYTHON at a Python that has the project's dependencies"
        ) from e


# --- readiness: one attempt each; raise NotReady while the server is still starting -------


def _kafka_secure_config() -> dict[str, Any]:
    """confluent-kafka settings for the SASL_SSL listener (SCRAM-SHA-512, the test CA)."""
    return {
        "bootstrap.servers": f"{HOST}:{KAFKA_SECURE_PORT}",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": SECURE_USER,
        "sasl.password": SECURE_PASSWORD,
        "ssl.ca.location": CA_FILE,
        "ssl.endpoint.identification.algorithm": "https",
    }


def _kafka_admin(secure: bool = False) -> Any:
    admin = _import("confluent_kafka.admin")
    # log_level 0: librdkafka would print every refused connection while the broker boots.
    config = {"bootstrap.servers": KAFKA, "log_level": 0, "socket.timeout.ms": 3000}
    if secure:
        config.update(_kafka_secure_config())
    return admin.AdminClient(config)


def kafka_ready(state: dict[str, object]) -> str:
    client: Any = state.get("admin") or state.setdefault("admin", _kafka_admin())
    try:
        md = client.list_topics(timeout=3)
    except Exception as e:  # KafkaException while the listener is not up
        raise NotReady(f"list_topics: {e}") from e
    if not md.brokers:
        raise NotReady("metadata has no brokers yet")
    # Ask for a group coordinator: this creates __consumer_offsets now, so the first
    # consumer group of a test does not spend seconds on COORDINATOR_NOT_AVAILABLE.
    futures = client.describe_consumer_groups(["foreshock-readiness"], request_timeout=5)
    try:
        futures["foreshock-readiness"].result()
    except Exception as e:
        raise NotReady(f"group coordinator: {e}") from e
    brokers, topics = len(md.brokers), len(md.topics)
    secure = ""
    if KAFKA_SECURE_PORT:
        sclient: Any = state.get("secure") or state.setdefault("secure", _kafka_admin(True))
        try:
            sclient.list_topics(timeout=3)
        except Exception as e:
            raise NotReady(f"SASL_SSL listener: {e}") from e
        secure = f"; SASL_SSL {HOST}:{KAFKA_SECURE_PORT} answers"
    return f"kafka {KAFKA}: {brokers} broker(s), {topics} topic(s), group coordinator up{secure}"


def _neo4j_driver(secure: bool, **kwargs: Any) -> Any:
    neo4j = _import("neo4j")
    if not secure:
        return neo4j.GraphDatabase.driver(NEO4J, auth=None, **kwargs)
    return neo4j.GraphDatabase.driver(
        NEO4J_SECURE.replace("bolt+s://", "bolt://"),
        auth=("neo4j", SECURE_PASSWORD),
        encrypted=True,
        trusted_certificates=neo4j.TrustCustomCAs(CA_FILE),
        **kwargs,
    )


def neo4j_ready(state: dict[str, object]) -> str:
    """``RETURN 1`` on the plain DBMS, then on the TLS one (same process) if there is one."""
    plain = _neo4j_return_1(secure=False)
    if not NEO4J_SECURE_PORT:
        return plain
    return f"{plain}; {_neo4j_return_1(secure=True).removeprefix('neo4j ')}"


def _neo4j_return_1(secure: bool) -> str:
    where = NEO4J_SECURE if secure else NEO4J
    try:
        with (
            _neo4j_driver(secure, connection_timeout=3) as driver,
            driver.session() as session,  # session.run: no retries with back-off, unlike
        ):  # driver.execute_query, so readiness is seen as soon as Bolt answers
            ok = session.run("RETURN 1 AS ok").single(strict=True)["ok"]
            agent = driver.get_server_info().agent
    except Exception as e:  # ServiceUnavailable, DatabaseUnavailable, ...
        raise NotReady(f"RETURN 1: {type(e).__name__}: {e}") from e
    if ok != 1:
        raise NotReady(f"unexpected answer {ok!r}")
    return f"neo4j {where}: RETURN 1 ok ({agent})"


def _http_json(
    method: str, path: str, body: object = None, timeout: float = 30, secure: bool = False
) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        (OPENSEARCH_SECURE if secure else OPENSEARCH) + path, data=data, method=method
    )
    req.add_header("Content-Type", "application/json")
    context = None
    if secure:
        token = base64.b64encode(f"{SECURE_USER}:{SECURE_PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=CA_FILE)
    with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
        return json.loads(resp.read() or b"{}")


def opensearch_ready(state: dict[str, object], secure: bool = False) -> str:
    try:
        health = _http_json(
            "GET", "/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10, secure=secure
        )
    except (urllib.error.URLError, OSError, ValueError) as e:
        # the security plugin answers 503 until its index is initialised
        raise NotReady(f"_cluster/health: {e}") from e
    if health.get("status") not in ("yellow", "green"):
        raise NotReady(f"cluster status {health.get('status')!r}")
    where = OPENSEARCH_SECURE if secure else OPENSEARCH
    return f"opensearch {where}: cluster {health['cluster_name']!r} is {health['status']}"


READY: dict[str, Callable[[dict[str, object]], str]] = {
    "kafka": kafka_ready,
    "neo4j": neo4j_ready,
    "opensearch": opensearch_ready,
    "opensearch-secure": lambda state: opensearch_ready(state, secure=True),
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_ready(service: str, pid: int | None, timeout: float) -> int:
    check = READY[service]
    state: dict[str, object] = {}
    deadline = time.monotonic() + timeout
    last = "no attempt yet"
    while True:
        if pid is not None and not _alive(pid):
            print(f"{service}: server process {pid} exited ({last})", file=sys.stderr)
            return 3
        try:
            print(check(state))
            return 0
        except MissingClient as e:
            print(f"{service}: {e}", file=sys.stderr)
            return 2
        except NotReady as e:
            last = str(e)
        if time.monotonic() >= deadline:
            print(f"{service}: not ready after {timeout:.0f}s; last error: {last}", file=sys.stderr)
            return 1
        time.sleep(0.5)


# --- smoke: round-trip data --------------------------------------------------------------


def smoke_kafka() -> None:
    ck = _import("confluent_kafka")
    admin = _kafka_admin()
    topic = f"foreshock-smoke-{uuid.uuid4().hex[:8]}"
    newtopic = _import("confluent_kafka.admin").NewTopic
    admin.create_topics([newtopic(topic, num_partitions=1, replication_factor=1)])[topic].result()

    producer = ck.Producer({"bootstrap.servers": KAFKA})
    for i in range(3):
        producer.produce(topic, key=b"k", value=f"confluent-{i}".encode())
    if producer.flush(15) != 0:
        raise AssertionError("confluent producer: messages not delivered")
    consumer = ck.Consumer(
        {"bootstrap.servers": KAFKA, "group.id": f"{topic}-ck", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(got) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            got.append(msg.value())
    consumer.commit(asynchronous=False)
    consumer.close()
    assert got == [b"confluent-0", b"confluent-1", b"confluent-2"], got
    print(f"  kafka/confluent-kafka {ck.__version__}: produced+consumed 3 on {topic}")

    aiokafka = _import("aiokafka")

    async def roundtrip() -> list[bytes]:
        prod = aiokafka.AIOKafkaProducer(bootstrap_servers=KAFKA)
        await prod.start()
        try:
            for i in range(3):
                await prod.send_and_wait(topic, f"aiokafka-{i}".encode(), key=b"k")
        finally:
            await prod.stop()
        cons = aiokafka.AIOKafkaConsumer(
            topic, bootstrap_servers=KAFKA, group_id=f"{topic}-aio", auto_offset_reset="earliest"
        )
        await cons.start()
        try:
            out: list[bytes] = []
            while len(out) < 6:
                msg = await asyncio.wait_for(cons.getone(), 30)
                out.append(msg.value)
            await cons.commit()
            return out
        finally:
            await cons.stop()

    values = asyncio.run(roundtrip())
    assert values[3:] == [b"aiokafka-0", b"aiokafka-1", b"aiokafka-2"], values
    print(f"  kafka/aiokafka {aiokafka.__version__}: produced 3, consumed all 6 on {topic}")
    admin.delete_topics([topic])[topic].result()
    if KAFKA_SECURE_PORT:
        smoke_kafka_secure()


def smoke_kafka_secure() -> None:
    """The SASL_SSL listener: confluent-kafka with SCRAM-SHA-512, aiokafka with PLAIN."""
    ck = _import("confluent_kafka")
    admin = _kafka_admin(secure=True)
    topic = f"foreshock-smoke-secure-{uuid.uuid4().hex[:8]}"
    newtopic = _import("confluent_kafka.admin").NewTopic
    admin.create_topics([newtopic(topic, num_partitions=1, replication_factor=1)])[topic].result()
    producer = ck.Producer(_kafka_secure_config())
    producer.produce(topic, key=b"k", value=b"confluent-secure")
    if producer.flush(15) != 0:
        raise AssertionError("confluent producer over SASL_SSL: message not delivered")
    aiokafka = _import("aiokafka")

    async def consume() -> list[bytes]:
        cons = aiokafka.AIOKafkaConsumer(
            topic,
            bootstrap_servers=f"{HOST}:{KAFKA_SECURE_PORT}",
            group_id=f"{topic}-aio",
            auto_offset_reset="earliest",
            security_protocol="SASL_SSL",
            sasl_mechanism="PLAIN",
            sasl_plain_username=SECURE_USER,
            sasl_plain_password=SECURE_PASSWORD,
            ssl_context=ssl.create_default_context(cafile=CA_FILE),
        )
        await cons.start()
        try:
            msg = await asyncio.wait_for(cons.getone(), 30)
            return [msg.value]
        finally:
            await cons.stop()

    assert asyncio.run(consume()) == [b"confluent-secure"]
    admin.delete_topics([topic])[topic].result()
    print(f"  kafka SASL_SSL {HOST}:{KAFKA_SECURE_PORT}: SCRAM produce + PLAIN consume ok")


def smoke_neo4j(secure: bool = False) -> None:
    tag = uuid.uuid4().hex[:8]
    with _neo4j_driver(secure) as driver:
        for _ in range(2):  # MERGE twice: must stay one node/edge
            driver.execute_query(
                "MERGE (s:SmokeService {name: $svc}) MERGE (h:SmokeHost {name: $host}) "
                "MERGE (s)-[:RUNS_ON]->(h)",
                svc=f"api-{tag}",
                host=f"host-{tag}",
            )
        records, _, _ = driver.execute_query(
            "MATCH (s:SmokeService {name: $svc})-[r:RUNS_ON]->(h) "
            "RETURN h.name AS host, count(r) AS n",
            svc=f"api-{tag}",
        )
        assert [(r["host"], r["n"]) for r in records] == [(f"host-{tag}", 1)], records
        driver.execute_query(
            "MATCH (n) WHERE n.name IN [$a, $b] DETACH DELETE n", a=f"api-{tag}", b=f"host-{tag}"
        )
        agent = driver.get_server_info().agent
    print(f"  neo4j ({agent}{', TLS + auth' if secure else ''}): MERGE x2 + MATCH ok")
    if not secure and NEO4J_SECURE_PORT:
        smoke_neo4j(secure=True)


def smoke_opensearch(secure: bool = False) -> None:
    osp = _import("opensearchpy")
    if secure:
        client = osp.OpenSearch(
            hosts=[OPENSEARCH_SECURE],
            http_auth=(SECURE_USER, SECURE_PASSWORD),
            ca_certs=CA_FILE,
            verify_certs=True,
            timeout=30,
        )
    else:
        client = osp.OpenSearch(hosts=[OPENSEARCH], use_ssl=False, timeout=30)
    index = f"foreshock-smoke-{uuid.uuid4().hex[:8]}"
    try:
        client.index(
            index=index, id="1", body={"msg": "disk full on broker-1", "svc": "kafka"}, refresh=True
        )
        osp.helpers.bulk(
            client,
            [
                {"_index": index, "_id": str(i), "msg": f"event {i} ok", "svc": "api"}
                for i in range(2, 12)
            ],
            refresh=True,
        )
        hits = client.search(index=index, body={"query": {"match": {"msg": "disk"}}})["hits"]
        assert hits["total"]["value"] == 1 and hits["hits"][0]["_id"] == "1", hits
        count = client.count(index=index)["count"]
        assert count == 11, count
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    version = client.info()["version"]["number"]
    print(f"  opensearch {version}: index + bulk + search ok (opensearch-py {osp.__versionstr__})")


SMOKE: dict[str, Callable[[], None]] = {
    "kafka": smoke_kafka,
    "neo4j": smoke_neo4j,
    "opensearch": smoke_opensearch,
    "opensearch-secure": lambda: smoke_opensearch(secure=True),
}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("ready")
    r.add_argument("service", choices=sorted(READY))
    r.add_argument("--pid", type=int)
    r.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("smoke")
    s.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SMOKE))
    a = p.parse_args(argv)
    if a.cmd == "ready":
        return wait_ready(a.service, a.pid, a.timeout)
    unknown = sorted(set(a.services) - set(SMOKE))
    if unknown:
        p.error(f"unknown service(s) {unknown}; choose from {list(SMOKE)}")
    failed = 0
    for name in a.services or list(SMOKE):
        t0 = time.monotonic()
        try:
            SMOKE[name]()
            print(f"{name}: smoke ok ({time.monotonic() - t0:.1f}s)")
        except MissingClient as e:
            print(f"{name}: smoke FAILED: {e}", file=sys.stderr)
            failed += 1
        except Exception as e:  # report every server, then fail
            print(f"{name}: smoke FAILED: {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
