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

A node id names one resource: the same id twice is refused, whatever the kinds (a second
entry would otherwise replace the first, with its kind and its other fields).

>>> from pydantic import ValidationError
>>> try:
...     Topology.model_validate({"nodes": [{"id": "db", "kind": "mysql"},
...                                        {"id": "db", "kind": "postgresql"}]})
... except ValidationError as exc:
...     print(exc.errors()[0]["msg"])
Value error, node id 'db' is listed twice: as mysql (nodes[0]) and as postgresql (nodes[1])
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foreshock.schemas.errors import SchemaError

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

    @model_validator(mode="after")
    def _unique_ids(self) -> Topology:
        first: dict[str, int] = {}
        for i, n in enumerate(self.nodes):
            j = first.setdefault(n.id, i)
            if j != i:
                a = self.nodes[j]
                both = (
                    f"both times as {a.kind} (nodes[{j}] and nodes[{i}])"
                    if a.kind == n.kind
                    else f"as {a.kind} (nodes[{j}]) and as {n.kind} (nodes[{i}])"
                )
                raise SchemaError(f"node id {n.id!r} is listed twice: {both}")
        return self

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
