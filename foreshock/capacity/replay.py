"""Forecast every capacity series of a replay folder as of its last sample.

Used by ``foreshock forecast``: the forecast stage reads the whole replay (downsampled
history per capacity series) and refits each series once, at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.sources.replay import read_replay
from foreshock.pipelines.stages.forecast import ForecastStage
from foreshock.schemas.forecast import Forecast


@dataclass
class CapacityForecast:
    forecast: Forecast
    history_t: np.ndarray
    history_y: np.ndarray
    unit: str | None
    danger: str

    @property
    def left_s(self) -> float:
        """Seconds from the forecast to the median exhaustion (inf when not in the horizon)."""
        p50 = self.forecast.exhaustion_p50
        return math.inf if p50 is None else p50 - self.forecast.made_at


def forecast_replay(
    folder: Path,
    horizon_s: float = 7 * 86400.0,
    resource: str | None = None,
    metric: str | None = None,
) -> list[CapacityForecast]:
    """Forecasts of the replay's capacity series, sorted by time to exhaustion."""
    rep = read_replay(folder)
    stage = ForecastStage(
        kinds=rep.topology.kinds(),
        packs=PackIndex(load_packs()),
        horizon_s=horizon_s,
        refit_every=math.inf,
        min_points=12,
    )
    for b in rep.batches:
        stage.process(b)
    if not rep.batches:
        return []

    def keep(r: str, m: str) -> bool:
        if resource and r != resource:
            return False
        return not metric or m == metric or m.startswith(metric + "{")

    out = [
        CapacityForecast(s.forecast, s.times, s.values, s.unit, s.danger)
        for s in stage.forecast_now(rep.batches[-1].timestamp, keep)
    ]
    out.sort(key=lambda c: (c.left_s, c.forecast.resource, c.forecast.metric))
    return out
