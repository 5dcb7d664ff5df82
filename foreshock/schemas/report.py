"""Root-cause reports written by an enricher from an incident's evidence.

Examples
--------
>>> r = RootCauseReport(id="inc-1-v1", incident_id="inc-1", created_at=0.0, title="t",
...                     summary="s", root_cause_resource="redis-cache")
>>> r.markdown().startswith("# t")
True
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field


class EvidenceRow(BaseModel):
    resource: str
    metric: str
    onset: float
    direction: str
    value: float
    baseline: float
    score: float


class RootCauseReport(BaseModel):
    id: str
    incident_id: str
    created_at: float
    title: str
    summary: str
    root_cause_resource: str
    failure_mode: str | None = None
    causal_chain: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRow] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    remediations: list[str] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list, description="Ranked resource ids.")
    narrator: str = "offline"
    enriched_by: str = Field(
        default="narrator", description="The model that wrote the report, or 'narrator'."
    )
    enrichment_note: str | None = Field(
        default=None, description="Why the narrator's report stands (no endpoint, rejected …)."
    )
    confidence: float | None = Field(default=None, description="The model's, in [0, 1].")
    would_change: list[str] = Field(default_factory=list, description="What would change it.")
    paging_note: str | None = Field(
        default=None, description="Why no page went out for this incident (a silence)."
    )
    feedback: str | None = Field(
        default=None, description="What an operator said about it (foreshock feedback)."
    )

    def markdown(self) -> str:
        """Render the report as Markdown, as analysts read it."""
        lines = [f"# {self.title}", "", self.summary, ""]
        if self.enriched_by != "narrator":
            sure = "" if self.confidence is None else f", confidence {self.confidence:.0%}"
            lines += [f"_Written by {self.enriched_by} from the evidence below{sure}._", ""]
        if self.enrichment_note:
            lines += [f"_Note: {self.enrichment_note}._", ""]
        if self.paging_note:
            lines += [f"_Paging: {self.paging_note}._", ""]
        if self.feedback:
            lines += [f"_Operator feedback: {self.feedback}._", ""]
        if self.causal_chain:
            lines += ["## Causal chain", ""]
            lines += [f"{i}. {step}" for i, step in enumerate(self.causal_chain, 1)]
            lines.append("")
        if self.evidence:
            lines += [
                "## Evidence",
                "",
                "| resource | metric | onset (UTC) | dir | value | baseline | score |",
                "|---|---|---|---|---|---|---|",
            ]
            for e in self.evidence:
                when = datetime.fromtimestamp(e.onset, tz=UTC).strftime("%H:%M:%S")
                lines.append(
                    f"| {e.resource} | {e.metric} | {when} | {e.direction} | "
                    f"{e.value:.4g} | {e.baseline:.4g} | {e.score:.3f} |"
                )
            lines.append("")
        if self.checks:
            lines += ["## Suggested checks", ""] + [f"- {c}" for c in self.checks] + [""]
        if self.remediations:
            lines += ["## Remediation", ""] + [f"- {c}" for c in self.remediations] + [""]
        if self.would_change:
            lines += ["## What would change this conclusion", ""]
            lines += [f"- {c}" for c in self.would_change] + [""]
        return "\n".join(lines)
