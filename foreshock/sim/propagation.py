"""Fault propagation to the dependents of a fault's resources, on any topology.

A fault in :mod:`foreshock.sim.faults` bends named series of the built-in fleet. On a
wider topology the services that call a failing resource feel it too: each service that
``depends_on`` the fault's root, or a service the fault slows down or makes fail
(directly, or through services that do), gets slower and fails some of its requests,
:data:`HOP_DELAY` seconds after what it depends on. A resource the fault only loads
more (a database taking the reads of a crashed cache) does not pass it on.

Examples
--------
>>> from foreshock.schemas.topology import Topology
>>> from foreshock.sim.faults import FAULTS
>>> topo = Topology.model_validate({
...     "nodes": [{"id": "redis-cache", "kind": "redis"}, {"id": "api", "kind": "service"},
...               {"id": "edge", "kind": "service"}],
...     "edges": [{"from": "api", "to": "redis-cache"}, {"from": "edge", "to": "api"}]})
>>> metrics = ['http_request_duration_seconds{quantile="0.99"}', "http_request_errors_total"]
>>> f = propagate(FAULTS["redis_down"], topo, [(r, m) for r in ("api", "edge") for m in metrics])
>>> [(b.resource, b.delay) for b in f.bends[len(FAULTS["redis_down"].bends):]][::2]
[('api', 30.0), ('edge', 60.0)]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import replace

from foreshock.schemas.topology import Topology
from foreshock.sim.faults import _ERR as _ERRORS
from foreshock.sim.faults import _P99 as _LATENCY
from foreshock.sim.faults import Bend, Fault

__all__ = ["HOP_DELAY", "propagate"]

HOP_DELAY = 30.0  # seconds a caller takes to feel its dependency's failure


def propagate(fault: Fault, topology: Topology, series: Collection[tuple[str, str]]) -> Fault:
    """``fault`` with its effect on every service of ``topology`` that depends on it.

    Services already bent by the fault keep their own bends; every other service that
    reaches a failing resource through ``depends_on`` edges (breadth first, the shortest
    chain) gets its p99 request time doubled and one error per second more (those of the
    two it has among ``series``, ``(resource, metric)`` pairs), starting one
    :data:`HOP_DELAY` after the earliest bend of what it depends on.
    """
    kinds = topology.kinds()
    callers: dict[str, list[str]] = {}
    for e in topology.edges:
        if e.type == "depends_on":
            callers.setdefault(e.target, []).append(e.source)
    bent: dict[str, float] = {}
    for b in fault.bends:
        bent[b.resource] = min(bent.get(b.resource, b.delay), b.delay)
    failing = {fault.root} | {b.resource for b in fault.bends if b.metric in (_LATENCY, _ERRORS)}
    start = dict(bent)
    queue = deque(sorted(failing & set(bent), key=lambda r: (bent[r], r)))
    added: list[Bend] = []
    while queue:
        resource = queue.popleft()
        for caller in sorted(callers.get(resource, [])):
            if caller in start or kinds.get(caller) != "service":
                continue
            delay = start[resource] + HOP_DELAY
            start[caller] = delay
            if (caller, _LATENCY) in series:
                added.append(Bend(caller, _LATENCY, "mult", 1.0, delay, 60.0))
            if (caller, _ERRORS) in series:
                added.append(Bend(caller, _ERRORS, "add", 1.0, delay, 30.0))
            queue.append(caller)
    return replace(fault, bends=fault.bends + tuple(added))
