"""Neo4j graph backend and incident history on a real server (``make services-up``).

The backend must answer every question exactly as the embedded networkx backend does, so
ranking and grouping give the same incidents on both runtimes. The tests wipe the test
server's database before each test. Without a server they fail, unless
``FORESHOCK_SKIP_INTEGRATION=1``, in which case they are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import LiteralString

import networkx as nx
import pytest
from neo4j import Driver, GraphDatabase
from typer.testing import CliRunner

from foreshock.cli.graph import graph_app
from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.backends.neo4j_graph import Neo4jGraph
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.settings import Settings
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.incident import Incident, RootCauseCandidate
from foreshock.schemas.topology import Topology
from foreshock.sim.simulator import DEFAULT_TOPOLOGY, load_topology, simulate

PACKS = PackIndex(load_packs())

#: All five edge types, an undeclared edge end, a cycle, a self-loop, two edges resolving
#: to the same pair (the last type wins), an isolated node, and pairs joined by two
#: shortest paths of the same length. (A node declared twice is refused by the topology
#: schema now, before any backend sees it.)
SMALL = Topology.model_validate(
    {
        "nodes": [
            {"id": "api", "kind": "service"},
            {"id": "worker", "kind": "service"},
            {"id": "pg", "kind": "postgresql"},
            {"id": "pg-replica", "kind": "postgresql"},
            {"id": "bus", "kind": "kafka"},
            {"id": "search", "kind": "opensearch"},
            {"id": "h1", "kind": "host"},
            {"id": "h2", "kind": "host"},
            {"id": "lonely", "kind": "redis"},
        ],
        "edges": [
            {"from": "api", "to": "pg", "type": "depends_on"},
            {"from": "api", "to": "bus", "type": "produces_to"},
            {"from": "worker", "to": "bus", "type": "consumes_from"},
            {"from": "worker", "to": "search"},
            {"from": "pg", "to": "pg-replica", "type": "replicates_to"},
            {"from": "pg", "to": "h1", "type": "runs_on"},
            {"from": "bus", "to": "h1", "type": "runs_on"},
            {"from": "pg-replica", "to": "h2", "type": "runs_on"},
            {"from": "api", "to": "h2", "type": "runs_on"},
            {"from": "worker", "to": "h2", "type": "runs_on"},
            {"from": "worker", "to": "h2", "type": "depends_on"},
            {"from": "search", "to": "h1", "type": "depends_on"},
            {"from": "search", "to": "h1", "type": "runs_on"},
            {"from": "search", "to": "external-dns", "type": "depends_on"},
            {"from": "api", "to": "worker", "type": "depends_on"},
            {"from": "worker", "to": "api", "type": "depends_on"},
            {"from": "bus", "to": "bus", "type": "depends_on"},
        ],
    }
)


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    """A driver on the test server; fails (or skips, if asked to) when it does not answer."""
    s = Settings.load()
    auth = (s.neo4j_user, s.neo4j_password) if s.neo4j_password else None
    drv = GraphDatabase.driver(s.neo4j_uri, auth=auth, connection_timeout=5.0)
    try:
        drv.verify_connectivity()
    except Exception as exc:
        drv.close()
        message = f"Neo4j not reachable at {s.neo4j_uri}: run `make services-up` ({exc})"
        if os.environ.get("FORESHOCK_SKIP_INTEGRATION") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    yield drv
    drv.close()


def wipe(drv: Driver) -> None:
    drv.execute_query("MATCH (n) DETACH DELETE n", database_=Settings.load().neo4j_database)


@pytest.fixture
def neo(driver: Driver) -> Neo4jGraph:
    """An empty graph: this test's data only."""
    wipe(driver)
    return Neo4jGraph(driver, Settings.load().neo4j_database)


def count(neo: Neo4jGraph, query: LiteralString) -> int:
    records, _, _ = neo.driver.execute_query(query, database_=neo.database)
    return int(records[0]["n"])


def assert_same_answers(neo: Neo4jGraph, topo: Topology) -> None:
    emb = NetworkXGraph(topo)
    neo.load(topo)
    ids = sorted(emb.nodes())
    assert neo.nodes() == ids
    probe = [*ids, "no-such-resource"]
    for r in probe:
        assert neo.kind(r) == emb.kind(r), r
        assert neo.upstream(r) == emb.upstream(r), r
        assert neo.downstream(r) == emb.downstream(r), r
        assert neo.hosts_of(r) == emb.hosts_of(r), r
    ref = nx.DiGraph()
    ref.add_nodes_from(ids)
    ref.add_edges_from(topo.dependencies())
    for a, b in product(probe, probe):
        for limit in (0, 1, 2, 3, len(ids)):
            assert neo.distance(a, b, limit) == emb.distance(a, b, limit), (a, b, limit)
        expected = emb.dependency_path(a, b)
        got = neo.dependency_path(a, b)
        if expected is None:
            assert got is None, (a, b)
        else:  # same length; among ties, the path whose ids sort first
            assert got is not None and len(got) == len(expected), (a, b, got, expected)
            assert got == min(nx.all_shortest_paths(ref, a, b)), (a, b)


