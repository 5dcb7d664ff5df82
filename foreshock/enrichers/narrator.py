"""The offline narrator: a root-cause report from the incident's evidence only.

No LLM and no outside knowledge beyond the packs: every sentence is built from the
incident's anomalies, the ranked candidates' evidence and the matched failure mode, so
the report is deterministic and every claim can be checked against the evidence table.

Examples
--------
>>> from foreshock.packs.loader import load_packs
>>> from foreshock.schemas.incident import Incident, RootCauseCandidate
>>> inc = Incident(id="inc-1", opened_at=0.0, updated_at=0.0, resources=["redis-cache"],
...     candidates=[RootCauseCandidate(resource="redis-cache", kind="redis", score=0.9,
...                                    failure_mode="memory_exhaustion")])
>>> report = OfflineNarrator(load_packs()).narrate(inc)
>>> report.title
'Redis memory exhausted, keys evicted on redis-cache'
>>> report.remediations[0].startswith("Raise maxmemory")
True
"""

from __future__ import annotations

from datetime import UTC, datetime

from foreshock.packs.model import FailureMode, Pack
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident, RootCauseCandidate
from foreshock.schemas.report import EvidenceRow, RootCauseReport


def clock(t: float) -> str:
    """UTC wall-clock time of an epoch, as operators read it."""
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M:%S")


def _change(a: Anomaly) -> str:
    unit = f" {a.unit}" if a.unit else ""
    return f"{a.metric} {a.direction} ({a.baseline:.4g} → {a.value:.4g}{unit})"


class OfflineNarrator:
    """Deterministic, evidence-only report writer."""

    name = "offline"

    def __init__(self, packs: dict[str, Pack]) -> None:
        self.packs = packs

    def _mode(self, c: RootCauseCandidate) -> FailureMode | None:
        pack = self.packs.get(c.kind)
        if pack is None or c.failure_mode is None:
            return None
        return pack.failure_modes.get(c.failure_mode)

    def narrate(self, incident: Incident) -> RootCauseReport:
        top = incident.candidates[0] if incident.candidates else None
        anomalies = sorted(
            (a for a in incident.anomalies if a.state == "open"), key=lambda a: a.onset
        )
        if top is None:
            return RootCauseReport(
                id=f"{incident.id}-v{incident.version}",
                incident_id=incident.id,
                created_at=incident.updated_at,
                title=f"Incident {incident.id}",
                summary="No candidate could be ranked.",
                root_cause_resource="unknown",
                narrator=self.name,
            )
        mode = self._mode(top)
        what = mode.title if mode else "Anomalous behaviour"
        title = f"{what} on {top.resource}"
        ev = top.evidence
        n_res = len(incident.resources)
        parts = [
            f"Between {clock(anomalies[0].onset) if anomalies else clock(incident.opened_at)} and "
            f"{clock(incident.updated_at)}, {len(anomalies)} anomalies on {n_res} resources "
            f"formed incident {incident.id}.",
            f"The most likely root cause is {top.resource} ({top.kind})"
            + (f", failure mode {top.failure_mode}" if top.failure_mode else "")
            + f", with score {top.score:.2f}.",
        ]
        why = []
        if ev.onset is not None and anomalies and ev.onset <= anomalies[0].onset + 1:
            why.append("its anomalies began first")
        if ev.explained_resources:
            why.append(
                f"it explains the anomalies on {len(ev.explained_resources)} other resource(s) "
                f"({', '.join(ev.explained_resources[:6])})"
            )
        if ev.matched_symptoms:
            why.append(
                f"its symptoms match the pack's failure mode ({'; '.join(ev.matched_symptoms)})"
            )
        if ev.log_templates:
            why.append(
                f"its logs show new messages ({'; '.join(repr(t) for t in ev.log_templates[:3])})"
            )
        if why:
            parts.append("Reasons: " + "; ".join(why) + ".")
        if len(incident.candidates) > 1:
            alt = ", ".join(f"{c.resource} ({c.score:.2f})" for c in incident.candidates[1:4])
            parts.append(f"Other candidates: {alt}.")
        if incident.status == "resolved":
            parts.append(f"The incident resolved at {clock(incident.updated_at)}.")

        chain = self._chain(top, anomalies)
        evidence = [
            EvidenceRow(
                resource=a.resource,
                metric=a.metric,
                onset=a.onset,
                direction=a.direction,
                value=a.value,
                baseline=a.baseline,
                score=a.score,
            )
            for a in anomalies
        ]
        checks = (
            list(mode.checks) if mode else [f"Inspect {top.resource}'s recent changes and logs"]
        )
        remediations = list(mode.remediations) if mode else []
        return RootCauseReport(
            id=f"{incident.id}-v{incident.version}",
            incident_id=incident.id,
            created_at=incident.updated_at,
            title=title,
            summary=" ".join(parts),
            root_cause_resource=top.resource,
            failure_mode=top.failure_mode,
            causal_chain=chain,
            evidence=evidence,
            checks=checks,
            remediations=remediations,
            candidates=[c.resource for c in incident.candidates],
            narrator=self.name,
        )

    def _chain(self, top: RootCauseCandidate, anomalies: list[Anomaly]) -> list[str]:
        """One step per resource, in onset order along the evidence paths."""
        first: dict[str, Anomaly] = {}
        for a in anomalies:
            first.setdefault(a.resource, a)
        steps = []
        root = first.get(top.resource)
        if root is not None:
            steps.append(f"{_short(root.onset)} {top.resource}: {_change(root)} — the root cause")
        via = {p[0]: p for p in top.evidence.paths}
        for r, a in sorted(first.items(), key=lambda kv: kv[1].onset):
            if r == top.resource:
                continue
            path = via.get(r)
            if path and len(path) > 2:
                how = f" (depends on {top.resource} via {' → '.join(path[1:-1])})"
            elif path:
                how = f" (depends on {top.resource})"
            elif r in top.evidence.explained_resources:
                how = f" (an effect of {top.resource}'s {top.failure_mode or 'failure'})"
            else:
                how = " (not explained by the root cause)"
            steps.append(f"{_short(a.onset)} {r}: {_change(a)}{how}")
        return steps
