"""Forecasting benchmark: refit CPU per series per model, and for the default selection.

The pipeline refits every capacity series hourly: it selects a model by rolling-origin
backtest (``folds`` fits per candidate), refits the winner on all data and forecasts one
horizon (:func:`~foreshock.detectors.forecasters.selection.forecast_series`). This script measures,
on synthetic 5-minute series of ``points`` samples (a week by default: daily season,
trend, noise, and a few level shifts), the CPU seconds of

- each model alone: one fit+predict (``fit_predict_ms``) and a full refit with its
  backtest (``refit_ms``: ``select_model`` on that candidate plus the final fit), on the
  first ``model_series`` series (Prophet and ARIMA are slow);
- the default selection (``forecast_series`` with ``default_candidates``) on all
  ``series``;

and derives forecasts per hour per core and the projected CPU seconds to refit 10,000
series hourly (budget: 3,600 CPU-s/h, one core). CPU time is this process's plus its
children's (Prophet fits in a cmdstan subprocess); the work is single-threaded, so it is
per core. Data generation is not timed.

Examples
--------
>>> out = run_forecast_bench(series=2, points=300, candidates=["linear"], horizon_points=12,
...                          default_candidates=["seasonal_naive", "linear"])
>>> sorted(out), sorted(out["models"])
(['config', 'default', 'models'], ['linear'])
>>> out["default"]["candidates"]
['seasonal_naive', 'linear']
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray
from foreshock.detectors.forecasters.selection import (
    DEFAULT_CANDIDATES,
    fit_predict,
    forecast_series,
    select_model,
)

__all__ = ["FLEET_SERIES", "run_forecast_bench"]

STEP_S = 300.0
DAY_S = 86_400.0
FLEET_SERIES = 10_000
BUDGET_CPU_S_PER_HOUR = 3_600.0
ALL_MODELS = ("seasonal_naive", "linear", "ets", "arima", "prophet")


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _series(n: int, points: int, seed: int) -> list[tuple[FloatArray, FloatArray]]:
    rng = np.random.default_rng(seed)
    t = 1.6e9 + STEP_S * np.arange(points, dtype=np.float64)
    out = []
    for _ in range(n):
        level = rng.uniform(10.0, 100.0)
        amp = rng.uniform(0.0, 0.3) * level
        slope = rng.normal(0.0, 0.02) * level  # per day
        y = level + amp * np.sin(2 * np.pi * t / DAY_S + rng.uniform(0, 6.3))
        y += slope * (t - t[0]) / DAY_S + rng.normal(0.0, 0.05 * level, points)
        if rng.random() < 0.2:  # a level shift somewhere
            y[rng.integers(points // 2, points) :] += rng.normal(0.0, 0.2) * level
        out.append((t, y))
    return out


def _rates(cpu_s_per_series: float) -> dict[str, float]:
    return {
        "refit_ms": 1e3 * cpu_s_per_series,
        "forecasts_per_hour_per_core": 3_600.0 / cpu_s_per_series,
        "cpu_s_per_hour_10k_series": FLEET_SERIES * cpu_s_per_series,
    }


def run_forecast_bench(
    series: int = 200,
    points: int = 2016,
    candidates: Sequence[str] = ALL_MODELS,
    horizon_points: int = 288,
    folds: int = 3,
    model_series: int = 20,
    default_candidates: Sequence[str] = DEFAULT_CANDIDATES,
    seed: int = 0,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Measure refit CPU per series per model and for the default selection.

    Parameters
    ----------
    series
        Series refitted with the default selection.
    points
        Samples per series (5-minute step; 2016 = one week).
    candidates
        Models measured alone.
    horizon_points
        Forecast horizon (288 = one day).
    folds
        Backtest folds of the selection.
    model_series
        Series each model is measured on alone (at most ``series``).
    default_candidates
        The candidate set of the default selection.
    seed
        Seed of the synthetic series.
    progress
        Called as ``progress(stage, series_done)``.

    Returns
    -------
    dict
        ``config``; ``models[name]`` with ``fit_predict_ms``, ``refit_ms``,
        ``forecasts_per_hour_per_core``, ``cpu_s_per_hour_10k_series``; ``default`` with
        the same rates, its ``candidates`` and ``fits_one_core`` (10k hourly <= 3,600 s).
    """
    data = _series(series, points, seed)
    horizon_s = horizon_points * STEP_S
    models: dict[str, dict[str, float]] = {}
    few = data[: max(1, min(model_series, series))]
    for name in candidates:
        t_future = few[0][0][-1] + STEP_S * np.arange(1, horizon_points + 1)
        fit_predict(name, *few[0], t_future)  # warm-up: imports, numba caches
        start = _cpu()
        for t, y in few:
            fit_predict(name, t, y, t_future)
        one = (_cpu() - start) / len(few)
        start = _cpu()
        for t, y in few:
            sel = select_model(t, y, [name], horizon_points, folds=folds)
            fit_predict(sel.model, t, y, t_future)
        models[name] = {"fit_predict_ms": 1e3 * one, **_rates((_cpu() - start) / len(few))}
        if progress is not None:
            progress(name, len(few))
    t0, y0 = data[0]
    forecast_series("r", "m", t0, y0, horizon_s, None, "growth", default_candidates)
    start = _cpu()
    for i, (t, y) in enumerate(data):
        limit = float(np.max(y)) * 1.2
        forecast_series("r", "m", t, y, horizon_s, limit, "growth", default_candidates)
        if progress is not None and (i + 1) % max(1, series // 10) == 0:
            progress("default", i + 1)
    default = _rates((_cpu() - start) / len(data))
    return {
        "config": {
            "series": series,
            "points": points,
            "step_s": STEP_S,
            "horizon_points": horizon_points,
            "folds": folds,
            "model_series": len(few),
        },
        "models": models,
        "default": {
            "candidates": list(default_candidates),
            **default,
            "fits_one_core": default["cpu_s_per_hour_10k_series"] <= BUDGET_CPU_S_PER_HOUR,
        },
    }