@pytest.mark.parametrize("path_prefetch", [0, 256], ids=["path-per-pair", "paths-per-target"])
def test_every_answer_equals_networkx_on_the_fleet(neo: Neo4jGraph, path_prefetch: int) -> None:
    neo.path_prefetch = path_prefetch
    assert_same_answers(neo, load_topology())


@pytest.mark.parametrize("path_prefetch", [0, 256], ids=["path-per-pair", "paths-per-target"])
def test_every_answer_equals_networkx_on_all_edge_types(
    neo: Neo4jGraph, path_prefetch: int
) -> None:
    neo.path_prefetch = path_prefetch
    assert {e.type for e in SMALL.edges} == {
        "depends_on",
        "replicates_to",
        "runs_on",
        "produces_to",
        "consumes_from",
    }
    assert_same_answers(neo, SMALL)
    assert neo.kind("external-dns") == "other" and neo.kind("lonely") == "redis"
    assert neo.hosts_of("search") == {"h1"} and neo.hosts_of("worker") == set()


def test_add_node_and_upserts_match_networkx(neo: Neo4jGraph) -> None:
    emb = NetworkXGraph(SMALL)
    neo.load(SMALL)
    assert neo.upstream("pg-replica") == {"pg", "h1", "h2"}  # fills the memo
    for g in (emb, neo):
        g.add_node("new-cache", "redis")
        g.add_node("pg", "redis")  # exists: keeps its kind
        g.load(
            Topology.model_validate(
                {
                    "nodes": [{"id": "h1", "kind": "other"}],
                    "edges": [{"from": "h1", "to": "new-cache"}],
                }
            )
        )
    assert neo.kind("new-cache") == "redis" and neo.kind("pg") == "postgresql"
    assert neo.kind("h1") == emb.kind("h1") == "other"
    assert (
        neo.upstream("pg-replica") == emb.upstream("pg-replica") == {"pg", "h1", "h2", "new-cache"}
    )
    assert neo.nodes() == sorted(emb.nodes())


def test_load_is_idempotent(neo: Neo4jGraph) -> None:
    fleet = load_topology()
    neo.load(fleet)
    first = neo.counts()
    neo.load(fleet)
    neo.load(fleet)
    assert neo.counts() == first == (13, 18)
    assert count(neo, "MATCH ()-[d]->() RETURN count(d) AS n") == 18
    assert count(neo, "MATCH (n) RETURN count(n) AS n") == 13


def test_reloading_an_edge_with_another_type_replaces_it_as_in_networkx(neo: Neo4jGraph) -> None:
    fleet = load_topology()
    change = Topology.model_validate({"edges": [{"from": "web", "to": "host-5"}]})
    emb = NetworkXGraph(fleet)
    neo.load(fleet)
    assert neo.hosts_of("web") == emb.hosts_of("web") == {"host-5"}
    emb.load(change)
    neo.load(change)
    assert neo.hosts_of("web") == emb.hosts_of("web") == set()
    assert neo.counts() == (13, 18)


def test_memo_bounds_round_trips(neo: Neo4jGraph) -> None:
    neo.load(load_topology())
    before = neo.queries
    for _ in range(3):
        neo.downstream("redis-cache")
        neo.upstream("web")
        neo.distance("web", "host-1", 2)
        neo.distance("host-1", "web", 2)
        neo.dependency_path("web", "host-1")
    # kinds, downstream, upstream, one neighbourhood, downstream(host-1), paths into host-1
    assert neo.queries - before == 6
    assert neo.dependency_path("orders", "host-1") == ["orders", "redis-cache", "host-1"]
    assert neo.queries - before == 6
    neo.add_node("x")
    neo.downstream("redis-cache")
    assert neo.queries - before == 9  # add_node, kinds, downstream again


# --- ranking and grouping on simulated faults ------------------------------------------

FAULTS = ("redis_memory_exhaustion", "mysql_lock_contention", "kafka_consumer_lag")


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for i, fault in enumerate(FAULTS):
        base = tmp_path_factory.mktemp(fault)
        replay = simulate(fault, seed=i + 2, hours=3).write(base / "replay")
        result = run_replay(replay, home=base / "home")
        out[fault] = result.incidents
    return out


def candidates(ranked: list[RootCauseCandidate]) -> list[tuple[object, ...]]:
    return [
        (
            c.resource,
            c.score,
            c.kind,
            c.failure_mode,
            c.evidence.explained_resources,
            c.evidence.parts,
            [(p[0], p[-1], len(p)) for p in c.evidence.paths],
        )
        for c in ranked
    ]


def test_ranking_is_the_same_on_both_backends(
    neo: Neo4jGraph, replays: dict[str, list[Incident]]
) -> None:
    fleet = load_topology()
    neo.load(fleet)
    embedded = RootCauseRanker(NetworkXGraph(fleet), PACKS)
    on_neo4j = RootCauseRanker(neo, PACKS)
    compared = 0
    for fault, incidents in replays.items():
        assert incidents, fault
        for inc in incidents:
            assert inc.anomalies
            expected = embedded.rank(inc.anomalies)
            assert candidates(on_neo4j.rank(inc.anomalies)) == candidates(expected), fault
            compared += 1
    assert compared >= len(FAULTS)


