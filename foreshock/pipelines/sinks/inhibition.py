"""Inhibition: a page for a root cause holds the pages of incidents it explains.

While an incident is paged and open, a new incident whose root cause *depends* on that
incident's root cause (directly or through other resources, by the topology's impact
direction) is explained by it: its page is held, and its report names the incident that
explains it. When the explaining incident resolves, later incidents page again. This is
Alertmanager's inhibit rule with the dependency graph as the matcher; it catches what
correlation did not merge (an incident that opened in another window, or after a gap).

Examples
--------
>>> from foreshock.schemas.alert import AlertEvent
>>> from foreshock.schemas.topology import Topology
>>> topo = Topology.model_validate({"nodes": [{"id": "web", "kind": "service"},
...     {"id": "db", "kind": "mysql"}], "edges": [{"from": "web", "to": "db"}]})
>>> inhibit = Inhibitor(topo)
>>> def page(key, source, action="trigger"):
...     return AlertEvent(dedup_key=key, action=action, timestamp=0.0, summary="", source=source)
>>> inhibit.check(page("inc-1", "db")), inhibit.check(page("inc-2", "web"))
(None, 'inc-1')
>>> inhibit.check(page("inc-1", "db", "resolve")), inhibit.check(page("inc-3", "web"))
(None, None)
"""

from __future__ import annotations

from collections import defaultdict

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.topology import Topology

__all__ = ["Inhibitor"]


class Inhibitor:
    """Holds pages explained by an open, paged incident (see the module doc)."""

    def __init__(self, topology: Topology) -> None:
        self._needs: dict[str, set[str]] = defaultdict(set)  # resource → what it depends on
        for dependent, dependency in topology.dependencies():
            self._needs[dependent].add(dependency)
        self._open: dict[str, str] = {}  # paged, open incident → its root cause
        self._held: dict[str, str] = {}  # held incident → the incident that explains it

    def _depends_on(self, resource: str, root: str) -> bool:
        seen, todo = {resource}, [resource]
        while todo:
            for nxt in self._needs.get(todo.pop(), ()):
                if nxt == root:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    def check(self, event: AlertEvent) -> str | None:
        """The incident that explains ``event`` (its page is held), or ``None`` (send it).
        A resolve follows its trigger: held if the trigger was."""
        if event.action != "trigger":
            self._open.pop(event.dedup_key, None)
            return self._held.pop(event.dedup_key, None)
        if event.revision:  # an update follows its first trigger's fate
            if event.dedup_key in self._held:
                return self._held[event.dedup_key]
            self._open[event.dedup_key] = event.source
            return None
        for incident, root in self._open.items():
            if incident != event.dedup_key and self._depends_on(event.source, root):
                self._held[event.dedup_key] = incident
                return incident
        self._open[event.dedup_key] = event.source
        return None
