"""Alert events: one per incident state change, deduplicated by incident id.

The fields mirror PagerDuty Events API v2 (``trigger``/``resolve`` with a ``dedup_key``).

Examples
--------
>>> AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0, summary="x",
...            source="redis-cache").severity
'critical'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AlertEvent(BaseModel):
    dedup_key: str = Field(description="Incident id; one page per incident.")
    action: Literal["trigger", "acknowledge", "resolve"]
    timestamp: float
    summary: str
    source: str = Field(description="Root-cause resource.")
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    component: str | None = None
    report_id: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    revision: int = Field(
        default=0,
        ge=0,
        description="0 for an incident's first trigger; n for its n-th same-key trigger, "
        "sent when its root cause or severity changed (PagerDuty updates the alert).",
    )
