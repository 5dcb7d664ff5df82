"""Root-cause ranking: which anomalous resource best explains the whole incident.

Each anomalous resource is a candidate. Its score combines four factors, each in [0, 1]:

- **direction** (weight 0.4): the share of the incident's anomalous metric families (a
  name without labels on one resource: the p90 and p99 of one latency count once) it
  explains: its own,
  those on resources that depend on it (failures travel against dependency edges; a
  dependency's outage does not explain its dependents' *utilisation* metrics, such as a
  log that grows; a dependency whose only anomalies are changes of traffic has not failed
  — the deepest dependency of a broken service sees its traffic change — and explains
  none of its dependents; a dependency that only got slower explains a dependent's
  slowdown only if it got slower by at least half as much — request times add up along
  a call chain — and nothing of a dependent over :data:`OUTGROWN` times slower than itself,
  which fails on its own), the utilisation and load of the host it runs on (a host's CPU and load
  sum what runs on it), and the effects its pack's failure mode declares on other
  resources (a Redis that evicts explains the query surge on the database behind its
  clients);
- **onset** (0.3): causes start earlier: ``exp(-(onset - first onset) / tau)``, where a
  resource's onset is its earliest *corroborated* one (see :meth:`RootCauseRanker.
  effective_onsets`: a lone early blip is not rewarded for being early) and ``tau`` is at
  least the series' sampling step, and onsets one sampling step apart count as
  simultaneous (a sample is taken once per step: the later series may have moved first);
- **knowledge** (0.2): how much of the best-matching failure mode of its pack is seen
  on it (weighted symptoms; a new log template matching one of the mode's log patterns
  counts as one more symptom of weight :data:`LOG_PATTERN_WEIGHT`), read from its
  anomalies still open when the incident's burst began — a mode's symptoms show together,
  and an episode that ended before is an earlier state of the resource (used only when it
  has nothing else);
- **strength** (0.1): how far its strongest anomaly is from baseline.

The evidence (paths, onsets, matched symptoms, the four parts) goes into the candidate,
so the report can cite it and a person can check it.

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> from foreshock.packs.loader import PackIndex, load_packs
>>> from foreshock.schemas.anomaly import Anomaly
>>> from foreshock.schemas.topology import Topology
>>> g = NetworkXGraph(Topology.model_validate({"nodes": [{"id": "app", "kind": "service"},
...     {"id": "cache", "kind": "redis"}], "edges": [{"from": "app", "to": "cache"}]}))
>>> def an(r, m, onset, z):
...     return Anomaly(resource=r, metric=m, onset=onset, detected_at=onset + 30, score=1.0,
...                    raw_score=z, direction="up", value=1.0, baseline=0.0, detector="fleet")
>>> ranked = RootCauseRanker(g, PackIndex(load_packs())).rank([
...     an("app", 'http_request_duration_seconds{quantile="0.99"}', 600.0, 9.0),
...     an("cache", "redis_memory_used_bytes", 0.0, 8.0),
...     an("cache", "redis_evicted_keys_total", 500.0, 50.0)])
>>> [(c.resource, c.failure_mode) for c in ranked]
[('cache', 'memory_exhaustion'), ('app', 'latency_regression')]
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from foreshock.graph.backends.base import GraphBackend
from foreshock.packs.loader import PackIndex
from foreshock.packs.model import (
    Effect,
    FailureMode,
    Symptom,
    family_of,
    quantile_of,
)
from foreshock.packs.naming import same_subject
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import CandidateEvidence, RootCauseCandidate, ScoreParts

#: The pack read for a resource of no known kind whose metrics no pack names.
DEFAULT_KIND = "service"

#: Roles a dependency's failure does not explain on a dependent (they are its own usage).
INTRINSIC_ROLES = frozenset({"utilisation", "limit"})

WEIGHTS = ScoreParts(direction=0.4, onset=0.3, knowledge=0.2, strength=0.1)

#: A dependency that only got slower explains a dependent's slowdown only if its own rise
#: (in seconds) is at least this share of the dependent's: request times add up along a call
#: chain, so a database 40 ms slower cannot make its client 400 ms slower (a share of 1/2
#: leaves room for a client that calls it twice per request).
LATENCY_SHARE = 0.5
#: A client whose request time rose by more than this many times a slowdown-only
#: dependency's (same statistic) is failing on its own: that dependency explains none of
#: its signals, its errors included. Wider than ``1 / LATENCY_SHARE``: one request may call
#: the dependency a few times (OnlineBoutique's checkout calls currency twice per request:
#: 2.03 times its per-call rise), a client failing on its own is far beyond (PetShop's
#: payforadoption erring, p95 +0.70 s over its database's p99 +0.076 s: 9.2 times).
OUTGROWN = 4.0

#: Roles of a host's metrics that sum what runs on it: a process on the host that fails
#: (evicts, spins, retries) moves its host's CPU and load as much as a runaway neighbour.
HOST_SUM_ROLES = frozenset({"utilisation", "saturation"})

#: Weight of a log line matching a failure mode's pattern, as a symptom of that mode.
LOG_PATTERN_WEIGHT = 2.0
_MODE_HINT = "failure_mode:"


def log_hints(own: Sequence[Anomaly]) -> set[str]:
    """Failure modes the log anomalies of a resource point at (``failure_mode:x`` evidence)."""
    return {
        e[len(_MODE_HINT) :]
        for a in own
        if a.kind == "log"
        for e in a.evidence
        if e.startswith(_MODE_HINT)
    }


#: Units of a request time, in seconds (a counter's ``ms/s`` is a rate, not a time).
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _rise_s(a: Anomaly) -> float | None:
    """How many seconds a request-time anomaly added (None for any other anomaly)."""
    scale = TIME_UNITS.get(a.unit or "")
    if (a.role or "other") != "latency" or scale is None or a.direction != "up":
        return None
    return max(a.value - a.baseline, 0.0) * scale


def slowdown_only(own: Sequence[Anomaly]) -> float | None:
    """The largest rise in seconds of a resource whose failing signals are all request times.

    None when the resource shows anything else that may break its clients (errors, a
    saturation, a restart, a log line): then its clients' symptoms are not bounded by its
    latency.

    >>> from foreshock.schemas.anomaly import Anomaly
    >>> def an(m, v, role="latency", unit="s"):
    ...     return Anomaly(resource="db", metric=m, onset=0, detected_at=0, score=1,
    ...         raw_score=9, direction="up", value=v, baseline=0.01, detector="fleet",
    ...         role=role, unit=unit)
    >>> round(slowdown_only([an("q_seconds", 0.05), an("q_seconds{p='99'}", 0.09)]), 2)
    0.08
    >>> slowdown_only([an("q_seconds", 0.05), an("errors", 3, role="errors", unit="/s")]) is None
    True
    """
    rises = []
    for a in own:
        if (a.role or "other") == "throughput":
            continue
        r = _rise_s(a)
        if r is None:
            return None
        rises.append(r)
    return max(rises) if rises else None


def _quantile(a: Anomaly) -> float | None:
    """The quantile a request-time series carries (0.99 for ``p99`` or ``0.99``; None for a
    mean or a series without a statistic label)."""
    return quantile_of(a.metric)


def _outgrown(
    below: set[str], by_res: dict[str, list[Anomaly]], own: Sequence[Anomaly]
) -> set[str]:
    """Dependents of a slowdown-only dependency whose own request time rose by more than it
    can account for: by more than :data:`OUTGROWN` times the dependency's rise of a
    comparable statistic — of the mean for a mean, of the nearest quantile at or above the
    client's for a quantile (the dependency's tail bounds what it adds to the client's
    p95; its mean says nothing of the client's p99). No comparable statistic: not outgrown.
    """
    means: list[float] = []
    tails: list[tuple[float, float]] = []
    for a in own:
        r, q = _rise_s(a), _quantile(a)
        if r is not None and q is None:
            means.append(r)
        elif r is not None and q is not None:
            tails.append((q, r))
    out = set()
    for res in below:
        for a in by_res.get(res, ()):
            rise, q = _rise_s(a), _quantile(a)
            if rise is None:
                continue
            if q is None:
                bound = max(means, default=None)
            else:
                above = [qd for qd, _ in tails if qd >= q]
                # of the nearest statistic, the slowest series (one endpoint, one caller)
                near = min(above, default=None)
                bound = max((r for qd, r in tails if qd == near), default=None)
            if bound is not None and rise > OUTGROWN * bound:
                out.add(res)
    return out


def _family(a: Anomaly) -> tuple[str, str]:
    """A series' metric family: its resource and metric name without labels."""
    return a.resource, family_of(a.metric)


