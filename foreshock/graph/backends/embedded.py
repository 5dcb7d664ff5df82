"""The embedded graph backend: the topology in memory, on networkx.

Examples
--------
>>> from foreshock.schemas.topology import Topology
>>> g = NetworkXGraph(Topology.model_validate({
...     "nodes": [{"id": "web", "kind": "service"}, {"id": "db", "kind": "mysql"},
...               {"id": "h1", "kind": "host"}],
...     "edges": [{"from": "web", "to": "db", "type": "depends_on"},
...               {"from": "db", "to": "h1", "type": "runs_on"}]}))
>>> sorted(g.downstream("h1")), sorted(g.upstream("web")), g.hosts_of("db")
(['db', 'web'], ['db', 'h1'], {'h1'})
>>> g.dependency_path("web", "h1")
['web', 'db', 'h1']
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from foreshock.schemas.topology import Topology


class NetworkXGraph:
    """Dependency graph in memory; edges point from dependent to dependency."""

    def __init__(self, topology: Topology | None = None) -> None:
        self._g = nx.DiGraph()
        self._u = nx.Graph()
        if topology is not None:
            self.load(topology)

    def load(self, topology: Topology) -> None:
        for n in topology.nodes:
            self._g.add_node(n.id, kind=n.kind)
            self._u.add_node(n.id)
        for e in topology.edges:
            for node in (e.source, e.target):
                if node not in self._g:
                    self._g.add_node(node, kind="other")
                    self._u.add_node(node)
        for (dependent, dependency), e in zip(topology.dependencies(), topology.edges, strict=True):
            self._g.add_edge(dependent, dependency, type=e.type)
            self._u.add_edge(dependent, dependency)
        self._clear()

    def _clear(self) -> None:
        self.upstream_cached.cache_clear()
        self.downstream_cached.cache_clear()

    def add_node(self, resource: str, kind: str = "other") -> None:
        if resource not in self._g:
            self._g.add_node(resource, kind=kind)
            self._u.add_node(resource)
            self._clear()

    def nodes(self) -> list[str]:
        return list(self._g.nodes)

    def kind(self, resource: str) -> str:
        if resource not in self._g:
            return "other"
        return str(self._g.nodes[resource].get("kind", "other"))

    @lru_cache(maxsize=4096)  # noqa: B019 - bounded, cleared on every change
    def upstream_cached(self, resource: str) -> frozenset[str]:
        if resource not in self._g:
            return frozenset()
        return frozenset(nx.descendants(self._g, resource))

    @lru_cache(maxsize=4096)  # noqa: B019
    def downstream_cached(self, resource: str) -> frozenset[str]:
        if resource not in self._g:
            return frozenset()
        return frozenset(nx.ancestors(self._g, resource))

    def upstream(self, resource: str) -> set[str]:
        return set(self.upstream_cached(resource))

    def downstream(self, resource: str) -> set[str]:
        return set(self.downstream_cached(resource))

    def hosts_of(self, resource: str) -> set[str]:
        if resource not in self._g:
            return set()
        return {
            t for _, t, d in self._g.out_edges(resource, data=True) if d.get("type") == "runs_on"
        }

    def dependency_path(self, dependent: str, dependency: str) -> list[str] | None:
        try:
            return [str(n) for n in nx.shortest_path(self._g, dependent, dependency)]
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None

    def distance(self, a: str, b: str, limit: int) -> int | None:
        if a == b:
            return 0
        if a not in self._u or b not in self._u:
            return None
        lengths = nx.single_source_shortest_path_length(self._u, a, cutoff=limit)
        d = lengths.get(b)
        return int(d) if d is not None else None
