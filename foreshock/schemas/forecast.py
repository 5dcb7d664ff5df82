"""Forecasts of capacity series (filled in by the forecasting stage).

Examples
--------
>>> Forecast(resource="host-1", metric="node_filesystem_avail_bytes", made_at=0.0,
...          model="linear", horizon_s=3600.0).exhaustion_p50 is None
True
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Forecast(BaseModel):
    """Point forecast, intervals and time-to-exhaustion of one series."""

    resource: str
    metric: str
    made_at: float
    model: str
    horizon_s: float
    timestamps: list[float] = Field(default_factory=list)
    point: list[float] = Field(default_factory=list)
    lower80: list[float] = Field(default_factory=list)
    upper80: list[float] = Field(default_factory=list)
    lower95: list[float] = Field(default_factory=list)
    upper95: list[float] = Field(default_factory=list)
    limit: float | None = None
    backtest_error: float | None = None
    exhaustion_p10: float | None = None
    exhaustion_p50: float | None = None
    exhaustion_p90: float | None = None
