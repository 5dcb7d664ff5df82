"""Regular grids for models that need one: cleaning, resampling, season length.

Histories arrive with irregular or missing timestamps and NaN values. Models that work
on a regular grid (seasonal naive, ETS, ARIMA) resample the history to its median step,
anchored on the last observation, by linear interpolation between the observed values,
and map future timestamps to (fractional) steps ahead.

Examples
--------
>>> import numpy as np
>>> t = np.array([0.0, 60.0, 120.0, 180.0, 300.0, 360.0, 420.0])
>>> y = np.array([0.0, 1.0, 2.0, 3.0, 5.0, np.nan, 7.0])
>>> g = RegularSeries.from_history(t, y)
>>> g.step, g.values.tolist()
(60.0, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
>>> g.steps_ahead(np.array([480.0, 570.0])).tolist()
[1.0, 2.5]
>>> season_length(g.step, g.span_s)
1
>>> season_length(300.0, 2 * 86_400.0)
288
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.schemas.errors import SchemaError

__all__ = [
    "DAY_S",
    "RegularSeries",
    "clean",
    "coarsen",
    "coarsen_factor",
    "interpolate_prediction",
    "median_step",
    "season_length",
]

DAY_S = 86_400.0
MIN_SEASONS = 2  # a daily season is modelled only with at least two days of history


def clean(t: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Finite ``(t, y)`` pairs sorted by time, duplicates of a timestamp averaged.

    Raises
    ------
    SchemaError
        If the lengths differ or fewer than two finite points remain.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise SchemaError(f"t and y must be 1-D of one length, got {t.shape} and {y.shape}")
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if t.size and np.any(np.diff(t) == 0.0):
        uniq, inverse = np.unique(t, return_inverse=True)
        sums = np.bincount(inverse, weights=y)
        counts = np.bincount(inverse)
        t, y = uniq, sums / counts
    if t.size < 2:
        raise SchemaError(f"need at least two finite points to fit, got {t.size}")
    return t, y


def coarsen(t: FloatArray, y: FloatArray, max_points: int) -> tuple[FloatArray, FloatArray]:
    """At most ``max_points`` points: blocks of ``k`` consecutive ones, the smallest ``k``.

    A block's time is its mean, its value its median (robust: a spike in a block does not
    move it; on NAB the models forecast the 5-minute points better from medians than from
    means, docs/benchmarks.md). Blocks are counted back from the newest point (which ends
    the newest block); the ``n mod k`` oldest points are dropped. A history of
    ``max_points`` or fewer comes back as it is. What makes a refit cost the same whatever
    the length of its history: its models fit ``max_points`` points at most.

    Examples
    --------
    >>> t, y = np.arange(7.0), np.array([9.0, 1.0, 3.0, 2.0, 4.0, 6.0, 8.0])
    >>> tc, yc = coarsen(t, y, 4)
    >>> tc.tolist(), yc.tolist()
    ([1.5, 3.5, 5.5], [2.0, 3.0, 7.0])
    >>> coarsen(t, y, 7)[1].tolist() == y.tolist()
    True
    """
    n = t.size
    k = coarsen_factor(n, max_points)
    if k <= 1:
        return t, y
    m = (n // k) * k
    return t[n - m :].reshape(-1, k).mean(axis=1), np.median(y[n - m :].reshape(-1, k), axis=1)


def coarsen_factor(n: int, max_points: int) -> int:
    """How many consecutive points :func:`coarsen` merges into one (1: none).

    >>> coarsen_factor(576, 144), coarsen_factor(145, 144), coarsen_factor(144, 144)
    (4, 2, 1)
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    return max(1, -(-n // max_points))


def median_step(t: FloatArray) -> float:
    """The median positive gap between sorted timestamps ``t``."""
    gaps = np.diff(t)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 1.0


def season_length(
    step: float, span_s: float, season_s: float = DAY_S, min_seasons: int = MIN_SEASONS
) -> int:
    """Points per season (a day) when ``span_s`` covers ``min_seasons`` of them, else 1."""
    m = round(season_s / step)
    return m if m >= 2 and span_s >= min_seasons * season_s - step else 1


@dataclass(frozen=True)
class RegularSeries:
    """A history resampled on a regular grid ending at its last observation."""

    values: FloatArray
    step: float
    last_t: float

    @classmethod
    def from_history(cls, t: FloatArray, y: FloatArray) -> RegularSeries:
        """Clean ``(t, y)`` and interpolate it on the grid of its median step."""
        t, y = clean(t, y)
        step = median_step(t)
        n = int(np.floor((t[-1] - t[0]) / step + 1e-9)) + 1
        grid = t[-1] - step * np.arange(n - 1, -1, -1, dtype=np.float64)
        return cls(np.interp(grid, t, y), step, float(t[-1]))

    @property
    def span_s(self) -> float:
        """Seconds between the first and the last grid point."""
        return self.step * (self.values.size - 1)

    def steps_ahead(self, t_future: FloatArray) -> FloatArray:
        """Fractional steps of ``t_future`` after the last observation (at least 1)."""
        h = (np.asarray(t_future, dtype=np.float64) - self.last_t) / self.step
        return np.maximum(h, 1.0)

    def horizon_for(self, t_future: FloatArray) -> int:
        """Whole steps a grid model must forecast to cover ``t_future``."""
        h = self.steps_ahead(t_future)
        return int(np.ceil(h.max() - 1e-9)) if h.size else 1


def interpolate_prediction(grid_pred: Prediction, h: FloatArray) -> Prediction:
    """A prediction made at steps ``1..H`` read at fractional steps ``h``."""
    steps = np.arange(1, grid_pred.horizon + 1, dtype=np.float64)

    def at(a: FloatArray) -> FloatArray:
        return np.interp(h, steps, a)

    samples = None
    if grid_pred.samples is not None:
        s = grid_pred.samples
        samples = np.stack([np.interp(h, steps, row) for row in s]) if s.size else s
    return Prediction(
        at(grid_pred.point),
        at(grid_pred.lower80),
        at(grid_pred.upper80),
        at(grid_pred.lower95),
        at(grid_pred.upper95),
        samples,
    )
