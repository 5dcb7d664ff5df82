"""The graph backend interface: what grouping and ranking ask of the dependency graph.

The embedded backend (:mod:`.embedded`, networkx) implements it in memory; a Neo4j
backend implements the same questions in Cypher. Direction is always *dependency*
direction: ``upstream(a)`` is everything ``a`` depends on, ``downstream(a)`` everything
that depends on ``a`` (where ``a``'s failures can show up).

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> isinstance(NetworkXGraph(), GraphBackend)
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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