def test_grouping_is_the_same_on_both_backends(
    neo: Neo4jGraph, replays: dict[str, list[Incident]]
) -> None:
    fleet = load_topology()
    neo.load(fleet)
    emb = NetworkXGraph(fleet)
    for incidents in replays.values():
        anomalies = sorted(
            {
                (a.detected_at, a.resource, a.metric): a for i in incidents for a in i.anomalies
            }.items()
        )
        out = []
        for g in (emb, neo):
            grouper = IncidentGrouper(g, RootCauseRanker(g, PACKS))
            emitted = [inc for _, a in anomalies for inc in grouper.process(a)]
            out.append([(i.id, i.resources, candidates(i.candidates)) for i in emitted])
        assert out[0] == out[1] and out[0]


# --- incident history -------------------------------------------------------------------


def incident(
    id: str, opened: float, version: int = 1, status: str = "open", root: str = "redis-cache"
) -> Incident:
    return Incident(
        id=id,
        opened_at=opened,
        updated_at=opened + 60 * version,
        status=status,  # type: ignore[arg-type]
        version=version,
        resources=sorted({root, "web", "orders"}),
        candidates=[
            RootCauseCandidate(
                resource=root, kind="redis", score=0.9, failure_mode="memory_exhaustion"
            ),
            RootCauseCandidate(resource="orders", kind="service", score=0.4),
        ],
    )


def test_record_incident_is_an_idempotent_versioned_upsert(neo: Neo4jGraph) -> None:
    neo.load(load_topology())
    history = neo.history()
    assert history.record_incident(incident("inc-a", 100.0))
    assert history.record_incident(incident("inc-a", 100.0))
    assert count(neo, "MATCH (i:Incident) RETURN count(i) AS n") == 1
    assert count(neo, "MATCH (:Incident)-[t:TOUCHED]->() RETURN count(t) AS n") == 3
    assert count(neo, "MATCH (f:FailureMode) RETURN count(f) AS n") == 1

    assert history.record_incident(incident("inc-a", 100.0, version=2, status="resolved"))
    assert not history.record_incident(incident("inc-a", 100.0, version=1))  # stale: ignored
    [past] = history.past_incidents("web")
    assert (past.status, past.version, past.updated_at) == ("resolved", 2, 220.0)
    assert count(neo, "MATCH (:Incident)-[r:ROOT_CAUSE]->() RETURN count(r) AS n") == 1
    assert count(neo, "MATCH (:Incident)-[t:TOUCHED]->() RETURN count(t) AS n") == 3
    assert neo.counts() == (13, 18)  # history adds no resources the topology has


def test_past_incidents_newest_first_with_cause_and_mode(neo: Neo4jGraph) -> None:
    neo.load(load_topology())
    history = neo.history()
    history.record_incident(incident("inc-old", 100.0))
    history.record_incident(incident("inc-new", 5000.0, root="mysql-primary"))
    history.record_incident(incident("inc-mid", 2000.0))
    past = history.past_incidents("web")
    assert [p.id for p in past] == ["inc-new", "inc-mid", "inc-old"]
    assert past[0].root_cause == "mysql-primary" and past[0].resources == [
        "mysql-primary",
        "orders",
        "web",
    ]
    assert (past[1].root_cause, past[1].failure_mode, past[1].root_cause_score) == (
        "redis-cache",
        "memory_exhaustion",
        0.9,
    )
    assert [p.id for p in history.past_incidents("redis-cache", limit=1)] == ["inc-mid"]
    assert history.past_incidents("host-3") == []
    assert history.past_incidents("not-a-resource") == []


# --- CLI ----------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_load_show_and_incidents(neo: Neo4jGraph, tmp_path: Path) -> None:
    topo = tmp_path / "topology.yaml"
    topo.write_text(DEFAULT_TOPOLOGY.read_text())
    for _ in range(2):
        res = runner.invoke(graph_app, ["load", str(topo)], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "13 resources and 18 dependencies" in " ".join(res.output.split())

    res = runner.invoke(graph_app, ["show", "redis-cache"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "host-1" in res.output and "orders" in res.output and "web" in res.output

    neo.history().record_incident(incident("inc-1", 100.0))
    neo.history().record_incident(incident("inc-2", 900.0, root="mysql-primary"))
    res = runner.invoke(graph_app, ["incidents", "orders", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [(r["id"], r["root_cause"]) for r in rows] == [
        ("inc-2", "mysql-primary"),
        ("inc-1", "redis-cache"),
    ]
    res = runner.invoke(graph_app, ["incidents", "orders", "--limit", "1"])
    assert res.exit_code == 0 and "inc-2" in res.output and "inc-1" not in res.output


def test_cli_says_in_one_line_when_neo4j_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORESHOCK_NEO4J_URI", "bolt://127.0.0.1:1")
    res = runner.invoke(graph_app, ["incidents", "web"])
    assert isinstance(res.exception, ConfigError)
    message = str(res.exception)
    assert "bolt://127.0.0.1:1" in message and "make services-up" in message
    assert "\n" not in message
