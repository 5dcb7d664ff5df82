"""DEMO DATA: synthetic capacity series and simple linear forecasts, for notebooks and docs.

Nothing here comes from a real system or from foreshock's forecasting stage
(:mod:`foreshock.pipelines.stages.forecast`). :func:`demo_forecasts` makes up a few capacity series
(a filling disk, Redis memory growing toward ``maxmemory``, MySQL connections creeping
toward ``max_connections``, and a disk that stays comfortably below its size) and forecasts
each with a least-squares line, so that the capacity-planning notebook has something to
show on a fresh machine. Use the forecasting stage for real forecasts.

The "model" is deliberately simple:

- point forecast: the fitted line, extrapolated hourly over the horizon;
- intervals: the line's prediction interval under Gaussian residuals
  (``±z·s·sqrt(1 + 1/n + (t - t̄)²/Sxx)``, ``z`` = 1.2816 for 80%, 1.9600 for 95%);
- time to exhaustion: when the median, and the 80% band's edges, cross the limit. Where
  the band's upper edge (the 90th percentile of the value) crosses is the 10th percentile
  of the crossing time, and the lower edge gives the 90th; ``None`` if it does not cross
  within the horizon;
- backtest error: the mean absolute percentage error (a fraction) of the same line fitted
  on the first 80% of the history and scored on the last 20%.

Examples
--------
>>> forecasts, series = demo_forecasts(seed=1)
>>> [(f.resource, f.metric) for f in forecasts][:2]
[('db-1', 'node_filesystem_used_bytes'), ('redis-cache', 'redis_memory_used_bytes')]
>>> t, y = series["db-1", "node_filesystem_used_bytes"]
>>> len(t) == len(y) == 3 * 288
True
>>> disk = forecasts[0]
>>> disk.exhaustion_p10 < disk.exhaustion_p50 < disk.exhaustion_p90
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from foreshock.schemas.forecast import Forecast

__all__ = ["DEMO_MADE_AT", "DemoSeries", "demo_forecasts", "linear_forecast"]

#: When the demo forecasts are made (2024-05-01 00:00 UTC): fixed, so output is reproducible.
DEMO_MADE_AT = 1_714_521_600.0
_STEP = 300.0  # history: 5-minute means
_DAY = 86_400.0
_GiB = float(2**30)
_Z80, _Z95 = 1.2816, 1.9600

Series = tuple[NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class DemoSeries:
    """Recipe of one synthetic series: a start, a daily growth, a daily wave and noise."""

    resource: str
    metric: str
    start: float
    per_day: float
    wave: float
    noise: float
    limit: float


_RECIPES = (
    DemoSeries(
        resource="db-1", metric="node_filesystem_used_bytes",
        start=380 * _GiB, per_day=30 * _GiB, wave=4 * _GiB, noise=3 * _GiB, limit=500 * _GiB,
    ),
    DemoSeries(
        resource="redis-cache", metric="redis_memory_used_bytes",
        start=2.9 * _GiB, per_day=0.15 * _GiB, wave=0.05 * _GiB, noise=0.03 * _GiB,
        limit=4 * _GiB,
    ),
    DemoSeries(
        resource="mysql-orders", metric="mysql_global_status_threads_connected",
        start=330.0, per_day=25.0, wave=40.0, noise=12.0, limit=500.0,
    ),
    DemoSeries(
        resource="pg-main", metric="node_filesystem_used_bytes",
        start=120 * _GiB, per_day=0.5 * _GiB, wave=1 * _GiB, noise=0.5 * _GiB, limit=1000 * _GiB,
    ),
)  # fmt: skip


def demo_forecasts(
    seed: int = 1, *, history_days: float = 3.0, horizon_days: float = 7.0
) -> tuple[list[Forecast], dict[tuple[str, str], Series]]:
    """DEMO DATA: a few synthetic capacity series and linear forecasts of them.

    Parameters
    ----------
    seed
        Seed of the noise; the same seed gives the same series and forecasts.
    history_days, horizon_days
        Length of the synthetic history (5-minute samples, ending at
        :data:`DEMO_MADE_AT`) and of the forecast (hourly steps).

    Returns
    -------
    forecasts
        One :class:`~foreshock.schemas.forecast.Forecast` per series, model ``"demo-linear"``.
    series
        The history of each series, ``(resource, metric) → (epoch seconds, values)``.

    Examples
    --------
    >>> a, _ = demo_forecasts(seed=7)
    >>> b, _ = demo_forecasts(seed=7)
    >>> a == b, len(a)
    (True, 4)
    >>> [f.resource for f in a if f.exhaustion_p50 is None]    # a disk with room to spare
    ['pg-main']
    """
    rng = np.random.default_rng(seed)
    n = round(history_days * _DAY / _STEP)
    t = DEMO_MADE_AT - _STEP * np.arange(n - 1, -1, -1, dtype=np.float64)
    forecasts, series = [], {}
    for recipe in _RECIPES:
        days = (t - t[0]) / _DAY
        y = (
            recipe.start
            + recipe.per_day * days
            + recipe.wave * np.sin(2 * np.pi * days)
            + rng.normal(0.0, recipe.noise, n)
        )
        series[recipe.resource, recipe.metric] = (t, y)
        forecasts.append(
            linear_forecast(
                recipe.resource, recipe.metric, t, y, horizon_days * _DAY, limit=recipe.limit
            )
        )
    return forecasts, series


def linear_forecast(
    resource: str,
    metric: str,
    t: NDArray[np.float64],
    y: NDArray[np.float64],
    horizon_s: float,
    *,
    limit: float | None,
    step_s: float = 3600.0,
) -> Forecast:
    """DEMO MODEL: a least-squares line with prediction intervals, made at ``t[-1]``.

    Assumes the series grows toward ``limit`` (see the module docstring for the method).

    Examples
    --------
    >>> t = np.arange(0.0, 100.0)
    >>> f = linear_forecast("r", "m", t, 2 * t + np.sin(t), 50.0, limit=250.0, step_s=1.0)
    >>> round(f.point[0]), round(f.exhaustion_p50)
    (200, 125)
    >>> f.lower95[0] < f.lower80[0] < f.point[0] < f.upper80[0] < f.upper95[0]
    True
    """
    made_at = float(t[-1])
    x = t - made_at  # seconds before the forecast: keeps the fit well conditioned
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (intercept + slope * x)
    s = float(np.sqrt(np.sum(residuals**2) / max(len(t) - 2, 1)))
    x_mean, sxx = float(np.mean(x)), float(np.sum((x - np.mean(x)) ** 2))

    def band(times: NDArray[np.float64], z: float) -> tuple[NDArray[np.float64], ...]:
        ahead = times - made_at
        mid = intercept + slope * ahead
        half = z * s * np.sqrt(1 + 1 / len(t) + (ahead - x_mean) ** 2 / sxx)
        return mid - half, mid, mid + half

    steps = made_at + step_s * np.arange(1, int(horizon_s // step_s) + 1, dtype=np.float64)
    low80, point, high80 = band(steps, _Z80)
    low95, _, high95 = band(steps, _Z95)
    fine = np.linspace(made_at, made_at + horizon_s, 2001, dtype=np.float64)
    edges = band(fine, _Z80)

    def crossing(values: NDArray[np.float64]) -> float | None:
        if limit is None or not np.any(values >= limit):
            return None
        return float(fine[int(np.argmax(values >= limit))])

    return Forecast(
        resource=resource,
        metric=metric,
        made_at=made_at,
        model="demo-linear",
        horizon_s=horizon_s,
        timestamps=steps.tolist(),
        point=point.tolist(),
        lower80=low80.tolist(),
        upper80=high80.tolist(),
        lower95=low95.tolist(),
        upper95=high95.tolist(),
        limit=limit,
        backtest_error=_backtest(t, y),
        exhaustion_p10=crossing(edges[2]),
        exhaustion_p50=crossing(edges[1]),
        exhaustion_p90=crossing(edges[0]),
    )


def _backtest(t: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """MAPE (a fraction) of a line fitted on the first 80% and scored on the rest."""
    cut = max(int(len(t) * 0.8), 2)
    if cut >= len(t):
        return 0.0
    x = t - t[cut - 1]
    slope, intercept = np.polyfit(x[:cut], y[:cut], 1)
    predicted = intercept + slope * x[cut:]
    actual = y[cut:]
    return float(np.mean(np.abs(predicted - actual) / np.maximum(np.abs(actual), 1e-12)))
