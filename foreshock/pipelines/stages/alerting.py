"""Alert stage: one page per incident, sent once it has settled; resolve when it clears.

An incident is paged ``settle`` seconds after it opened (so the page names a root cause
that has seen the propagation, not the first symptom), exactly once, with the incident
id as the dedup key; a resolved incident sends one ``resolve``.

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
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.incident import Incident


class AlertStage:
    def __init__(self, settle: float = 120.0) -> None:
        self.settle = settle
        self._latest: dict[str, Incident] = {}
        self._triggered: set[str] = set()
        self._resolved: set[str] = set()

    def process(self, item: Incident) -> list[AlertEvent]:
        self._latest[item.id] = item
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
            },
        )

    def _fire(self, inc: Incident, now: float) -> list[AlertEvent]:
        out = []
        if inc.id not in self._triggered:
            self._triggered.add(inc.id)
            out.append(self._event(inc, "trigger", now))
        if inc.status == "resolved" and inc.id not in self._resolved:
            self._resolved.add(inc.id)
            out.append(self._event(inc, "resolve", now))
        return out

    def tick(self, now: float) -> Iterable[AlertEvent]:
        out = []
        for inc in self._latest.values():
            if inc.id not in self._triggered and now - inc.opened_at >= self.settle:
                out += self._fire(inc, now)
        return out

    def flush(self) -> list[AlertEvent]:
        """Page incidents that had no time to settle before a finite replay ended."""
        out = []
        for inc in self._latest.values():
            if inc.id not in self._triggered:
                out += self._fire(inc, inc.updated_at)
        return out

    def snapshot(self) -> bytes:
        return pickle.dumps((self._latest, self._triggered, self._resolved))

    def restore(self, state: bytes) -> None:
        self._latest, self._triggered, self._resolved = pickle.loads(state)
