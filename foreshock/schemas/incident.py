"""Incidents: anomalies grouped in time and on the dependency graph, with ranked causes.

Examples
--------
>>> c = RootCauseCandidate(resource="redis-cache", score=0.91, failure_mode="memory_exhaustion")
>>> inc = Incident(id="inc-1", opened_at=10.0, updated_at=10.0, resources=["redis-cache"],
...                candidates=[c])
>>> inc.root_cause.resource if inc.root_cause else None
'redis-cache'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from foreshock.schemas.anomaly import Anomaly


class ScoreParts(BaseModel):
    """The factors a candidate's score was combined from, each in [0, 1]."""

    strength: float = 0.0
    onset: float = 0.0
    direction: float = 0.0
    knowledge: float = 0.0


class CandidateEvidence(BaseModel):
    """Why a candidate was ranked where it was; a person can check every item."""

    onset: float | None = Field(default=None, description="Earliest anomaly onset on the resource.")
    anomalous_metrics: list[str] = Field(default_factory=list)
    explained_resources: list[str] = Field(
        default_factory=list, description="Anomalous resources that depend on this one."
    )
    paths: list[list[str]] = Field(
        default_factory=list, description="Dependency paths symptom → … → candidate."
    )
    matched_symptoms: list[str] = Field(
        default_factory=list, description="Pack symptoms of the failure mode seen on the resource."
    )
    log_templates: list[str] = Field(
        default_factory=list, description="New log templates seen on the resource (log anomalies)."
    )
    parts: ScoreParts = Field(default_factory=ScoreParts)


class RootCauseCandidate(BaseModel):
    resource: str
    score: float
    kind: str = "other"
    failure_mode: str | None = None
    evidence: CandidateEvidence = Field(default_factory=CandidateEvidence)


class RootCause(BaseModel):
    resource: str
    failure_mode: str | None = None


class Incident(BaseModel):
    """A set of anomalies close in time and connected in the graph."""

    id: str
    opened_at: float
    updated_at: float
    status: Literal["open", "resolved"] = "open"
    resources: list[str] = Field(default_factory=list)
    anomalies: list[Anomaly] = Field(default_factory=list)
    candidates: list[RootCauseCandidate] = Field(
        default_factory=list, description="Ranked, best first."
    )
    version: int = Field(default=1, description="Bumped on every change after opening.")

    @property
    def root_cause(self) -> RootCause | None:
        if not self.candidates:
            return None
        top = self.candidates[0]
        return RootCause(resource=top.resource, failure_mode=top.failure_mode)
