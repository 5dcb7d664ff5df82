"""Incident history as graph data in Neo4j: "past incidents touching X".

Each incident is one ``(:Incident {id, opened_at, updated_at, status, version})`` node
with ``-[:TOUCHED]->(:Resource)`` for every resource it grouped, ``-[:ROOT_CAUSE {score}]->``
its top candidate and ``-[:FAILURE_MODE]->(:FailureMode {kind, name})`` that candidate's
failure mode (``kind`` is the resource kind, i.e. the pack). Recording is an idempotent
upsert keyed by incident id in which a newer ``version`` replaces an older one and an older
one changes nothing, so re-delivered or reordered records are harmless.

Resources an incident touches that the topology does not know are created as
``(:Resource {kind: 'other'})``, like :meth:`.neo4j_graph.Neo4jGraph.add_node`.

Examples
--------
>>> PastIncident(id="inc-1", opened_at=0.0, updated_at=60.0, status="open", version=1,
...              root_cause="redis-cache", failure_mode="memory_exhaustion").root_cause
'redis-cache'

With a server (``make services-up``):

>>> from contextlib import closing
>>> from foreshock.graph.backends.neo4j_connection import open_driver
>>> from foreshock.schemas.incident import Incident, RootCauseCandidate
>>> with closing(open_driver("bolt://127.0.0.1:7687")) as driver:  # doctest: +SKIP
...     history = Neo4jIncidentHistory(driver)
...     history.record_incident(Incident(id="inc-1", opened_at=0.0, updated_at=0.0,
...         resources=["redis-cache", "web"], candidates=[RootCauseCandidate(
...             resource="redis-cache", kind="redis", score=0.9,
...             failure_mode="memory_exhaustion")]))
...     [(p.id, p.root_cause, p.failure_mode) for p in history.past_incidents("web")]
True
[('inc-1', 'redis-cache', 'memory_exhaustion')]

A graph gives the history of its own database (:meth:`.neo4j_graph.Neo4jGraph.history`),
which also clears the graph's memo when a recording changes the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, LiteralString

from neo4j import Driver, ManagedTransaction, RoutingControl
from pydantic import BaseModel, Field

from foreshock.graph.backends.neo4j_connection import neo4j_errors
from foreshock.schemas.incident import Incident

_CLAIM: LiteralString = """
MERGE (i:Incident {id: $id})
WITH i
WHERE coalesce(i.version, -1) <= $version
SET i.opened_at = $opened_at, i.updated_at = $updated_at, i.status = $status,
    i.version = $version
WITH i
OPTIONAL MATCH (i)-[old:TOUCHED|ROOT_CAUSE|FAILURE_MODE]->()
DELETE old
RETURN count(DISTINCT i) AS applied
"""
_TOUCHED: LiteralString = """
MATCH (i:Incident {id: $id})
UNWIND $resources AS rid
MERGE (r:Resource {id: rid})
ON CREATE SET r.kind = 'other'
MERGE (i)-[:TOUCHED]->(r)
"""
_ROOT_CAUSE: LiteralString = """
MATCH (i:Incident {id: $id})
MERGE (r:Resource {id: $resource})
ON CREATE SET r.kind = 'other'
CREATE (i)-[:ROOT_CAUSE {score: $score}]->(r)
"""
_FAILURE_MODE: LiteralString = """
MATCH (i:Incident {id: $id})
MERGE (f:FailureMode {kind: $kind, name: $name})
CREATE (i)-[:FAILURE_MODE]->(f)
"""
_PAST: LiteralString = """
MATCH (:Resource {id: $resource})<-[:TOUCHED]-(i:Incident)
WITH i ORDER BY i.opened_at DESC, i.updated_at DESC, i.id DESC LIMIT $limit
OPTIONAL MATCH (i)-[rc:ROOT_CAUSE]->(c:Resource)
OPTIONAL MATCH (i)-[:FAILURE_MODE]->(f:FailureMode)
RETURN i.id AS id, i.opened_at AS opened_at, i.updated_at AS updated_at,
       i.status AS status, i.version AS version,
       c.id AS root_cause, rc.score AS root_cause_score,
       f.name AS failure_mode, f.kind AS failure_mode_kind,
       COLLECT { MATCH (i)-[:TOUCHED]->(t:Resource) RETURN t.id ORDER BY t.id } AS resources
ORDER BY opened_at DESC, updated_at DESC, id DESC
"""


class PastIncident(BaseModel):
    """One recorded incident, as "past incidents touching X" lists it.

    Examples
    --------
    >>> p = PastIncident(id="inc-1", opened_at=0.0, updated_at=60.0, status="resolved",
    ...                  version=3, resources=["redis-cache", "web"], root_cause="redis-cache")
    >>> p.status, p.failure_mode
    ('resolved', None)
    """

    id: str
    opened_at: float
    updated_at: float
    status: str
    version: int
    resources: list[str] = Field(default_factory=list)
    root_cause: str | None = None
    root_cause_score: float | None = None
    failure_mode: str | None = None
    failure_mode_kind: str | None = Field(
        default=None, description="Kind of the root-cause resource (the pack of the mode)."
    )


class Neo4jIncidentHistory:
    """Record incidents and ask which past incidents touched a resource.

    Parameters
    ----------
    driver
        A ``neo4j.Driver`` (not closed here).
    database
        Database name (``None``: the server's home database).
    uri
        Where the server is, for error messages.
    on_change
        Called after a recording changed the database (e.g. to clear a graph's memo).

    Examples
    --------
    >>> from neo4j import GraphDatabase
    >>> driver = GraphDatabase.driver("bolt://127.0.0.1:7687")
    >>> Neo4jIncidentHistory(driver).past_incidents("web", limit=0)  # asks nothing
    []
    >>> driver.close()
    """

    def __init__(
        self,
        driver: Driver,
        database: str | None = "neo4j",
        *,
        uri: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.uri = uri or "the Neo4j server"
        self.on_change = on_change

    def record_incident(self, incident: Incident) -> bool:
        """Upsert one incident version; ``False`` when a newer version is already stored."""
        params: dict[str, Any] = {
            "id": incident.id,
            "opened_at": incident.opened_at,
            "updated_at": incident.updated_at,
            "status": incident.status,
            "version": incident.version,
        }
        top = incident.candidates[0] if incident.candidates else None
        touched = sorted(set(incident.resources) | ({top.resource} if top else set()))

        def work(tx: ManagedTransaction) -> bool:
            row = tx.run(_CLAIM, params).single(strict=True)
            if not row["applied"]:
                return False
            tx.run(_TOUCHED, id=incident.id, resources=touched).consume()
            if top is not None:
                tx.run(
                    _ROOT_CAUSE, id=incident.id, resource=top.resource, score=top.score
                ).consume()
                if top.failure_mode:
                    tx.run(
                        _FAILURE_MODE, id=incident.id, kind=top.kind, name=top.failure_mode
                    ).consume()
            return True

        with neo4j_errors(self.uri), self.driver.session(database=self.database) as session:
            applied = session.execute_write(work)
        if applied and self.on_change is not None:
            self.on_change()
        return applied

    def past_incidents(self, resource: str, limit: int = 10) -> list[PastIncident]:
        """Incidents that touched ``resource``, newest (by ``opened_at``) first."""
        if limit <= 0:
            return []
        with neo4j_errors(self.uri):
            records, _, _ = self.driver.execute_query(
                _PAST,
                {"resource": resource, "limit": limit},
                database_=self.database,
                routing_=RoutingControl.READ,
            )
        return [PastIncident.model_validate(r.data()) for r in records]
