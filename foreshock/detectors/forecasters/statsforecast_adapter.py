"""Shared fit/predict of statsforecast models on a deseasonalised regular grid.

The history is resampled to its median step, cut to the last ``window_s`` seconds (the
cost of ETS and ARIMA grows linearly with the points), its daily profile removed
(:class:`~foreshock.detectors.forecasters.seasonality.DailyProfile`) when it covers two days;
the model forecasts the remainder with ``level=[80, 95]`` and the profile is added back.

Examples
--------
>>> import numpy as np
>>> class Mean:
...     def fit(self, y): self.m = float(y.mean()); return self
...     def predict(self, h, level=()): return {"mean": np.full(h, self.m),
...         **{f"{s}-{lv}": np.full(h, self.m) for s in ("lo", "hi") for lv in level}}
>>> f = GridModel(Mean)
>>> f.fit(3600.0 * np.arange(10), np.arange(10.0))
>>> f.predict(3600.0 * np.array([10.0, 11.0])).point.tolist()
[4.5, 4.5]
>>> f.predict_point(3600.0 * np.array([10.0, 11.0])).tolist()
[4.5, 4.5]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.detectors.forecasters.grid import (
    DAY_S,
    MIN_SEASONS,
    RegularSeries,
    interpolate_prediction,
    season_length,
)
from foreshock.detectors.forecasters.seasonality import DailyProfile

__all__ = ["GridModel"]


class GridModel:
    """A statsforecast-style model (``fit(y)``, ``predict(h, level)``) on a clean grid.

    Parameters
    ----------
    factory
        Builds a fresh unfitted model.
    window_s
        Seconds of recent history fitted (``None``: all).
    season_s, min_seasons
        The season removed, and the seasons of history needed to remove it.
    """

    def __init__(
        self,
        factory: Callable[[], Any],
        window_s: float | None = None,
        season_s: float = DAY_S,
        min_seasons: int = MIN_SEASONS,
    ) -> None:
        self.factory = factory
        self.window_s = window_s
        self.season_s = season_s
        self.min_seasons = min_seasons

    def fit(self, t: FloatArray, y: FloatArray) -> None:
        """Resample, deseasonalise and fit the model on the remainder."""
        g = RegularSeries.from_history(t, y)
        values = g.values
        if self.window_s is not None:
            keep = max(int(self.window_s / g.step) + 1, 3)
            values = values[-keep:]
            g = RegularSeries(values, g.step, g.last_t)
        m = season_length(g.step, g.span_s, self.season_s, self.min_seasons)
        profile = DailyProfile.estimate(values, m)
        adjusted = values - profile.at(np.arange(values.size))
        model = self.factory()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if np.ptp(adjusted) == 0.0:  # constant: most models reject it
                adjusted = adjusted + 1e-9 * np.arange(adjusted.size)
            model.fit(adjusted.astype(np.float64))
        self.grid_ = g
        self.profile_ = profile
        self.model_ = model

    def predict_point(self, t_future: FloatArray) -> FloatArray:
        """:meth:`predict`'s point alone: the model is not asked for intervals (for
        statsforecast's ETS they cost ~50x its point forecast; the point is the same)."""
        g = self.grid_
        h = g.horizon_for(t_future)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.predict(h)
        season = self.profile_.at(g.values.size + np.arange(h))
        mean = np.asarray(out["mean"], dtype=np.float64) + season
        steps = np.arange(1, h + 1, dtype=np.float64)
        return np.asarray(np.interp(g.steps_ahead(t_future), steps, mean), dtype=np.float64)

    def predict(self, t_future: FloatArray) -> Prediction:
        """Model forecast of the remainder plus the profile, read at ``t_future``."""
        g = self.grid_
        h = g.horizon_for(t_future)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.predict(h, level=[80, 95])
        season = self.profile_.at(g.values.size + np.arange(h))

        def get(key: str) -> FloatArray:
            return np.asarray(out[key], dtype=np.float64) + season

        grid_pred = Prediction(get("mean"), get("lo-80"), get("hi-80"), get("lo-95"), get("hi-95"))
        return interpolate_prediction(grid_pred, g.steps_ahead(t_future))
