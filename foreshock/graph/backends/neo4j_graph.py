"""The Neo4j graph backend: the same questions as :mod:`.embedded`, asked in Cypher.

The topology is stored as ``(:Resource {id, kind})`` nodes and one
``(dependent)-[:DEPENDS_ON {type}]->(dependency)`` relationship per dependency pair, with
edge types resolved by :meth:`foreshock.schemas.topology.Topology.dependencies` and the original
edge type kept on the relationship. Like the networkx backend (a ``DiGraph``), a pair has
at most one relationship; when several edges resolve to the same pair, the last one's
type wins.

Every answer comes from a Cypher query and is memoised in process: ranking one incident
asks the same few questions many times, so the round trips stay bounded by the number of
distinct questions. The memo is cleared by :meth:`Neo4jGraph.load`,
:meth:`Neo4jGraph.add_node` and :meth:`Neo4jGraph.clear_cache` (call it when another
process changed the graph).

``dependency_path`` returns, among all shortest directed paths (Cypher ``allShortestPaths``,
or ``ALL SHORTEST`` into a resource from all its dependents at once), the one whose list
of ids sorts first, so the answer does not depend on Neo4j's storage order; networkx may
pick another path of the same length when there are ties.

Examples
--------
Building the backend does not connect; every question does:

>>> from neo4j import GraphDatabase
>>> from foreshock.graph.backends.base import GraphBackend
>>> g = Neo4jGraph(GraphDatabase.driver("bolt://127.0.0.1:7687", auth=None))
>>> isinstance(g, GraphBackend)
True
>>> g.close()

With a server (``make services-up``):

>>> from foreshock.schemas.topology import Topology
>>> with Neo4jGraph.connect("bolt://127.0.0.1:7687") as g:  # doctest: +SKIP
...     g.load(Topology.model_validate({
...         "nodes": [{"id": "web", "kind": "service"}, {"id": "db", "kind": "mysql"},
...                   {"id": "h1", "kind": "host"}],
...         "edges": [{"from": "web", "to": "db", "type": "depends_on"},
...                   {"from": "db", "to": "h1", "type": "runs_on"}]}))
...     sorted(g.downstream("h1")), g.hosts_of("db"), g.dependency_path("web", "h1")
(['db', 'web'], {'h1'}, ['web', 'db', 'h1'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, LiteralString

from neo4j import Driver, ManagedTransaction, Query, RoutingControl

from foreshock.graph.backends.neo4j_connection import neo4j_errors, open_driver
from foreshock.graph.backends.neo4j_history import Neo4jIncidentHistory
from foreshock.schemas.closing import Closing
from foreshock.schemas.topology import Topology
from foreshock.schemas.urls import mask_url

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT resource_id IF NOT EXISTS FOR (r:Resource) REQUIRE r.id IS UNIQUE",
    "CREATE CONSTRAINT incident_id IF NOT EXISTS FOR (i:Incident) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT failure_mode_key IF NOT EXISTS "
    "FOR (f:FailureMode) REQUIRE (f.kind, f.name) IS UNIQUE",
    "CREATE INDEX resource_kind IF NOT EXISTS FOR (r:Resource) ON (r.kind)",
    "CREATE INDEX incident_opened_at IF NOT EXISTS FOR (i:Incident) ON (i.opened_at)",
    "CREATE INDEX depends_on_type IF NOT EXISTS FOR ()-[d:DEPENDS_ON]-() ON (d.type)",
)
"""Constraints and indexes of the graph and the incident history (idempotent).

