"""Topology: nodes with kinds and edges with dependency types.

An edge ``{from: a, to: b, type: depends_on}`` means *a depends on b*. The other types
say which way failures travel (see :data:`IMPACT_FLOWS_TO_FROM`):

- ``depends_on``, ``runs_on``, ``produces_to``, ``consumes_from``: ``from`` depends on ``to``;
  a fault at ``to`` shows up at ``from``.
- ``replicates_to``: ``from`` (primary) replicates to ``to`` (replica); the replica depends
  on the primary.

Examples
--------
>>> t = Topology.model_validate({"nodes": [{"id": "a", "kind": "service"},
...     {"id": "b", "kind": "redis"}], "edges": [{"from": "a", "to": "b", "type": "depends_on"}]})
>>> t.dependencies()
[('a', 'b')]
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NodeKind = Literal[
    "service", "mysql", "redis", "kafka", "postgresql", "opensearch", "host", "other"
]
EdgeType = Literal["depends_on", "replicates_to", "runs_on", "produces_to", "consumes_from"]

#: Edge types whose ``from`` end depends on the ``to`` end (all but ``replicates_to``).
IMPACT_FLOWS_TO_FROM: frozenset[str] = frozenset(
    {"depends_on", "runs_on", "produces_to", "consumes_from"}
)


class Node(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    kind: NodeKind = "other"


class Edge(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    source: str = Field(alias="from", min_length=1)
    target: str = Field(alias="to", min_length=1)
    type: EdgeType = "depends_on"


class Topology(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    def dependencies(self) -> list[tuple[str, str]]:
        """Pairs ``(dependent, dependency)`` with edge types resolved."""
        out = []
        for e in self.edges:
            if e.type in IMPACT_FLOWS_TO_FROM:
                out.append((e.source, e.target))
            else:
                out.append((e.target, e.source))
        return out

    def kinds(self) -> dict[str, str]:
        return {n.id: n.kind for n in self.nodes}
