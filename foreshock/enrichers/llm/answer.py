"""What the model must answer: a report as JSON, validated against :class:`LlmAnswer`.

Examples
--------
>>> a = LlmAnswer.model_validate_json('''{"summary": "Redis ran out of memory at E1.",
...   "root_cause": {"resource": "redis-cache", "failure_mode": "memory_exhaustion"},
...   "causal_chain": [{"step": "memory at its limit", "evidence": ["E1"]}],
...   "checks": [{"command": "redis-cli INFO memory", "why": "used vs max"}],
...   "remediations": [{"action": "Raise maxmemory", "risk": "medium"}],
...   "confidence": 0.8, "would_change": ["evictions without memory growth"]}''')
>>> a.cited()
['E1']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Check", "LlmAnswer", "Remediation", "RootCause", "Step"]


class RootCause(BaseModel):
    """The resource named as the cause, one of the ranked candidates, and its failure mode."""

    model_config = ConfigDict(extra="forbid")
    resource: str
    failure_mode: str | None = None


class Step(BaseModel):
    """One link of the causal chain, citing the evidence ids that show it."""

    model_config = ConfigDict(extra="forbid")
    step: str = Field(max_length=500)
    evidence: list[str] = Field(min_length=1)


class Check(BaseModel):
    """A check to run, with the exact command, and what it tells."""

    model_config = ConfigDict(extra="forbid")
    command: str = Field(max_length=500)
    why: str = Field(max_length=500)


class Remediation(BaseModel):
    """An action with its risk."""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=500)
    risk: Literal["low", "medium", "high"]


class LlmAnswer(BaseModel):
    """The report a model writes, as the JSON schema in the prompt asks."""

    model_config = ConfigDict(extra="forbid")
    summary: str = Field(max_length=2000)
    root_cause: RootCause
    causal_chain: list[Step] = Field(min_length=1, max_length=10)
    checks: list[Check] = Field(default_factory=list, max_length=10)
    remediations: list[Remediation] = Field(default_factory=list, max_length=10)
    confidence: float = Field(ge=0.0, le=1.0)
    would_change: list[str] = Field(default_factory=list, max_length=10)

    def cited(self) -> list[str]:
        """Every evidence id the chain cites, in order, once each."""
        seen: dict[str, None] = {}
        for s in self.causal_chain:
            for e in s.evidence:
                seen.setdefault(e, None)
        return list(seen)

    def texts(self) -> list[str]:
        """Every free text of the answer (where a number could be invented)."""
        return [
            self.summary,
            *(s.step for s in self.causal_chain),
            *(r.action for r in self.remediations),
            *(c.why for c in self.checks),
            *self.would_change,
        ]
