"""Incident grouping: anomalies close in time and connected in the graph → one incident.

An anomaly joins an open incident when its resource is within ``max_hops`` of one of the
incident's resources (ignoring edge direction; resources the topology connects to nothing,
as in a replay without one, group by time alone) and it began while the incident still
unfolds: within ``spread`` seconds (and :data:`LONE_STEPS` of its series' steps) of the
incident's newest onset, on a resource still failing in it (an open anomaly other than
its own usage: a memory that stays up after a fault keeps the incident open, but the
service breaking again later is a new fault), or as a symptom of a failure in it
still open — a fault that starts later on another resource, next to a lingering episode,
is a new incident. An anomaly that links two incidents merges them. A group not opened yet
gathers anomalies within ``window`` seconds of its activity. A group is only *opened*
(emitted) once it is credible: at least ``min_series`` anomalous signals (a metric without
its statistic's label, :func:`~foreshock.packs.model.signal_of`: the p90 and p99 of one
latency are one) on more than one resource; on
one resource, once one of them has been anomalous for :data:`LONE_STEPS` of its sampling
steps; one series alone after ``single_after`` seconds (and as many steps) — a lone blip
pages nobody — unless it is an order of magnitude off its baseline in a direction its
pack calls bad (a median latency ×50, a CPU from 5% to 91%: a blip is short *and* small; such a
series is its own corroboration and waits :data:`LONE_STEPS` steps like two signals of one
resource), or as soon as it opens if the detect stage read it as a counter of bad
events where there were almost none (:data:`~foreshock.detectors.rare_events.NAME`): errors
where none were seen for days, in every reading the decider needed to confirm them, are not
a blip of a noisy series — and only if its signal is anomalous in its bulk: a signal seen
only in its tail statistics (:func:`~foreshock.packs.model.is_tail_statistic`, p90 and
above) is a few slow requests, never credible alone. Changes of traffic alone (every
anomaly of the group of role ``throughput``, either direction suspect in its pack) never
open one, on one resource or on many: they are demand, not a failure — a service that fails
under load shows its latency, errors or saturation. Anomalies
of a series on probation (too young to
trust its baseline, see :mod:`foreshock.detectors.decision`), and *routine* ones (a series
that makes short excursions of that size several times a day, lasting a sample longer this
time), are evidence only. An incident
resolves when all its anomalies have closed and ``resolve_after`` seconds passed quietly.
A group never opened whose anomalies all closed (a blip, a few new log lines) still
gathers what follows within ``blip_gap`` seconds — a precursor is part of the fault — but
no later: a blip long past, with calm in between, is not the cause of the next fault.
Until then it is *recovering*: only a recurrence of one of its own series that begins
within ``spread`` seconds (and :data:`LONE_STEPS` of the series' steps) of that series'
close joins it (a flapping symptom pages once); anything else starts a new incident (a new
fault right after a recovery pages again, and so does the same failure minutes after it).
Log anomalies (a never-seen error template) join incidents as evidence but neither make
one credible nor keep it open.

Each emitted incident carries the ranked root-cause candidates; it is re-emitted with a
bumped ``version`` when its resources or its top candidates change.

A resolved group can no longer change (no anomaly joins it, no tick touches it), so it is
dropped as it resolves: the grouper holds only the groups that are open, recovering or not
yet credible, and its memory and the cost of placing an anomaly do not grow with the length
of the run. The ids of dropped incidents are remembered (a few dozen bytes per paged
incident), so that an id is never issued twice: a new group whose id is taken gets a
``-2``, ``-3``, ... suffix.

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> from foreshock.graph.rca.ranking import RootCauseRanker
>>> from foreshock.packs.loader import PackIndex, load_packs
>>> from foreshock.schemas.anomaly import Anomaly
>>> from foreshock.schemas.topology import Topology
>>> g = NetworkXGraph(Topology.model_validate({"nodes": [{"id": "a"}, {"id": "b"}],
...     "edges": [{"from": "a", "to": "b"}]}))
>>> grouper = IncidentGrouper(g, RootCauseRanker(g, PackIndex(load_packs())))
>>> def an(r, t):
...     return Anomaly(resource=r, metric="m", onset=t, detected_at=t, score=1.0,
...                    raw_score=9.0, direction="up", value=1.0, baseline=0.0, detector="x")
>>> grouper.process(an("b", 0.0))
[]
>>> [(i.resources, i.root_cause.resource) for i in grouper.process(an("a", 60.0))]
[(['a', 'b'], 'b')]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from foreshock.detectors.rare_events import NAME as RARE_EVENTS
from foreshock.graph.backends.base import GraphBackend
from foreshock.graph.rca.ranking import INTRINSIC_ROLES, RootCauseRanker
from foreshock.packs.model import base_name, is_tail_statistic, signal_of
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.incident import Incident
from foreshock.schemas.state import dump_state, load_state


@dataclass
class _Group:
    id: str
    first_onset: float
    last_activity: float
    last_onset: float = 0.0
    anomalies: list[Anomaly] = field(default_factory=list)
    open_series: set[tuple[str, str]] = field(default_factory=set)
    since: dict[tuple[str, str], float] = field(default_factory=dict)
    closed: dict[tuple[str, str], float] = field(default_factory=dict)  # last close per series
    emitted: Incident | None = None
    opened_at: float | None = None
    resolved: bool = False

    @property
    def resources(self) -> set[str]:
        return {a.resource for a in self.anomalies}


#: A group on one resource alone opens once one of its series has been anomalous for this
#: many of its sampling steps (and a lone series for ``single_after`` seconds, at least as
#: many steps): at a 15-second scrape 45 seconds, at a 5-minute step 15 minutes.
LONE_STEPS = 3.0

#: A lone series this many times off its baseline (or under a this-th of it), the way its
#: pack calls bad, is not a blip: it waits :data:`LONE_STEPS` steps, not ``single_after``.
ORDER_OF_MAGNITUDE = 10.0

#: Roles of an open anomaly that do not make a dependent's later anomaly its symptom.
_NOT_PROPAGATING = INTRINSIC_ROLES | {"throughput"}


class IncidentGrouper:
    """Stage logic: anomalies in, incidents (opened, updated, resolved) out."""

    def __init__(
        self,
        graph: GraphBackend,
        ranker: RootCauseRanker,
        max_hops: int = 2,
        window: float = 1800.0,
        min_series: int = 2,
        single_after: float = 300.0,
        resolve_after: float = 900.0,
        blip_gap: float = 300.0,
        spread: float = 300.0,
    ) -> None:
        self.graph = graph
        self.ranker = ranker
        self.max_hops = max_hops
        self.window = window
        self.min_series = min_series
        self.single_after = single_after
        self.resolve_after = resolve_after
        self.blip_gap = blip_gap
        self.spread = spread
        self._groups: list[_Group] = []  # groups that can still change, oldest first
        self._retired: set[str] = set()  # ids of incidents that resolved (never reissued)
        self.suppressed = 0

    @property
    def incidents(self) -> list[Incident]:
        """The latest version of every incident that has not resolved yet."""
        return [g.emitted for g in self._groups if g.emitted is not None]

    @property
    def groups(self) -> int:
        """Groups held: open, recovering, or not yet credible (resolved ones are dropped)."""
        return len(self._groups)

    def _new_id(self, a: Anomaly) -> str:
        name = f"{a.resource}|{a.metric}|{a.onset:.0f}".encode()
        digest = hashlib.sha1(name, usedforsecurity=False).hexdigest()  # an id, not security
        base = f"inc-{int(a.onset)}-{digest[:6]}"
        gid, k = base, 1
        while gid in self._retired or any(g.id == gid for g in self._groups):
            k += 1
            gid = f"{base}-{k}"
        return gid

    def _near(self, g: _Group, a: Anomaly) -> bool:
        if g.open_series and g.opened_at is not None:
            # an ongoing incident: anything connected that begins while it still unfolds
            # (within ``spread`` of its newest onset); a fault that begins later, on a
            # neighbour of a lingering episode, is a new incident, not more of the old one
            # — but a resource still failing in it may go on failing in new ways (a Redis
            # whose memory crept up for twenty minutes starts evicting), and a dependent may
            # show a failure of its dependency that is still going on (a broker that
            # refuses writes, its producers' errors minutes later)
            spreading = g.last_onset + max(self.spread, LONE_STEPS * (a.step or 0.0))
            if a.series not in g.open_series and a.series in g.closed and not self._flaps(g, a):
                return False  # it recovered, and fails again: a new fault of it
            later = a.resource in self._failing(g) or self._caused_by_open(g, a)
            latest = a.onset if later else spreading
        elif not g.open_series and g.opened_at is None:
            latest = g.last_activity + self.blip_gap  # a blip that passed, or log lines
            if a.onset > g.last_activity and not self._could_cause(g, a):
                return False  # over before ``a`` began, and on no dependency of it
        else:
            latest = g.last_activity + self.window
        if a.onset < g.first_onset - self.window or a.onset > latest:
            return False
        if any(self.graph.distance(a.resource, r, self.max_hops) is not None for r in g.resources):
            return True
        # resources the topology does not connect to anything (a replay without one): all
        # that is known is time, and anomalies close in time are one incident
        return self._unconnected(g, a)

    def _unconnected(self, g: _Group, a: Anomaly) -> bool:
        """Whether the topology connects neither ``a``'s resource nor any of ``g``'s."""
        return self._isolated(a.resource) and all(self._isolated(r) for r in g.resources)

    def _could_cause(self, g: _Group, a: Anomaly) -> bool:
        """Whether a blip of ``g`` that passed before ``a`` began can be the start of
        ``a``'s failure: it was on ``a``'s resource or on something ``a``'s resource depends
        on (a short fault of a database, then its clients' errors). A blip on a *client* of
        ``a``'s resource that was over before ``a`` began is not: a failure spreads from a
        dependency to its dependents, and a client's errors that ended minutes before its
        server slowed down are an earlier, unrelated episode (two incidents). Resources the
        topology does not connect: time is all that is known."""
        if a.resource in g.resources or g.resources & self.graph.upstream(a.resource):
            return True
        return self._unconnected(g, a)

    def _failing(self, g: _Group) -> set[str]:
        """Resources of ``g`` still failing: an open anomaly that is not their own usage
        (a container's memory that stays up after a fault is not a failure going on), or
        usage of a bounded capacity of their pack (a Redis nearing ``maxmemory``, a broker's
        log nearing its disk: an exhaustion in progress)."""
        return {
            x.resource
            for x in g.anomalies
            if x.series in g.open_series
            and (
                (x.role or "other") not in INTRINSIC_ROLES
                or base_name(x.metric) in self._bounded(x.resource)
            )
        }

    def _bounded(self, resource: str) -> set[str]:
        """The usage metrics of ``resource``'s pack that have a limit (capacity pairs)."""
        pack = self.ranker.packs.packs.get(self.graph.kind(resource))
        return {c.used for c in pack.capacity} if pack else set()

    def _flaps(self, g: _Group, a: Anomaly) -> bool:
        """Whether ``a`` is a recurrence of a series of the recovering incident ``g`` soon
        after that series closed (within ``spread`` and :data:`LONE_STEPS` of its steps): a
        flapping symptom. Later, the resource is failing again: a new fault to page."""
        closed = g.closed.get(a.series)
        return closed is not None and a.onset <= closed + max(
            self.spread, LONE_STEPS * (a.step or 0.0)
        )

    def _isolated(self, resource: str) -> bool:
        return not self.graph.upstream(resource) and not self.graph.downstream(resource)

    def _caused_by_open(self, g: _Group, a: Anomaly) -> bool:
        """Whether ``a`` is a symptom of a failure still open in ``g``: its resource depends
        on one with an open anomaly that propagates (latency, errors, saturation — not a
        change of traffic, not a resource's own usage such as memory that stays up after a
        fault), and ``a`` itself is not the resource's own usage."""
        if (a.role or "other") in INTRINSIC_ROLES:
            return False
        failing = {
            x.resource
            for x in g.anomalies
            if x.series in g.open_series
            and (x.role or "other") not in _NOT_PROPAGATING
            and a.onset - x.onset <= self.window  # a failure of this fault, not of yesterday
        }
        return bool(failing & self.graph.upstream(a.resource))

    def process(self, a: Anomaly) -> list[Incident]:
        key = a.series
        if a.state == "closed":
            for g in self._groups:
                if key in g.open_series:
                    g.open_series.discard(key)
                    g.closed[key] = a.detected_at
                    g.last_activity = max(g.last_activity, a.detected_at)
            return []
        live = [g for g in self._groups if self._near(g, a)]
        # an opened incident whose anomalies all closed is recovering: until it resolves,
        # only a recurrence of one of its own series joins it (a flapping symptom pages
        # once); anything else is a new incident, so a new fault right after a recovery
        # pages. Groups not opened yet (a blip, log lines) gather connected anomalies.
        ongoing = [g for g in live if g.open_series or g.opened_at is None]
        live = ongoing or [g for g in live if self._flaps(g, a)]
        # a resource's anomalies stay together: an anomaly near the group of its own
        # resource and another joins its own, it does not merge a new fault into an old one
        own = [g for g in live if a.resource in g.resources]
        if len(own) > 1:  # a resource failing again in a new incident: the newest takes it
            own = [max(own, key=lambda g: g.last_onset)]
        live = own or live
        if not live:
            g = _Group(
                id=self._new_id(a),
                first_onset=a.onset,
                last_activity=a.detected_at,
                last_onset=a.onset,
            )
            self._groups.append(g)
        else:
            g = live[0]
            for other in live[1:]:  # the anomaly links them: merge into the oldest
                g.anomalies += other.anomalies
                g.open_series |= other.open_series
                g.since.update(other.since)
                for k, t in other.closed.items():
                    g.closed[k] = max(t, g.closed.get(k, t))
                g.first_onset = min(g.first_onset, other.first_onset)
                g.last_onset = max(g.last_onset, other.last_onset)
                if g.opened_at is None and other.opened_at is not None:
                    g.opened_at, g.emitted = other.opened_at, other.emitted
                if other.emitted is not None:  # an id that was issued is never reissued
                    self._retired.add(other.id)
                self._groups.remove(other)
        g.anomalies.append(a)
        if a.kind != "log":  # a new log template is evidence, not an ongoing condition:
            g.open_series.add(key)  # it neither keeps an incident open nor makes it credible
        g.since.setdefault(key, a.onset)
        g.first_onset = min(g.first_onset, a.onset)
        g.last_onset = max(g.last_onset, a.onset)
        g.last_activity = max(g.last_activity, a.detected_at)
        return self._emit(g, a.detected_at)

    def _demand(self, a: Anomaly) -> bool:
        """A change of traffic either way (role ``throughput``, both directions suspect).

        A traffic metric whose pack calls one direction bad (a consumer's messages
        processed falling, cache misses rising) is a failing signal, not demand.
        """
        if (a.role or "other") != "throughput":
            return False
        return self.ranker.packs.spec(self.graph.kind(a.resource), a.metric).bad == "both"

    def _credible(self, g: _Group, now: float) -> bool:
        if any(a.kind == "predicted_exhaustion" for a in g.anomalies):
            return True  # already a decision with hysteresis: page with its lead time
        counted = [a for a in g.anomalies if a.kind != "log" and not a.probation and not a.routine]
        if all(self._demand(a) for a in counted):
            return False  # traffic alone is demand, not a failure
        # the p90, p95 and p99 of one latency are one signal, not three: series count by
        # signal (the name and labels without the statistic's) per resource; one service's
        # request times as two callers measure them are two observers, two signals
        signals = {(a.resource, signal_of(a.metric)) for a in counted}
        steps = {a.series: a.step or 0.0 for a in counted}
        held = [
            (now - g.since[s], steps[s]) for s in g.open_series if s in steps
        ]  # (seconds open, the series' step) of the counted series still open
        if len(signals) >= self.min_series:
            if len({r for r, _ in signals}) > 1:
                return True  # several resources at once: a fault spreading
            # one resource alone: a lone blip of a few of its series pages nobody
            return any(d >= LONE_STEPS * st for d, st in held)
        # one signal alone: seen only in its tail statistics (p90 and above), it is a few
        # slow requests, not the service failing (that moves its bulk too): never alone
        bulk = {
            (a.resource, signal_of(a.metric)) for a in counted if not is_tail_statistic(a.metric)
        }
        lone = {s for s in g.open_series if s in steps and (s[0], signal_of(s[1])) in bulk}
        if any(a.detector == RARE_EVENTS and a.series in lone for a in counted):
            return True  # errors where there were none: not a noisy series' blip
        # a blip is short *and* small: a series an order of magnitude off its baseline has
        # made its case in the steps two signals of one resource need (its step known)
        latest = {a.series: a for a in counted}  # the episode each series is in now
        strong = {s for s, a in latest.items() if a.step and self._order_of_magnitude(a)}
        return any(
            now - g.since[s]
            >= (
                LONE_STEPS * steps[s]
                if s in strong
                else max(self.single_after, LONE_STEPS * steps[s])
            )
            for s in lone
        )

    def _order_of_magnitude(self, a: Anomaly) -> bool:
        """Whether ``a`` is ten times off its baseline (or more) in a direction the pack of
        its resource calls bad: a latency ×10 up, an availability down to a tenth. A
        baseline of zero has no order of magnitude (counts from none are the rare-event
        reading's: :mod:`foreshock.detectors.rare_events`)."""
        spec = self.ranker.packs.spec(self.graph.kind(a.resource), a.metric)
        if not a.baseline > 0.0 or a.value < 0.0 or not spec.suspects(a.direction):
            return False
        if a.direction == "up":
            return a.value >= ORDER_OF_MAGNITUDE * a.baseline
        return ORDER_OF_MAGNITUDE * a.value <= a.baseline

    def _emit(self, g: _Group, now: float) -> list[Incident]:
        if g.opened_at is None:
            if not self._credible(g, now):
                return []
            g.opened_at = now
        ended = {k: t for k, t in g.closed.items() if k not in g.open_series}
        candidates = self.ranker.rank(g.anomalies, ended)
        resources = sorted(g.resources)
        prev = g.emitted
        if prev is not None:
            same_top = [c.resource for c in prev.candidates[:3]] == [
                c.resource for c in candidates[:3]
            ]
            if same_top and prev.resources == resources and prev.status == "open":
                # still refresh the anomalies list silently
                prev.anomalies = list(g.anomalies)
                prev.candidates = candidates
                return []
        version = 1 if prev is None else prev.version + 1
        g.emitted = Incident(
            id=g.id,
            opened_at=g.opened_at,
            updated_at=now,
            status="open",
            resources=resources,
            anomalies=list(g.anomalies),
            candidates=candidates,
            version=version,
        )
        return [g.emitted]

    def tick(self, now: float) -> list[Incident]:
        out = []
        keep = []
        for g in self._groups:
            if g.opened_at is None:
                if g.open_series and self._credible(g, now):
                    out += self._emit(g, now)
                elif not g.open_series and now - g.last_activity >= self.resolve_after:
                    g.resolved = True
                    self.suppressed += 1
            elif not g.open_series and now - g.last_activity >= self.resolve_after:
                g.resolved = True
                assert g.emitted is not None
                g.emitted = g.emitted.model_copy(
                    update={
                        "status": "resolved",
                        "updated_at": now,
                        "version": g.emitted.version + 1,
                    }
                )
                out.append(g.emitted)
            if g.resolved:  # it can no longer change: drop it, keep its ids reserved
                if g.emitted is not None:
                    self._retired |= {g.id, g.emitted.id}
            else:
                keep.append(g)
        self._groups = keep
        return out

    # -- state as data -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The hyperparameters the groups were formed under."""
        names = (
            "max_hops",
            "window",
            "min_series",
            "single_after",
            "resolve_after",
            "blip_gap",
            "spread",
        )
        return {n: getattr(self, n) for n in names}

    def state_dict(self) -> dict[str, Any]:
        """Every group that can still change (anomalies, open series, emitted incident) and
        the ids of the incidents that resolved, as plain data."""
        return {
            "groups": [_group_state(g) for g in self._groups],
            "retired": sorted(self._retired),
            "suppressed": self.suppressed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict` (a state written before resolved
        groups were dropped, which holds them and no ``retired``, is accepted)."""
        try:
            groups = [_group_of(g) for g in state["groups"]]
            retired = {str(i) for i in state.get("retired", ())}
            self.suppressed = int(state["suppressed"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SnapshotError(f"grouping state does not fit: {exc!r}") from None
        for g in groups:
            if g.resolved and g.emitted is not None:
                retired |= {g.id, g.emitted.id}
        self._groups = [g for g in groups if not g.resolved]
        self._retired = retired

    def snapshot(self) -> bytes:
        return dump_state("grouping", self.state_dict(), self.config())

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "grouping", self.config()))

    def drain(self) -> Iterable[Incident]:
        """Incidents still open at the end of a finite replay (not resolved)."""
        return [g.emitted for g in self._groups if g.emitted is not None]


def _group_state(g: _Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "first_onset": g.first_onset,
        "last_activity": g.last_activity,
        "last_onset": g.last_onset,
        "anomalies": [a.model_dump(mode="python") for a in g.anomalies],
        "open_series": [list(k) for k in sorted(g.open_series)],
        "since": [[r, m, t] for (r, m), t in g.since.items()],
        "closed": [[r, m, t] for (r, m), t in g.closed.items()],
        "emitted": g.emitted.model_dump(mode="python") if g.emitted else None,
        "opened_at": g.opened_at,
        "resolved": g.resolved,
    }


def _group_of(s: dict[str, Any]) -> _Group:
    return _Group(
        id=str(s["id"]),
        first_onset=float(s["first_onset"]),
        last_activity=float(s["last_activity"]),
        last_onset=float(s.get("last_onset", s["first_onset"])),
        anomalies=[Anomaly.model_validate(a) for a in s["anomalies"]],
        open_series={(str(r), str(m)) for r, m in s["open_series"]},
        since={(str(r), str(m)): float(t) for r, m, t in s["since"]},
        closed={(str(r), str(m)): float(t) for r, m, t in s.get("closed", ())},
        emitted=Incident.model_validate(s["emitted"]) if s["emitted"] else None,
        opened_at=None if s["opened_at"] is None else float(s["opened_at"]),
        resolved=bool(s["resolved"]),
    )