``FailureMode`` is keyed by ``(kind, name)`` with a composite uniqueness constraint,
which Neo4j Community supports (a ``NODE KEY`` needs Enterprise)."""

_LOAD_NODES: LiteralString = """
UNWIND $nodes AS n
MERGE (r:Resource {id: n.id})
SET r.kind = n.kind
"""
_LOAD_ENDS: LiteralString = """
UNWIND $ids AS id
MERGE (r:Resource {id: id})
ON CREATE SET r.kind = 'other'
"""
_LOAD_DEPS: LiteralString = """
UNWIND $deps AS d
MATCH (a:Resource {id: d.dependent})
MATCH (b:Resource {id: d.dependency})
MERGE (a)-[r:DEPENDS_ON]->(b)
SET r.type = d.type
"""
_ADD_NODE: LiteralString = """
MERGE (r:Resource {id: $id})
ON CREATE SET r.kind = $kind
"""
_KINDS: LiteralString = "MATCH (r:Resource) RETURN r.id AS id, coalesce(r.kind, 'other') AS kind"
_UPSTREAM: LiteralString = """
MATCH (:Resource {id: $id})-[:DEPENDS_ON*1..]->(b:Resource)
RETURN DISTINCT b.id AS id
"""
_DOWNSTREAM: LiteralString = """
MATCH (:Resource {id: $id})<-[:DEPENDS_ON*1..]-(b:Resource)
RETURN DISTINCT b.id AS id
"""
_HOSTS: LiteralString = """
MATCH (:Resource {id: $id})-[:DEPENDS_ON {type: 'runs_on'}]->(h:Resource)
RETURN h.id AS id
"""
_PATHS: LiteralString = """
MATCH (a:Resource {id: $a})
MATCH (b:Resource {id: $b})
MATCH p = allShortestPaths((a)-[:DEPENDS_ON*]->(b))
RETURN [n IN nodes(p) | n.id] AS ids
"""
_PATHS_INTO: LiteralString = """
MATCH p = ALL SHORTEST (a:Resource)-[:DEPENDS_ON]->+(b:Resource {id: $id})
WHERE a <> b
RETURN a.id AS source, [n IN nodes(p) | n.id] AS ids
"""
# The hop bound of a path pattern cannot be a parameter: ``{hops}`` is an int we format in.
_BALL = """
MATCH p = ANY SHORTEST (a:Resource {{id: $id}})-[:DEPENDS_ON]-{{1,{hops}}}(b:Resource)
WHERE b <> a
RETURN b.id AS id, min(length(p)) AS hops
"""
_EDGES: LiteralString = """
MATCH (a:Resource {id: $id})-[d:DEPENDS_ON]->(b:Resource)
RETURN 'dependency' AS side, b.id AS other, d.type AS type
UNION ALL
MATCH (a:Resource {id: $id})<-[d:DEPENDS_ON]-(b:Resource)
RETURN 'dependent' AS side, b.id AS other, d.type AS type
"""
_COUNTS: LiteralString = """
RETURN COUNT { MATCH (:Resource) } AS resources,
       COUNT { MATCH (:Resource)-[:DEPENDS_ON]->(:Resource) } AS dependencies
