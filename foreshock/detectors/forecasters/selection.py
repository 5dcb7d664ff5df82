"""Per-series model selection by rolling-origin backtest, and the pipeline's one call.

:func:`select_model` cuts the history at the last ``folds`` origins (``spacing`` points
apart, ``horizon // folds`` by default, so the backtest covers a bit less than two
horizons), fits every candidate on the data before each origin, forecasts the next
``horizon`` points and scores them by MASE: mean absolute error over the in-sample MAE
of the seasonal-naive forecast of the training part (the naive one when the history
holds less than two days). The lowest mean MASE wins. On a history shorter than two
horizons the backtest horizon is half of it (less 20 points) and the default spacing a
third of that, so a short history is scored on ``folds`` origins too, not on the one or
two that fit at a full horizon's spacing (which also made a refit's cost jump as the
history grew). With ``ensemble=2`` the mean of
the two best models' forecasts is one more candidate, scored on the same folds (forecast
combination is the most reliable way to beat the single best backtested model, whose
choice is noisy on three folds). A history too short for one fold falls back to the
first candidate, unscored.

:func:`forecast_series` selects, refits the winner on all data, predicts on the series'
step up to ``horizon_s``, and fills a :class:`~foreshock.schemas.forecast.Forecast` with intervals
and time-to-exhaustion.

``DEFAULT_CANDIDATES`` is ``("seasonal_naive", "linear", "ets")``. Measured by
:mod:`foreshock.bench.forecast` (one core, a week of 5-minute points, one-day horizon,
three folds; refit = backtest + final fit, CPU ms per series): seasonal naive 1.7,
linear 24, ETS 227, Prophet 527 (Stan subprocess included), ARIMA 901. The default set
costs ~250 ms per series, so 10,000 series refit hourly need ~2,500 CPU-s/h, within the
3,600 of one core; adding Prophet (+0.5 s) or ARIMA (+0.9 s) per series would need 3–4
cores, so they are opt-in, for key series.

Examples
--------
>>> import numpy as np
>>> t = 3600.0 * np.arange(24 * 7)
>>> y = 5.0 + np.sin(2 * np.pi * t / 86_400.0)
>>> select_model(t, y, ["linear", "seasonal_naive"], horizon=24).model
'seasonal_naive'
>>> f = forecast_series("host-1", "disk_used", t, 0.01 * np.arange(t.size), 86_400.0,
...                     limit=1.8, danger="growth", candidates=["linear"])
>>> f.model, len(f.timestamps), round((f.exhaustion_p50 - f.made_at) / 3600.0)
('linear', 24, 13)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.detectors.forecasters.exhaustion import Danger, time_to_exhaustion
from foreshock.detectors.forecasters.grid import (
    DAY_S,
    RegularSeries,
    clean,
    coarsen,
    coarsen_factor,
    median_step,
    season_length,
)
from foreshock.detectors.forecasters.regime import recent_shift
from foreshock.detectors.forecasters.registry import create
from foreshock.schemas.forecast import Forecast

__all__ = [
    "DEFAULT_CANDIDATES",
    "Selection",
    "fit_predict",
    "forecast_series",
    "mase",
    "mase_scale",
    "point_forecast",
    "predict_selection",
    "select_model",
    "smape",
]

DEFAULT_CANDIDATES: tuple[str, ...] = ("seasonal_naive", "linear", "ets")
MIN_TRAIN_POINTS = 20
MIN_SHIFT_RUN = 3  # consecutive points beyond the old regime that make a new one
NAIVE = "seasonal_naive"  # on less than two days of history: the last value
_SEP = "+"


@dataclass(frozen=True)
class Selection:
    """The chosen model (``"a+b"`` for a combination), its backtest MASE and all scores.

    ``since`` is set when a recent level shift made the older history irrelevant: the
    model is then fitted on the points from that timestamp on.
    """

    model: str
    error: float | None
    errors: dict[str, float] = field(default_factory=dict)
    since: float | None = None

    @property
    def members(self) -> tuple[str, ...]:
        """The registered models whose forecasts are averaged."""
        return tuple(self.model.split(_SEP))


def mase_scale(t: FloatArray, y: FloatArray) -> float:
    """In-sample MAE of the seasonal-naive (or naive) forecast of a history.

    Examples
    --------
    >>> mase_scale(np.arange(5.0), np.array([0.0, 1.0, 3.0, 6.0, 10.0]))
    2.5
    """
    g = RegularSeries.from_history(t, y)
    m = season_length(g.step, g.span_s)
    v = g.values
    scale = float(np.mean(np.abs(v[m:] - v[:-m]))) if v.size > m else 0.0
    if scale <= 0.0 and m > 1:
        scale = float(np.mean(np.abs(np.diff(v))))
    return scale if scale > 0.0 else max(1e-9, 1e-9 * float(np.mean(np.abs(v))))


def mase(actual: FloatArray, forecast: FloatArray, scale: float) -> float:
    """Mean absolute error over ``scale`` (NaN actuals skipped)."""
    ok = np.isfinite(actual)
    return float(np.mean(np.abs(actual[ok] - forecast[ok])) / scale) if ok.any() else np.nan


def smape(actual: FloatArray, forecast: FloatArray) -> float:
    """Symmetric MAPE in percent, ``200 |a - f| / (|a| + |f|)`` (0 when both are 0).

    Examples
    --------
    >>> smape(np.array([1.0, 0.0]), np.array([3.0, 0.0]))
    50.0
    """
    ok = np.isfinite(actual)
    a, f = actual[ok], forecast[ok]
    den = np.abs(a) + np.abs(f)
    terms = np.where(den > 0, 200.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(np.mean(terms)) if terms.size else np.nan


def fit_predict(
    name: str,
    t: FloatArray,
    y: FloatArray,
    t_future: FloatArray,
    since: float | None = None,
    floor: bool = True,
) -> Prediction:
    """Fit model ``name`` (``"a+b"``: the mean of both) on ``(t, y)``, predict ``t_future``.

    With ``since``, only the points from that time on are fitted. With ``floor``, a
    history that never went below zero (bytes, connections, utilisation) is not
    forecast below zero.
    """
    if since is not None:
        keep = t >= since
        t, y = t[keep], y[keep]
    preds = []
    for member in name.split(_SEP):
        model = create(member)
        model.fit(t, y)
        preds.append(model.predict(t_future))
    out = preds[0]
    for p in preds[1:]:
        out = out.combine(p)
    if floor and np.nanmin(y) >= 0.0:
        out = out.floor(0.0)
    return out


def point_forecast(
    name: str, t: FloatArray, y: FloatArray, t_future: FloatArray, floor: bool = True
) -> FloatArray:
    """The point forecast of :func:`fit_predict` (``since`` unset), without its intervals.

    What a backtest scores: models that can (``predict_point``) skip their intervals and
    sample paths, which cost more than the point on a day's horizon; the point is the same.

    Examples
    --------
    >>> t = 3600.0 * np.arange(48)
    >>> y = 0.5 * np.arange(48.0)
    >>> future = t[-1] + 3600.0 * np.arange(1, 4)
    >>> fast = point_forecast("linear+seasonal_naive", t, y, future)
    >>> bool(np.array_equal(fast, fit_predict("linear+seasonal_naive", t, y, future).point))
    True
    """
    points = []
    for member in name.split(_SEP):
        model = create(member)
        model.fit(t, y)
        fast = getattr(model, "predict_point", None)
        points.append(fast(t_future) if fast is not None else model.predict(t_future).point)
    out = points[0]
    for p in points[1:]:  # as Prediction.combine averages them
        out = (out + p) / 2.0
    if floor and np.nanmin(y) >= 0.0:
        out = np.maximum(out, 0.0)
    return np.asarray(out, dtype=np.float64)


def select_model(
    t: FloatArray,
    y: FloatArray,
    candidates: Sequence[str],
    horizon: int,
    folds: int = 3,
    spacing: int | None = None,
    ensemble: int = 2,
    always_combine: bool = False,
    shift_check: bool = True,
    fit_points: int | None = None,
) -> Selection:
    """The candidate with the lowest mean backtest MASE over rolling origins.

    Parameters
    ----------
    t, y
        The history (epoch seconds, values; NaNs skipped).
    candidates
        Registered model names (see :mod:`~foreshock.detectors.forecasters.registry`).
    horizon
        Points forecast after each origin.
    folds
        Origins backtested (the latest ones).
    spacing
        Points between origins (default ``max(1, h // folds)``, ``h`` the backtest
        horizon: ``horizon``, or half of the history less 20 points when that is shorter).
    ensemble
        When >= 2, the mean forecast of the best ``ensemble`` models is a candidate too.
    always_combine
        Choose that mean whenever it exists, whatever its backtest score.
    shift_check
        Look for a level shift in the last third of a day
        (:func:`~foreshock.detectors.forecasters.regime.recent_shift`); after one, select on the
        points since the shift only (``since`` in the result), and while they are too
        few to backtest, choose the naive forecast of the new level.
    fit_points
        Backtest on at most this many points: blocks of consecutive points
        (:func:`~foreshock.detectors.forecasters.grid.coarsen`), ``horizon`` and
        ``spacing`` in their coarser steps. The shift check sees every point.
    """
    if not candidates:
        raise ValueError("no candidate model")
    t, y = clean(t, y)
    if shift_check:
        start = _regime_start(t, y)
        if start is not None:  # the old regime says nothing about the next points
            tail = select_model(
                t[start:],
                y[start:],
                candidates,
                horizon,
                folds,
                spacing,
                ensemble,
                always_combine,
                shift_check=False,
                fit_points=fit_points,
            )
            model = tail.model if tail.error is not None else NAIVE
            return replace(tail, model=model, since=float(t[start]))
    if fit_points is not None:
        k = coarsen_factor(t.size, fit_points)
        t, y = coarsen(t, y, fit_points)
        horizon = -(-horizon // k)
        spacing = None if spacing is None else max(1, spacing // k)
    n = t.size
    horizon = min(horizon, max(1, (n - MIN_TRAIN_POINTS) // 2))
    step = spacing if spacing is not None else max(1, horizon // folds)
    origins = [n - horizon - k * step for k in range(folds)]
    origins = [o for o in origins if o >= MIN_TRAIN_POINTS]
    if not origins:
        return Selection(candidates[0], None, {})
    scores: dict[str, list[float]] = {name: [] for name in candidates}
    points: dict[str, list[FloatArray]] = {name: [] for name in candidates}
    scales = []
    for o in origins:
        tt, yy = t[:o], y[:o]
        actual = y[o : o + horizon]
        scale = mase_scale(tt, yy)
        scales.append(scale)
        for name in candidates:
            try:
                pred = point_forecast(name, tt, yy, t[o : o + horizon])
            except Exception:  # a model that cannot fit this history loses
                pred = np.full(actual.size, np.nan)
            points[name].append(pred)
            err = mase(actual, pred, scale)
            scores[name].append(err if np.isfinite(err) else np.inf)
    # the most recent fold weighs most (weights 1, 1/4, 1/16, ...): a regime change shows in
    # it first. Equal weights gave MASE 1.321 on NAB realAWSCloudwatch, halving 1.246,
    # quartering 1.229 (docs/benchmarks.md).
    weights = np.array([0.25**k for k in range(len(origins))])
    weights /= weights.sum()
    errors = {name: float(np.dot(weights, s)) for name, s in scores.items()}
    ranked = sorted(candidates, key=lambda c: errors[c])
    if ensemble >= 2 and len(ranked) >= ensemble and np.isfinite(errors[ranked[ensemble - 1]]):
        top = ranked[:ensemble]
        combo = _SEP.join(top)
        errs = []
        for k, o in enumerate(origins):
            mean = np.mean([points[c][k] for c in top], axis=0)
            errs.append(mase(y[o : o + horizon], mean, scales[k]))
        errors[combo] = float(np.dot(weights, errs))
        if always_combine:
            return Selection(combo, errors[combo], errors)
    best = min(errors, key=lambda c: errors[c])
    return Selection(best, errors[best] if np.isfinite(errors[best]) else None, errors)


def _regime_start(t: FloatArray, y: FloatArray) -> int | None:
    day = round(DAY_S / median_step(t))
    if t.size < day + MIN_SHIFT_RUN:
        return None
    return recent_shift(y, reference=day, min_run=MIN_SHIFT_RUN)


def predict_selection(
    selection: Selection,
    t: FloatArray,
    y: FloatArray,
    t_future: FloatArray,
    floor: bool = True,
    fit_points: int | None = None,
) -> Prediction:
    """The selected model fitted on ``(t, y)`` (from ``selection.since``), at ``t_future``.

    With ``fit_points``, on at most that many points (blocks of consecutive ones).
    """
    if fit_points is None:
        return fit_predict(selection.model, t, y, t_future, since=selection.since, floor=floor)
    t, y = clean(t, y)
    if selection.since is not None:
        keep = t >= selection.since
        t, y = t[keep], y[keep]
    t, y = coarsen(t, y, fit_points)
    return fit_predict(selection.model, t, y, t_future, floor=floor)


def forecast_series(
    resource: str,
    metric: str,
    t: FloatArray,
    y: FloatArray,
    horizon_s: float,
    limit: float | None,
    danger: Danger,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    made_at: float | None = None,
    folds: int = 3,
    fit_points: int | None = None,
) -> Forecast:
    """Select a model for one series, refit it on all data and forecast ``horizon_s``.

    The forecast grid is the series' median step from the last observation up to
    ``horizon_s`` later; exhaustion quantiles are filled when ``limit`` is given.
    ``made_at`` defaults to the last timestamp. With ``fit_points``, the models fit at
    most that many points (blocks of consecutive ones, see :func:`select_model`); the
    grid keeps the series' step.
    """
    t, y = clean(t, y)
    step = median_step(t)
    n_steps = max(1, int(np.floor(horizon_s / step + 1e-9)))
    grid = t[-1] + step * np.arange(1, n_steps + 1, dtype=np.float64)
    selection = select_model(t, y, candidates, horizon=n_steps, folds=folds, fit_points=fit_points)
    pred = predict_selection(selection, t, y, grid, floor=False, fit_points=fit_points)
    # crossing times from the unfloored paths (a free-space forecast crosses zero between
    # two grid points); the forecast shown is floored like every other
    ex = time_to_exhaustion(grid, pred, limit, danger) if limit is not None else None
    if np.min(y) >= 0.0:
        pred = pred.floor(0.0)
    return Forecast(
        resource=resource,
        metric=metric,
        made_at=float(t[-1]) if made_at is None else made_at,
        model=selection.model,
        horizon_s=horizon_s,
        timestamps=grid.tolist(),
        point=pred.point.tolist(),
        lower80=pred.lower80.tolist(),
        upper80=pred.upper80.tolist(),
        lower95=pred.lower95.tolist(),
        upper95=pred.upper95.tolist(),
        limit=limit,
        backtest_error=selection.error,
        exhaustion_p10=ex.p10 if ex else None,
        exhaustion_p50=ex.p50 if ex else None,
        exhaustion_p90=ex.p90 if ex else None,
    )