class RootCauseRanker:
    """Rank the resources of an incident by how well each explains it.

    Parameters
    ----------
    graph
        Dependency graph backend (embedded or Neo4j: same answers).
    packs
        Pack knowledge: failure modes, their symptoms and effects.
    onset_tau
        Seconds over which the onset factor decays to 1/e.
    weights
        Weights of the four factors.
    """

    def __init__(
        self,
        graph: GraphBackend,
        packs: PackIndex,
        onset_tau: float = 180.0,
        weights: ScoreParts = WEIGHTS,
    ) -> None:
        self.graph = graph
        self.packs = packs
        self.onset_tau = onset_tau
        self.weights = weights

    def best_mode(
        self, resource: str, own: Sequence[Anomaly]
    ) -> tuple[str | None, float, list[str]]:
        """Failure mode of the resource's pack best matched by its anomalies."""
        return self._best_mode(self.kind_of(resource, own), own)

    def _best_mode(self, kind: str, own: Sequence[Anomaly]) -> tuple[str | None, float, list[str]]:
        pack = self.packs.packs.get(kind)
        if pack is None or not own:
            return None, 0.0, []
        best: tuple[str | None, float, list[str]] = (None, 0.0, [])
        hints = log_hints(own)
        unnamed = [a for a in own if not self.packs.named(kind, a.metric)]
        for name, mode in pack.failure_modes.items():
            total = sum(s.weight for s in mode.symptoms) or 1.0
            seen, labels = 0.0, []
            stood_in: set[str] = set()  # roles a series no pack names stood in for
            for s in sorted(mode.symptoms, key=lambda s: -s.weight):
                label = self._symptom_seen(kind, s, own, unnamed, stood_in)
                if label is not None:
                    seen += s.weight
                    labels.append(label)
            if name in hints:
                seen, total = seen + LOG_PATTERN_WEIGHT, total + LOG_PATTERN_WEIGHT
                labels.append("a log line of this failure mode")
            score = seen / total
            if score > best[1]:
                best = (name, score, labels)
        return best

    def _symptom_seen(
        self,
        kind: str,
        s: Symptom,
        own: Sequence[Anomaly],
        unnamed: Sequence[Anomaly],
        stood_in: set[str],
    ) -> str | None:
        """How a symptom shows among a resource's anomalies (None: it does not).

        By its pack name, else on a series no pack names that reads as the same signal
        (same role, a subject word in common: :func:`~foreshock.packs.naming.same_subject`),
        so a user's ``cpu_usage`` is a CPU symptom as ``container_cpu_usage_percent`` is.
        A mode often lists one signal under each exporter's name (three names of an error
        count, two of a request time), and a reading cannot tell which name a series
        replaces: series read from their names stand in for one symptom per role only
        (``stood_in`` collects the roles used), or one ``error_rate`` would read as three
        symptoms and a client's and a server's request time as two.
        """
        if any(s.matches(a.metric, a.direction) for a in own):
            return f"{s.metric} {s.direction}"
        role = self.packs.spec(kind, s.metric).role
        if role in stood_in:
            return None
        for a in unnamed:
            if a.direction == s.direction and same_subject(s.metric, role, a.metric):
                stood_in.add(role)
                return f"{s.metric} {s.direction} (read as {family_of(a.metric)})"
        return None

    def kind_of(self, resource: str, own: Sequence[Anomaly]) -> str:
        """The kind whose pack reads ``resource``'s failure modes: its topology kind; for a
        resource of no known kind (no topology, or a kind no pack covers), the kind whose
        pack names most of its metrics, else :data:`DEFAULT_KIND` — a service's modes (errors,
        latency, CPU, memory) are those of any process."""
        kind = self.graph.kind(resource)
        if kind in self.packs.packs:
            return kind
        votes = Counter(
            k for a in own for k, pack in self.packs.packs.items() if pack.metric(a.metric)
        )
        if votes:
            return votes.most_common(1)[0][0]
        return DEFAULT_KIND if DEFAULT_KIND in self.packs.packs else kind

    def _mode(self, kind: str, name: str | None) -> FailureMode | None:
        pack = self.packs.packs.get(kind)
        return pack.failure_modes.get(name) if pack and name else None

    def _effect_targets(self, resource: str, effect: Effect) -> set[str]:
        if effect.relation == "host":
            targets = self.graph.hosts_of(resource)
        elif effect.relation == "dependents":
            targets = self.graph.downstream(resource)
        else:  # the other dependencies of the resource's clients
            targets = set()
            for client in self.graph.downstream(resource):
                targets |= self.graph.upstream(client)
            targets.discard(resource)
        if effect.kind:
            targets = {t for t in targets if self.graph.kind(t) == effect.kind}
        return targets

    def _explains(
        self,
        cand: str,
        mode: FailureMode | None,
        a: Anomaly,
        below: set[str],
        slower_by: float | None = None,
        hosts: frozenset[str] = frozenset(),
    ) -> bool:
        if a.resource == cand:
            return True
        if a.resource in hosts and (a.role or "other") in HOST_SUM_ROLES:
            return True
        if a.resource in below and (a.role or "other") not in INTRINSIC_ROLES:
            rise = _rise_s(a)
            if slower_by is None or rise is None or slower_by >= LATENCY_SHARE * rise:
                return True
        if mode is not None:
            for eff in mode.effects:
                if eff.matches(a.metric, a.direction) and a.resource in self._effect_targets(
                    cand, eff
                ):
                    return True
        return False

    def _corroborated(self, opened: Sequence[Anomaly]) -> list[tuple[str, float]]:
        """(resource, onset) of each anomaly another metric family began near (see below)."""
        fams = [(a.onset, (a.resource, family_of(a.metric)), a.step or 0.0) for a in opened]
        out: list[tuple[str, float]] = []
        for a, (t, fam, step) in zip(opened, fams, strict=True):
            tol = max(self.onset_tau, step)
            if any(f != fam and abs(u - t) <= tol for u, f, _ in fams):
                out.append((a.resource, t))
        return out

    def effective_onsets(self, opened: Sequence[Anomaly]) -> dict[str, float]:
        """Each resource's onset for the onset factor: its earliest *corroborated* onset.

        An onset is corroborated when another metric family (a name without labels, on
        this resource or another) begins within ``onset_tau`` (or one sampling step) of it.
        A resource whose anomalies all began alone, before the burst, gets the incident's
        first corroborated onset instead: one early blip of a single signal is not the
        beginning of the fault, and must not win the onset factor for being early.
        """
        return self._onsets_and_burst(opened)[0]

    def _onsets_and_burst(self, opened: Sequence[Anomaly]) -> tuple[dict[str, float], float]:
        """The effective onsets and the burst: the incident's first corroborated onset."""
        corroborated = self._corroborated(opened)
        burst = min((t for _, t in corroborated), default=min(a.onset for a in opened))
        out: dict[str, float] = {}
        for a in opened:
            out[a.resource] = min(out.get(a.resource, math.inf), a.onset)
        for r, t in out.items():
            own = [u for res, u in corroborated if res == r]
            out[r] = min(own) if own else max(t, burst)
        return out, burst

    def rank(
        self,
        anomalies: Sequence[Anomaly],
        ended: Mapping[tuple[str, str], float] | None = None,
    ) -> list[RootCauseCandidate]:
        """Candidates sorted best first, each with its evidence.

        ``ended``: when each series that is no longer anomalous closed (by
        :attr:`~foreshock.schemas.anomaly.Anomaly.series`). A resource's failure mode is
        read from its anomalies still open when the incident's burst began (a failure
        mode's symptoms show together); those that ended before are an earlier state of
        it (a CPU spike over minutes before its latency rose is not CPU saturation), used
        only when it has nothing else.
        """
        episodes = [a for a in anomalies if a.state == "open"] or list(anomalies)
        if not episodes:
            return []
        # one vote per series: a flapping series' repeated episodes must not outweigh the
        # other series (its first episode carries its onset)
        first_of: dict[tuple[str, str], Anomaly] = {}
        for a in sorted(episodes, key=lambda a: a.onset):
            first_of.setdefault(a.series, a)
        opened = list(first_of.values())
        by_res: dict[str, list[Anomaly]] = defaultdict(list)
        for a in opened:
            by_res[a.resource].append(a)
        families = {_family(a) for a in opened}
        onsets, burst = self._onsets_and_burst(opened)
        first = min(onsets.values())
        steps = sorted(a.step for a in opened if a.step)
        # onsets are known to one sampling step: closer ones are not ordered
        resolution = steps[len(steps) // 2] if steps else 0.0
        tau = max(self.onset_tau, resolution)
        ended = ended or {}
        out = []
        for cand, own in by_res.items():
            # the symptoms of a failure mode show together: the mode is read from what was
            # still failing when the burst began (a precursor that ended before: only alone)
            now = [a for a in own if ended.get(a.series, math.inf) >= burst] or own
            kind = self.kind_of(cand, now)
            mode_name, knowledge, matched = self._best_mode(kind, now)
            mode = self._mode(kind, mode_name)
            # a failure travels up to dependents as latency, errors, saturation... not as a
            # change of traffic: a database whose queries drop because its client broke
            # has not failed, and explains none of the client's symptoms
            fails = any((a.role or "other") != "throughput" for a in own)
            below = self.graph.downstream(cand) if fails else set()
            slower_by = slowdown_only(own)
            if slower_by is not None:
                # a client slower by far more than this dependency is failing on its own:
                # the dependency explains none of its signals (its errors included)
                below = below - _outgrown(below, by_res, own)
            hosts = frozenset(self.graph.hosts_of(cand))
            explained = [
                a for a in opened if self._explains(cand, mode, a, below, slower_by, hosts)
            ]
            # by metric family: the p90, p95 and p99 of one latency are one signal
            direction = len({_family(a) for a in explained}) / len(families)
            onset = min(a.onset for a in own)
            onset_part = math.exp(-max(onsets[cand] - first - resolution, 0.0) / tau)
            zmax = max(abs(a.raw_score) for a in own)
            strength = 1.0 - math.exp(-zmax / 10.0)
            parts = ScoreParts(
                direction=direction, onset=onset_part, knowledge=knowledge, strength=strength
            )
            w = self.weights
            score = (
                w.direction * direction
                + w.onset * onset_part
                + w.knowledge * knowledge
                + w.strength * strength
            )
            others = sorted({a.resource for a in explained} - {cand})
            paths = []
            for r in others:
                p = self.graph.dependency_path(r, cand)
                if p:
                    paths.append(p)
            out.append(
                RootCauseCandidate(
                    resource=cand,
                    score=round(score, 6),
                    kind=self.graph.kind(cand),
                    failure_mode=mode_name,
                    evidence=CandidateEvidence(
                        onset=onset,
                        anomalous_metrics=sorted({a.metric for a in own}),
                        explained_resources=others,
                        paths=paths[:8],
                        matched_symptoms=matched,
                        log_templates=sorted(
                            {a.evidence[0] for a in own if a.kind == "log" and a.evidence}
                        )[:8],
                        parts=parts,
                    ),
                )
            )
        out.sort(key=lambda c: (-c.score, c.evidence.onset or 0.0, c.resource))
        return out
