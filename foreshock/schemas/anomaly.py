"""Anomalies: what a detector says about one series.

Examples
--------
>>> a = Anomaly(resource="redis-cache", metric="redis_evicted_keys_total", onset=100.0,
...             detected_at=160.0, score=0.999, raw_score=9.1, direction="up",
...             value=40.0, baseline=0.5, detector="fleet")
>>> a.series
('redis-cache', 'redis_evicted_keys_total')
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Direction = Literal["up", "down"]


class Anomaly(BaseModel):
    """A confirmed anomalous episode on one series (emitted once when confirmed)."""

    resource: str
    metric: str
    onset: float = Field(description="Epoch seconds when the series first left its baseline.")
    detected_at: float = Field(description="Epoch seconds when the episode was confirmed.")
    score: float = Field(ge=0.0, le=1.0, description="Calibrated score in [0, 1].")
    raw_score: float = Field(description="Detector's own score (robust z for the fleet tier).")
    direction: Direction
    value: float
    baseline: float
    detector: str
    kind: Literal["metric", "log", "predicted_exhaustion"] = "metric"
    role: str | None = Field(default=None, description="Pack role of the metric, if known.")
    state: Literal["open", "closed"] = Field(
        default="open", description="'open' when confirmed, 'closed' when the series is back."
    )
    unit: str | None = Field(default=None, description="Unit of value; '/s' for counter rates.")
    evidence: list[str] = Field(
        default_factory=list,
        description="Text evidence, e.g. the mined log templates behind a 'log' anomaly.",
    )
    step: float | None = Field(
        default=None, description="Sampling step of the series in seconds, as learned."
    )
    probation: bool = Field(
        default=False,
        description=(
            "The series is still learning its normal (few samples since it appeared or came "
            "back from a gap): evidence, but it does not make an incident credible."
        ),
    )

    routine: bool = Field(
        default=False,
        description=(
            "The series often makes short excursions this far that come to nothing (several "
            "in its last day): evidence, but it does not make an incident credible."
        ),
    )

    @property
    def series(self) -> tuple[str, str]:
        return (self.resource, self.metric)