"""


@dataclass(frozen=True)
class Dependency:
    """One stored dependency: ``dependent`` depends on ``dependency`` (edge ``type``).

    Examples
    --------
    >>> Dependency("mysql-replica", "mysql-primary", "replicates_to").dependency
    'mysql-primary'
    """

    dependent: str
    dependency: str
    type: str


class Neo4jGraph(Closing):
    """Dependency graph in Neo4j; edges point from dependent to dependency.

    Parameters
    ----------
    driver
        A ``neo4j.Driver``. It is closed by :meth:`close` only when ``owns_driver``.
    database
        Database name (``None``: the server's home database).
    uri
        Where the server is, for error messages (default: taken from the driver).
    owns_driver
        Close the driver in :meth:`close` (true when built by :meth:`connect`).
    cache_size
        Answers memoised per question before that question's memo is emptied.
    path_prefetch
        When a path into a resource with at most this many dependents is asked for, the
        shortest paths from all of them are fetched in one query (ranking asks for several).

    Examples
    --------
    >>> from neo4j import GraphDatabase
    >>> g = Neo4jGraph(GraphDatabase.driver("bolt://127.0.0.1:7687"), database="neo4j")
    >>> g.database, g.queries
    ('neo4j', 0)
    >>> g.distance("a", "a", limit=2)  # no question needs the server for this one
    0
    >>> g.close()
    """

    def __init__(
        self,
        driver: Driver,
        database: str | None = "neo4j",
        *,
        uri: str | None = None,
        owns_driver: bool = False,
        cache_size: int = 65_536,
        path_prefetch: int = 256,
    ) -> None:
        self.driver = driver
        self.database = database
        self.uri = uri or "the Neo4j server"
        self.owns_driver = owns_driver
        self.cache_size = cache_size
        self.path_prefetch = path_prefetch
        self.queries = 0  # round trips so far (for benchmarks and tests)
        self._schema_ready = False
        self._kinds: dict[str, str] | None = None
        self._up: dict[str, frozenset[str]] = {}
        self._down: dict[str, frozenset[str]] = {}
        self._hosts: dict[str, frozenset[str]] = {}
        self._paths: dict[tuple[str, str], tuple[str, ...] | None] = {}
        self._balls: dict[tuple[str, int], dict[str, int]] = {}

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    # an empty password means no authentication (bandit B107)
    def connect(  # nosec B107
        cls,
        uri: str,
        user: str = "neo4j",
        password: str = "",
        database: str | None = "neo4j",
        verify: bool = True,
        ca_file: str = "",
    ) -> Neo4jGraph:
        """Connect to the server at ``uri``; the graph owns (and closes) the driver.

        An empty ``password`` means the server runs without authentication. ``ca_file``:
        the CA certificate (PEM) that signed the server's certificate, for TLS (see
        :func:`~.neo4j_connection.open_driver`). With ``verify``, an unreachable server,
        rejected credentials or an untrusted certificate raise
        :class:`~foreshock.schemas.errors.ConfigError` at once (not after retries).

        Examples
        --------
        >>> g = Neo4jGraph.connect("bolt://127.0.0.1:7687", verify=False)
        >>> g.uri, g.database, g.owns_driver
        ('bolt://127.0.0.1:7687', 'neo4j', True)
        >>> g.close()
        """
        driver = open_driver(uri, user, password, verify=verify, ca_file=ca_file)
        return cls(driver, database, uri=mask_url(uri), owns_driver=True)

    def close(self) -> None:
        """Close the driver if this graph owns it."""
        if self.owns_driver:
            self.driver.close()

    def history(self) -> Neo4jIncidentHistory:
        """The incident history in the same database (recording clears this graph's memo).

        The history shares this graph's driver: use it while the graph is open.
        """
        return Neo4jIncidentHistory(
            self.driver, self.database, uri=self.uri, on_change=self.clear_cache
        )

    # --- plumbing -------------------------------------------------------------------------

    def _read(self, query: LiteralString | Query, **params: Any) -> list[dict[str, Any]]:
        self.queries += 1
        with neo4j_errors(self.uri):
            records, _, _ = self.driver.execute_query(
                query, params, database_=self.database, routing_=RoutingControl.READ
            )
        return [r.data() for r in records]

    def clear_cache(self) -> None:
        """Forget every memoised answer (the graph changed, here or elsewhere)."""
        self._kinds = None
        for memo in (self._up, self._down, self._hosts, self._paths, self._balls):
            memo.clear()

    def _remember(self, memo: dict[Any, Any], key: Any, value: Any) -> None:
        if len(memo) >= self.cache_size:
            memo.clear()
        memo[key] = value

    def ensure_schema(self) -> None:
        """Create the constraints and indexes of :data:`SCHEMA` if missing (idempotent)."""
        with neo4j_errors(self.uri):
            for statement in SCHEMA:
                self.queries += 1
                self.driver.execute_query(statement, database_=self.database)
        self._schema_ready = True

    # --- writes ---------------------------------------------------------------------------

    def load(self, topology: Topology) -> None:
        """Upsert the topology's nodes and dependencies (MERGE: loading twice changes nothing).

        Declared nodes get their kind; edge ends not declared are created with kind
        ``other`` (an existing node keeps its kind). The schema is ensured first.
        """
        if not self._schema_ready:
            self.ensure_schema()
        kinds: dict[str, str] = {}
        for n in topology.nodes:
            kinds[n.id] = n.kind  # the last declaration wins, as in networkx
        ends = sorted({e.source for e in topology.edges} | {e.target for e in topology.edges})
        deps: dict[tuple[str, str], str] = {}
        for pair, e in zip(topology.dependencies(), topology.edges, strict=True):
            deps[pair] = e.type  # one relationship per pair: the last edge's type wins
        nodes = [{"id": k, "kind": v} for k, v in kinds.items()]
        dep_rows = [{"dependent": a, "dependency": b, "type": t} for (a, b), t in deps.items()]

        def work(tx: ManagedTransaction) -> None:
            tx.run(_LOAD_NODES, nodes=nodes).consume()
            tx.run(_LOAD_ENDS, ids=ends).consume()
            tx.run(_LOAD_DEPS, deps=dep_rows).consume()

        self.queries += 1
        with neo4j_errors(self.uri), self.driver.session(database=self.database) as session:
            session.execute_write(work)
        self.clear_cache()

    def add_node(self, resource: str, kind: str = "other") -> None:
        """Add a node if it is not there yet (an existing node keeps its kind)."""
        self.queries += 1
        with neo4j_errors(self.uri):
            self.driver.execute_query(
                _ADD_NODE, {"id": resource, "kind": kind}, database_=self.database
            )
        self.clear_cache()

    # --- questions ------------------------------------------------------------------------

    def _kind_map(self) -> dict[str, str]:
        if self._kinds is None:
            self._kinds = {str(r["id"]): str(r["kind"]) for r in self._read(_KINDS)}
        return self._kinds

    def nodes(self) -> list[str]:
        """Every resource id, sorted."""
        return sorted(self._kind_map())

    def kind(self, resource: str) -> str:
        return self._kind_map().get(resource, "other")

    def _ids(
        self, memo: dict[str, frozenset[str]], query: LiteralString, resource: str
    ) -> set[str]:
        if resource not in memo:
            if resource in self._kind_map():
                found = {str(r["id"]) for r in self._read(query, id=resource)}
                found.discard(resource)  # a cycle back to the start does not count
                value = frozenset(found)
            else:
                value = frozenset()
            self._remember(memo, resource, value)
        return set(memo[resource])

    def upstream(self, resource: str) -> set[str]:
        return self._ids(self._up, _UPSTREAM, resource)

    def downstream(self, resource: str) -> set[str]:
        return self._ids(self._down, _DOWNSTREAM, resource)

    def hosts_of(self, resource: str) -> set[str]:
        if resource not in self._hosts:
            hosts: frozenset[str] = frozenset()
            if resource in self._kind_map():
                hosts = frozenset(str(r["id"]) for r in self._read(_HOSTS, id=resource))
            self._remember(self._hosts, resource, hosts)
        return set(self._hosts[resource])

    def dependency_path(self, dependent: str, dependency: str) -> list[str] | None:
        key = (dependent, dependency)
        if key not in self._paths:
            known = self._kind_map()
            path: tuple[str, ...] | None = None
            if dependent in known and dependency in known:
                if dependent == dependency:
                    path = (dependent,)
                elif len(self.downstream(dependency)) <= self.path_prefetch:
                    path = self._paths_into(dependency).get(dependent)  # one round trip
                else:
                    rows = self._read(_PATHS, a=dependent, b=dependency)
                    path = _first([r["ids"] for r in rows])
            self._remember(self._paths, key, path)
        found = self._paths[key]
        return list(found) if found is not None else None

    def _paths_into(self, dependency: str) -> dict[str, tuple[str, ...]]:
        """Shortest paths from every dependent of ``dependency``; all pairs memoised."""
        by_source: dict[str, list[list[Any]]] = {}
        for r in self._read(_PATHS_INTO, id=dependency):
            by_source.setdefault(str(r["source"]), []).append(r["ids"])
        found = {src: path for src, paths in by_source.items() if (path := _first(paths))}
        for source in self._kind_map():
            if source != dependency:
                self._remember(self._paths, (source, dependency), found.get(source))
        return found

    def neighbourhood(self, resource: str, hops: int) -> dict[str, int]:
        """Resources within ``hops`` undirected hops of ``resource`` (itself excluded)."""
        if hops < 1 or resource not in self._kind_map():
            return {}
        key = (resource, hops)
        if key not in self._balls:
            query = Query(_BALL.format(hops=int(hops)))  # an int, never user text
            ball = {str(r["id"]): int(r["hops"]) for r in self._read(query, id=resource)}
            self._remember(self._balls, key, ball)
        return dict(self._balls[key])

    def distance(self, a: str, b: str, limit: int) -> int | None:
        if a == b:
            return 0
        for x, y in ((a, b), (b, a)):  # symmetric: reuse whichever neighbourhood is known
            ball = self._balls.get((x, limit))
            if ball is not None:
                return ball.get(y)
        return self.neighbourhood(a, limit).get(b)

    # --- for people -----------------------------------------------------------------------

    def edges_of(self, resource: str) -> tuple[list[Dependency], list[Dependency]]:
        """Direct dependencies of ``resource`` and direct dependents on it, sorted."""
        deps: list[Dependency] = []
        dependents: list[Dependency] = []
        for r in self._read(_EDGES, id=resource):
            other, etype = str(r["other"]), str(r["type"])
            if r["side"] == "dependency":
                deps.append(Dependency(resource, other, etype))
            else:
                dependents.append(Dependency(other, resource, etype))
        return sorted(deps, key=_key), sorted(dependents, key=_key)

    def counts(self) -> tuple[int, int]:
        """``(resources, dependencies)`` stored."""
        row = self._read(_COUNTS)[0]
        return int(row["resources"]), int(row["dependencies"])


def _first(paths: list[list[Any]]) -> tuple[str, ...] | None:
    """Among shortest paths, the one whose ids sort first (storage order must not matter)."""
    return min((tuple(str(i) for i in p) for p in paths), default=None)


def _key(d: Dependency) -> tuple[str, str]:
    return d.dependent, d.dependency
