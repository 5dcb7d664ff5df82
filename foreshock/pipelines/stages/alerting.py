"""Alert stage: one page per incident, sent once it has settled; resolve when it clears.

An incident is paged ``settle`` seconds after it opened (so the page names a root cause
that has seen the propagation, not the first symptom), exactly once, with the incident
id as the dedup key; a resolved incident sends one ``resolve``. When a paged incident's
root cause (resource or failure mode) changes, the stage sends a same-key ``trigger``
(``revision`` 1, 2, ...: PagerDuty updates the alert, on-call is not paged twice), at
most one per ``settle`` seconds, carrying the diagnosis as it stands then: a ranking
that flips back and forth within that time sends nothing.

A paged incident that clears is resolved after ``quiet`` seconds (5 minutes by default).
If an incident with the same root-cause resource settles meanwhile, it is the same
problem back (a flapping fault): it continues that page, under the same key (a same-key
trigger names the new incident), and no resolve was sent in between. A finite replay's
end sends the resolves still waiting.

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
>>> resolved = inc.model_copy(update={"status": "resolved", "updated_at": 200.0})
>>> stage.process(resolved), [e.action for e in stage.tick(400)]  # quiet for 5 minutes
([], [])
>>> [e.action for e in stage.tick(500)]
['resolve']
>>> stage.process(inc), stage.pending, stage.flush()  # a stale version: nothing
([], 0, [])

The same root cause back within the quiet time continues the page (no resolve between):

>>> stage = AlertStage(settle=60)
>>> _ = stage.process(inc), stage.tick(61), stage.process(resolved)
>>> back = Incident(id="j", opened_at=300, updated_at=300, candidates=inc.candidates)
>>> _ = stage.process(back)
>>> [(e.dedup_key, e.action, e.revision) for e in stage.tick(360)]
[('i', 'trigger', 1)]
>>> _ = stage.process(back.model_copy(update={"status": "resolved", "updated_at": 900.0}))
>>> [(e.dedup_key, e.action) for e in stage.flush()]  # the replay ended
[('i', 'resolve')]

A diagnosis that changes after the page updates it, under the same key:

>>> stage = AlertStage(settle=60)
>>> _ = stage.process(inc), stage.tick(61)
>>> app = inc.model_copy(update={"candidates": [RootCauseCandidate(resource="app", score=1.0)]})
>>> stage.process(app), [(e.source, e.revision) for e in stage.tick(100)]
([], [])
>>> [(e.action, e.source, e.revision) for e in stage.tick(121)]
[('trigger', 'app', 1)]
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
        Seconds after an incident opened before it is paged; also the least time between
        two updates of one page.
    quiet
        Seconds a paged incident must stay resolved before its page is resolved; an
        incident of the same root cause settling within them continues the page.
    """

    def __init__(self, settle: float = 120.0, quiet: float = 300.0) -> None:
        self.settle = settle
        self.quiet = quiet
        self._latest: dict[str, Incident] = {}  # incidents not resolved yet, latest version
        self._untriggered: dict[str, Incident] = {}  # of those, the ones not paged yet
        self._triggered: set[str] = set()  # paged and not resolved yet
        self._resolved: set[str] = set()  # ids of resolved incidents
        # of the paged ones: what the last page said (root, failure mode), its revision
        # and time, and which now say something else
        self._paged_as: dict[str, tuple[str, str | None, int, float]] = {}
        self._changed: dict[str, Incident] = {}
        # pages whose incident resolved, waiting out ``quiet``: key → (incident, since)
        self._clearing: dict[str, tuple[Incident, float]] = {}
        self._key: dict[str, str] = {}  # incident id → the page it continues (re-opened)

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
        elif self._key.get(item.id, item.id) in self._paged_as:
            if _diagnosis(item) != self._paged_as[self._key.get(item.id, item.id)][:2]:
                self._changed[item.id] = item
            else:
                self._changed.pop(item.id, None)
        if item.status == "resolved":
            return self._fire(item, item.updated_at)
        return []

    def _event(self, inc: Incident, action: str, now: float, revision: int = 0) -> AlertEvent:
        top = inc.candidates[0] if inc.candidates else None
        source = top.resource if top else (inc.resources[0] if inc.resources else "unknown")
        mode = f" ({top.failure_mode})" if top and top.failure_mode else ""
        summary = (
            f"[foreshock] {source}{mode}: {len(inc.anomalies)} anomalies on "
            f"{len(inc.resources)} resources"
        )
        return AlertEvent(
            dedup_key=self._key.get(inc.id, inc.id),
            action=action,  # type: ignore[arg-type]
            revision=revision,
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
            out += self._trigger(inc, now)
        if inc.status == "resolved" and inc.id not in self._resolved:
            self._resolved.add(inc.id)
            self._triggered.discard(inc.id)  # done: only its id is kept
            self._latest.pop(inc.id, None)
            self._changed.pop(inc.id, None)
            key = self._key.pop(inc.id, inc.id)
            self._clearing[key] = (inc, now)  # resolved once it stayed quiet
            if self.quiet <= 0:
                out += self._release(key)
        return out

    def _trigger(self, inc: Incident, now: float) -> list[AlertEvent]:
        """The page of a settled incident, or the page it continues (same root, clearing)."""
        root = _diagnosis(inc)[0]
        again = next((k for k, (c, _) in self._clearing.items() if _diagnosis(c)[0] == root), None)
        if again is None:
            self._paged_as[inc.id] = (*_diagnosis(inc), 0, now)
            return [self._event(inc, "trigger", now)]
        del self._clearing[again]
        self._key[inc.id] = again
        revision = self._paged_as.get(again, ("", None, 0, now))[2] + 1
        self._paged_as[again] = (*_diagnosis(inc), revision, now)
        event = self._event(inc, "trigger", now, revision)
        event.details["reopened_as"] = inc.id
        return [event]

    def _release(self, key: str) -> list[AlertEvent]:
        """The resolve of a page whose incident stayed quiet."""
        inc, since = self._clearing.pop(key)
        self._paged_as.pop(key, None)
        return [self._event(inc, "resolve", since).model_copy(update={"dedup_key": key})]

    def _updates(self, now: float) -> list[AlertEvent]:
        """Same-key triggers for paged incidents whose diagnosis changed ``settle`` ago."""
        out = []
        for inc_id, inc in list(self._changed.items()):
            key = self._key.get(inc_id, inc_id)
            *_, revision, sent = self._paged_as[key]
            if now - sent >= self.settle:
                out.append(self._event(inc, "trigger", now, revision + 1))
                self._paged_as[key] = (*_diagnosis(inc), revision + 1, now)
                del self._changed[inc_id]
        return out

    def tick(self, now: float) -> Iterable[AlertEvent]:
        out = []
        for inc in list(self._untriggered.values()):
            if now - inc.opened_at >= self.settle:
                out += self._fire(inc, now)
        for key, (_, since) in list(self._clearing.items()):
            if now - since >= self.quiet:
                out += self._release(key)
        return out + self._updates(now)

    def flush(self) -> list[AlertEvent]:
        """Page incidents that had no time to settle before a finite replay ended, and
        resolve the pages whose incidents cleared (no more data can re-open them)."""
        out = []
        for inc in list(self._untriggered.values()):
            out += self._fire(inc, inc.updated_at)
        for key in list(self._clearing):
            out += self._release(key)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Latest version of every incident not resolved yet, which of them were triggered,
        and the ids of the resolved ones."""
        return {
            "latest": [i.model_dump(mode="python") for i in self._latest.values()],
            "triggered": self._triggered | self._resolved,
            "resolved": self._resolved,
            "paged_as": {k: list(v) for k, v in self._paged_as.items()},
            "clearing": {
                k: [i.model_dump(mode="python"), t] for k, (i, t) in self._clearing.items()
            },
            "keys": dict(self._key),
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
        try:  # absent from a state written before updates were sent: none then
            paged = {str(k): tuple(v) for k, v in state.get("paged_as", {}).items()}
            self._clearing = {
                str(k): (Incident.model_validate(v[0]), float(v[1]))
                for k, v in state.get("clearing", {}).items()
            }
            self._key = {str(k): str(v) for k, v in state.get("keys", {}).items()}
            self._paged_as = {
                k: (str(v[0]), v[1], int(v[2]), float(v[3])) for k, v in paged.items()
            }
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise SnapshotError(f"alert stage state does not fit: {exc!r}") from None
        self._changed = {
            k: i
            for k, i in self._latest.items()
            if self._key.get(k, k) in self._paged_as
            and _diagnosis(i) != self._paged_as[self._key.get(k, k)][:2]
        }

    def snapshot(self) -> bytes:
        return dump_state("alert", self.state_dict(), {"settle": self.settle})

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "alert", {"settle": self.settle}))


def _diagnosis(inc: Incident) -> tuple[str, str | None]:
    """What a page says the problem is: the top candidate's resource and failure mode."""
    top = inc.candidates[0] if inc.candidates else None
    if top is None:
        return (inc.resources[0] if inc.resources else "unknown", None)
    return (top.resource, top.failure_mode)
