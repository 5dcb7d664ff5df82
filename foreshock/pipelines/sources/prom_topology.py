"""Topology discovery: resources and edges from what Prometheus and the packs say.

Every Prometheus target (a ``job``/``instance`` pair) that exports a metric a pack knows
becomes a resource of that pack's kind (the kind owning most of its metrics). A user
topology (YAML, same schema as everywhere) adds what cannot be seen — which service uses
which database — and may name resources: a user node claims the targets whose labels
match its ``prometheus`` selector (``{job: redis}``, ``{instance: "10.0.0.5:9121"}``), or,
without a selector, the target whose ``job`` equals its id.

Discovered edges:

- ``runs_on``: a resource to the host (``node_exporter`` target) with the same address
  part of ``instance``; when there is exactly one host, every resource without one
  runs on it (exporters usually run next to what they watch);
- ``replicates_to``: MySQL replicas to their primary, from the ``master_host`` label of
  ``mysql_slave_status_*`` series, when the primary's address is known.

Examples
--------
>>> from foreshock.packs.loader import PackIndex, load_packs
>>> series = [
...     {"__name__": "redis_up", "job": "redis", "instance": "127.0.0.1:9121"},
...     {"__name__": "node_load1", "job": "node", "instance": "127.0.0.1:9100",
...      "nodename": "lab-host"},
...     {"__name__": "http_requests_total", "job": "shop", "instance": "127.0.0.1:9300"},
... ]
>>> user = Topology.model_validate({"nodes": [{"id": "cache", "kind": "redis",
...     "prometheus": {"job": "redis"}}, {"id": "shop", "kind": "service"}],
...     "edges": [{"from": "shop", "to": "cache"}]})
>>> d = discover(series, PackIndex(load_packs()), user)
>>> sorted(d.topology.kinds().items())
[('cache', 'redis'), ('lab-host', 'host'), ('shop', 'service')]
>>> sorted((e.source, e.target, e.type) for e in d.topology.edges)
[('cache', 'lab-host', 'runs_on'), ('shop', 'cache', 'depends_on'), ('shop', 'lab-host', 'runs_on')]
>>> d.resource_of({"job": "redis", "instance": "127.0.0.1:9121"})
'cache'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from foreshock.packs.loader import PackIndex
from foreshock.packs.model import base_name
from foreshock.schemas.topology import Edge, Node, Topology

__all__ = ["Discovery", "discover", "kind_of_metric"]

Labels = Mapping[str, str]
Target = tuple[str, str]  # (job, instance)


def kind_of_metric(packs: PackIndex, metric: str) -> str | None:
    """The kind whose pack names ``metric`` (by full key or base name), if any."""
    name = base_name(metric)
    for kind, pack in packs.packs.items():
        if any(base_name(m) == name for m in pack.metrics):
            return kind
    return None


def _address(instance: str) -> str:
    host, _, port = instance.rpartition(":")
    return host if host and port.isdigit() else instance


@dataclass
class Discovery:
    """The merged topology and the target → resource map the source uses."""

    topology: Topology
    targets: dict[Target, str] = field(default_factory=dict)

    def resource_of(self, labels: Labels) -> str | None:
        """The resource a series belongs to (by its ``job`` and ``instance``)."""
        return self.targets.get((labels.get("job", ""), labels.get("instance", "")))


def _edge(source: str, target: str, kind: str) -> Edge:
    return Edge.model_validate({"from": source, "to": target, "type": kind})


def _claims(node: Node, target: Target) -> bool:
    selector = getattr(node, "prometheus", None)
    if isinstance(selector, Mapping) and selector:
        labels = {"job": target[0], "instance": target[1]}
        return all(labels.get(k) == str(v) for k, v in selector.items())
    return node.id == target[0]


def discover(series: Iterable[Labels], packs: PackIndex, user: Topology | None = None) -> Discovery:
    """Resources and edges from series label sets, merged with a user topology."""
    user = user or Topology()
    votes: dict[Target, Counter[str]] = {}
    nodenames: dict[Target, str] = {}
    masters: dict[Target, set[str]] = {}
    for labels in series:
        target = (labels.get("job", ""), labels.get("instance", ""))
        if not target[0]:
            continue
        kind = kind_of_metric(packs, labels.get("__name__", ""))
        votes.setdefault(target, Counter())
        if kind:
            votes[target][kind] += 1
        if labels.get("nodename"):
            nodenames[target] = labels["nodename"]
        if labels.get("master_host") and labels.get("__name__", "").startswith("mysql_slave"):
            masters.setdefault(target, set()).add(labels["master_host"])

    nodes: dict[str, Node] = {n.id: n for n in user.nodes}
    targets: dict[Target, str] = {}
    per_job = Counter(job for job, _ in votes)
    for target, counts in sorted(votes.items()):
        if not counts:
            continue  # nothing a pack knows: not a resource of ours
        kind = counts.most_common(1)[0][0]
        owner = next((n for n in user.nodes if _claims(n, target)), None)
        if owner is None:
            job, instance = target
            if kind == "host":
                rid = nodenames.get(target) or _address(instance)
            else:
                rid = job if per_job[job] == 1 else f"{job}-{_address(instance)}"
            owner = nodes.get(rid) or Node(id=rid, kind=kind)  # type: ignore[arg-type]
        nodes.setdefault(owner.id, owner)
        targets[target] = owner.id

    edges = list(user.edges)
    have = {(e.source, e.target) for e in edges}
    hosts = {_address(inst): rid for (_, inst), rid in targets.items() if nodes[rid].kind == "host"}
    only_host = next(iter(hosts.values())) if len(set(hosts.values())) == 1 else None
    has_host = {e.source for e in edges if e.type == "runs_on"}
    for (_, inst), rid in sorted(targets.items()):
        if nodes[rid].kind == "host" or rid in has_host:
            continue
        host = hosts.get(_address(inst), only_host)
        if host and (rid, host) not in have:
            edges.append(_edge(rid, host, "runs_on"))
            have.add((rid, host))
            has_host.add(rid)
    for node in nodes.values():  # user nodes without a target run on the only host too
        if node.kind != "host" and node.id not in has_host and only_host:
            edges.append(_edge(node.id, only_host, "runs_on"))
            has_host.add(node.id)
    by_address = {_address(inst): rid for (_, inst), rid in targets.items()}
    for target, hosts_seen in masters.items():
        replica = targets.get(target)
        for master_host in hosts_seen:
            primary = by_address.get(master_host) or (master_host if master_host in nodes else None)
            if replica and primary and (primary, replica) not in have:
                edges.append(_edge(primary, replica, "replicates_to"))
                have.add((primary, replica))
    topo = Topology(nodes=sorted(nodes.values(), key=lambda n: n.id), edges=edges)
    return Discovery(topo, targets)
