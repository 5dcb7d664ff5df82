"""The graph interfaces: what grouping and ranking ask of the graph, and incident history.

The embedded backend (:mod:`.embedded`, networkx) implements it in memory; a Neo4j
backend implements the same questions in Cypher. Direction is always *dependency*
direction: ``upstream(a)`` is everything ``a`` depends on, ``downstream(a)`` everything
that depends on ``a`` (where ``a``'s failures can show up).

:class:`IncidentHistory` is where the worker records every incident it stores, so that
"past incidents touching X" can be asked of the graph later (Neo4j:
:class:`.neo4j_history.Neo4jIncidentHistory`; the embedded backend keeps none).

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> isinstance(NetworkXGraph(), GraphBackend)
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from foreshock.schemas.incident import Incident
from foreshock.schemas.topology import Topology


@runtime_checkable
class GraphBackend(Protocol):
    def load(self, topology: Topology) -> None:
        """Add (upsert) the topology's nodes and edges."""
        ...

    def kind(self, resource: str) -> str:
        """Kind of a node; ``other`` for unknown nodes."""
        ...

    def upstream(self, resource: str) -> set[str]:
        """Everything ``resource`` depends on, transitively."""
        ...

    def downstream(self, resource: str) -> set[str]:
        """Everything that depends on ``resource``, transitively."""
        ...

    def hosts_of(self, resource: str) -> set[str]:
        """The hosts ``resource`` runs on (``runs_on`` edges)."""
        ...

    def dependency_path(self, dependent: str, dependency: str) -> list[str] | None:
        """Shortest path ``dependent → … → dependency`` along dependencies, if any."""
        ...

    def distance(self, a: str, b: str, limit: int) -> int | None:
        """Hops between ``a`` and ``b`` ignoring direction, if at most ``limit``."""
        ...


@runtime_checkable
class IncidentHistory(Protocol):
    """Records incidents as graph data, so past incidents can be found by resource.

    Recording must be an idempotent, versioned upsert keyed by incident id: recording the
    same version again is harmless, and an older version after a newer one changes nothing
    (the worker may redeliver, or receive versions out of order). Callers may ignore the
    returned flag.

    Examples
    --------
    >>> from foreshock.schemas.incident import Incident
    >>> class InMemory:
    ...     def __init__(self) -> None:
    ...         self.incidents: dict[str, Incident] = {}
    ...     def record_incident(self, incident: Incident) -> bool:
    ...         old = self.incidents.get(incident.id)
    ...         if old is not None and old.version > incident.version:
    ...             return False
    ...         self.incidents[incident.id] = incident
    ...         return True
    >>> history = InMemory()
    >>> isinstance(history, IncidentHistory)
    True
    >>> v2 = Incident(id="inc-1", opened_at=0.0, updated_at=60.0, version=2)
    >>> history.record_incident(v2), history.record_incident(v2.model_copy(update={"version": 1}))
    (True, False)
    >>> history.incidents["inc-1"].version
    2
    """

    def record_incident(self, incident: Incident) -> bool:
        """Upsert one incident version; ``False`` when a newer version is already recorded."""
        ...
