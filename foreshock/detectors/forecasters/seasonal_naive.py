"""Seasonal naive: tomorrow repeats today (or the last value when there is no season).

The season is one day of points when the history covers at least two days, else the
model is the naive last-value forecast. Intervals come from the empirical distribution
of the in-sample seasonal-naive residuals ``y[i] - y[i - m]``, widened by ``sqrt(k)``
where ``k = ceil(steps / m)`` is the number of seasons ahead (``sqrt(steps)`` for the
naive forecast), the random-walk growth of the error of a repeated season.

Examples
--------
>>> import numpy as np
>>> t = 3600.0 * np.arange(72)
>>> y = np.sin(2 * np.pi * t / 86_400.0)
>>> m = SeasonalNaive()
>>> m.fit(t, y)
>>> m.season_
24
>>> p = m.predict(t[-1] + 3600.0 * np.arange(1, 7))
>>> bool(np.allclose(p.point, y[48:54]))
True
"""

from __future__ import annotations

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.detectors.forecasters.grid import (
    DAY_S,
    MIN_SEASONS,
    RegularSeries,
    interpolate_prediction,
    season_length,
)

__all__ = ["SeasonalNaive"]

_QUANTILES = (0.025, 0.1, 0.9, 0.975)


class SeasonalNaive:
    """Repeat the last season; empirical residual-quantile intervals.

    Parameters
    ----------
    season_s
        Length of the season in seconds (one day).
    min_seasons
        Seasons of history needed before the season is used (else naive last value).
    """

    def __init__(self, season_s: float = DAY_S, min_seasons: int = MIN_SEASONS) -> None:
        self.season_s = season_s
        self.min_seasons = min_seasons

    def fit(self, t: FloatArray, y: FloatArray) -> None:
        """Resample to the median step, choose the season and collect residuals."""
        g = RegularSeries.from_history(t, y)
        m = season_length(g.step, g.span_s, self.season_s, self.min_seasons)
        v = g.values
        resid = v[m:] - v[:-m] if v.size > m else np.zeros(1)
        self.grid_ = g
        self.season_ = m
        self.quantiles_ = np.quantile(resid, _QUANTILES)

    def predict(self, t_future: FloatArray) -> Prediction:
        """Last season repeated at ``t_future``, intervals widening with sqrt(seasons)."""
        g = self.grid_
        m = self.season_
        horizon = g.horizon_for(t_future)
        j = np.arange(horizon)
        v = g.values
        last = v[-m:] if v.size >= m else np.full(m, v[-1])
        point = last[j % m]
        widen = np.sqrt(j // m + 1.0)
        q = self.quantiles_
        pred = Prediction(
            point,
            point + q[1] * widen,
            point + q[2] * widen,
            point + q[0] * widen,
            point + q[3] * widen,
        )
        return interpolate_prediction(pred, g.steps_ahead(t_future))
