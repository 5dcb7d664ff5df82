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


def parse_duration(text: str) -> float:
    """``7d``, ``36h``, ``90m``, ``3600`` → seconds.

    >>> parse_duration("7d"), parse_duration("90m"), parse_duration("3600")
    (604800.0, 5400.0, 3600.0)
    """
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
    text = text.strip().lower()
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


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
    out: list[CapacityForecast] = []
    if not rep.batches:
        return out
    now = rep.batches[-1].timestamp
    for s in stage._series.values():
        if resource and s.resource != resource:
            continue
        if metric and s.metric != metric and not s.metric.startswith(metric + "{"):
            continue
        stage._add(s, now + stage.bucket_s, math.nan)  # close the last bucket
        s.total, s.count = 0.0, 0
        if len(s.times) < stage.min_points:
            continue
        fc = stage._forecast(s, now)
        if fc is None:
            continue
        out.append(
            CapacityForecast(fc, np.asarray(s.times), np.asarray(s.values), s.unit, s.danger)
        )
    out.sort(key=lambda c: (c.left_s, c.forecast.resource, c.forecast.metric))
    return out
