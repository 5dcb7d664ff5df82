"""Alert stage: one page per incident, sent once it has settled; resolve when it clears.

An incident is paged ``settle`` seconds after it opened (so the page names a root cause
that has seen the propagation, not the first symptom), exactly once, with the incident
id as the dedup key; a resolved incident sends one ``resolve``.

The stage holds the latest version of the incidents that have not resolved yet, and scans
only those not paged yet on a tick; a resolved incident is forgotten but for its id (so a
late, stale version of it pages nothing), so neither memory nor a tick's cost grows with
the incidents a long run has seen.

Examples
--------
>>> from foreshock.schemas.incident import Incident, RootCauseCandidate
>>> stage = AlertStage(settle=60)
>>> inc = Incident(id="i", opened_at=0, updated_at=0,
...                candidates=[RootCauseCandidate(resource="db", score=1.0)])
>>> stage.process(inc), [e.action for e in stage.tick(30)], [e.action for e in stage.tick(61)]
([], [], ['trigger'])
>>> [e.action for e in stage.tick(120)]
[]
>>> [e.action for e in stage.process(inc.model_copy(update={"status": "resolved"}))]
['resolve']
>>> stage.process(inc), stage.pending, stage.flush()  # a stale version: nothing
([], 0, [])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.incident import Incident
from foreshock.schemas.state import dump_state, load_state


class AlertStage:
    """Stage: incidents in, pages (``trigger`` once settled, ``resolve``) out.

    Parameters
    ----------
    settle
        Seconds after an incident opened before it is paged.
    """

    def __init__(self, settle: float = 120.0) -> None:
        self.settle = settle
        self._latest: dict[str, Incident] = {}  # incidents not resolved yet, latest version
        self._untriggered: dict[str, Incident] = {}  # of those, the ones not paged yet
        self._triggered: set[str] = set()  # paged and not resolved yet
        self._resolved: set[str] = set()  # ids of resolved incidents

    @property
    def pending(self) -> int:
        """Incidents held: seen and not resolved yet."""
        return len(self._latest)

    def process(self, item: Incident) -> list[AlertEvent]:
        if item.id in self._resolved:  # a stale version of a resolved incident
            return []
        self._latest[item.id] = item
        if item.id not in self._triggered:
            self._untriggered[item.id] = item
        if item.status == "resolved":
            return self._fire(item, item.updated_at)
        return []

    def _event(self, inc: Incident, action: str, now: float) -> AlertEvent:
        top = inc.candidates[0] if inc.candidates else None
        source = top.resource if top else (inc.resources[0] if inc.resources else "unknown")
        mode = f" ({top.failure_mode})" if top and top.failure_mode else ""
        summary = (
            f"[foreshock] {source}{mode}: {len(inc.anomalies)} anomalies on "
            f"{len(inc.resources)} resources"
        )
        return AlertEvent(
            dedup_key=inc.id,
            action=action,  # type: ignore[arg-type]
            timestamp=now,
            summary=summary,
            source=source,
            severity="critical",
            component=top.kind if top else None,
            report_id=f"{inc.id}-v{inc.version}",
            details={
                "resources": ", ".join(inc.resources),
                "candidates": ", ".join(c.resource for c in inc.candidates[:3]),
                **({"failure_mode": top.failure_mode} if top and top.failure_mode else {}),
            },
        )

    def _fire(self, inc: Incident, now: float) -> list[AlertEvent]:
        out = []
        if inc.id not in self._triggered:
            self._triggered.add(inc.id)
            self._untriggered.pop(inc.id, None)
            out.append(self._event(inc, "trigger", now))
        if inc.status == "resolved" and inc.id not in self._resolved:
            self._resolved.add(inc.id)
            out.append(self._event(inc, "resolve", now))
            self._triggered.discard(inc.id)  # done: only its id is kept
            self._latest.pop(inc.id, None)
        return out

    def tick(self, now: float) -> Iterable[AlertEvent]:
        out = []
        for inc in list(self._untriggered.values()):
            if now - inc.opened_at >= self.settle:
                out += self._fire(inc, now)
        return out

    def flush(self) -> list[AlertEvent]:
        """Page incidents that had no time to settle before a finite replay ended."""
        out = []
        for inc in list(self._untriggered.values()):
            out += self._fire(inc, inc.updated_at)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Latest version of every incident not resolved yet, which of them were triggered,
        and the ids of the resolved ones."""
        return {
            "latest": [i.model_dump(mode="python") for i in self._latest.values()],
            "triggered": self._triggered | self._resolved,
            "resolved": self._resolved,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict` (one written before resolved
        incidents were forgotten, which holds them in ``latest``, is accepted)."""
        try:
            latest = [Incident.model_validate(i) for i in state["latest"]]
            triggered = {str(k) for k in state["triggered"]}
            resolved = {str(k) for k in state["resolved"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"alert stage state does not fit: {exc!r}") from None
        self._latest = {i.id: i for i in latest if i.id not in resolved}
        self._untriggered = {k: i for k, i in self._latest.items() if k not in triggered}
        self._triggered = triggered - resolved
        self._resolved = resolved

    def snapshot(self) -> bytes:
        return dump_state("alert", self.state_dict(), {"settle": self.settle})

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "alert", {"settle": self.settle}))
