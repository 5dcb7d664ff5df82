"""Prophet: piecewise-linear trend plus a daily Fourier season, Stan MAP fit.

Daily seasonality is modelled only when the history covers two days; weekly and yearly
are off (histories are days to weeks long). The 80% and 95% intervals and the sample
paths all come from one call to ``predictive_samples`` (trend-changepoint and noise
simulation, ``uncertainty_samples`` paths), so no second pass is needed; the point is
Prophet's ``yhat``. cmdstanpy and prophet logging are silenced.

Cost: ~50–200 ms per fit (Stan optimisation) plus sampling, which is why Prophet is
not among the default candidates of :mod:`~foreshock.detectors.forecasters.selection`.

Examples
--------
>>> import numpy as np
>>> t = 3600.0 * np.arange(72)
>>> m = ProphetForecaster()
>>> m.fit(t, 1.0 + 0.1 * np.arange(72))  # doctest: +SKIP
>>> m.predict(t[-1] + 3600.0 * np.arange(1, 4)).point.round(1)  # doctest: +SKIP
array([8.2, 8.3, 8.4])
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.detectors.forecasters.grid import DAY_S, MIN_SEASONS, clean

__all__ = ["ProphetForecaster"]


def _pandas() -> Any:
    """pandas (a Prophet dependency; imported lazily and untyped: no stubs installed)."""
    return importlib.import_module("pandas")


def _quiet() -> None:
    """Silence cmdstanpy and prophet (call before importing prophet).

    cmdstanpy configures its logger (level DEBUG, a stream handler) on first use unless
    it already has a handler, so a null handler is installed first.
    """
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.CRITICAL)
        logger.propagate = False


class ProphetForecaster:
    """Prophet with an optional daily season and sampled intervals.

    Parameters
    ----------
    uncertainty_samples
        Sample paths simulated for the intervals (more: smoother, slower).
    changepoint_prior_scale
        Prophet's trend flexibility.
    min_seasons
        Days of history needed before the daily season is modelled.
    seed
        Seed of the simulation.
    """

    def __init__(
        self,
        uncertainty_samples: int = 200,
        changepoint_prior_scale: float = 0.05,
        min_seasons: int = MIN_SEASONS,
        seed: int = 0,
    ) -> None:
        self.uncertainty_samples = uncertainty_samples
        self.changepoint_prior_scale = changepoint_prior_scale
        self.min_seasons = min_seasons
        self.seed = seed

    def fit(self, t: FloatArray, y: FloatArray) -> None:
        """Fit Prophet on the finite points (timestamps as UTC datetimes)."""
        pd = _pandas()
        _quiet()
        from prophet import Prophet

        t, y = clean(t, y)
        daily = t[-1] - t[0] >= self.min_seasons * DAY_S
        model = Prophet(
            daily_seasonality=daily,
            weekly_seasonality=False,
            yearly_seasonality=False,
            interval_width=0.8,
            uncertainty_samples=self.uncertainty_samples,
            changepoint_prior_scale=self.changepoint_prior_scale,
        )
        frame = pd.DataFrame({"ds": pd.to_datetime(t, unit="s"), "y": y})
        model.fit(frame)
        self.model_: Any = model

    def predict(self, t_future: FloatArray) -> Prediction:
        """``yhat`` and sample quantiles at ``t_future``."""
        pd = _pandas()
        future = pd.DataFrame({"ds": pd.to_datetime(np.asarray(t_future), unit="s")})
        state = np.random.get_state()
        np.random.seed(self.seed)  # Prophet samples with numpy's global generator
        try:
            samples = np.asarray(self.model_.predictive_samples(future)["yhat"], dtype=np.float64)
        finally:
            np.random.set_state(state)
        paths = samples.T  # (n_paths, horizon)
        q = np.quantile(paths, (0.025, 0.1, 0.9, 0.975), axis=0)
        return Prediction(self._yhat(future), q[1], q[2], q[0], q[3], paths)

    def _yhat(self, future: Any) -> FloatArray:
        """Prophet's ``yhat`` (trend plus additive terms) without its own sampling."""
        m = self.model_
        frame = m.setup_dataframe(future.copy())
        trend = m.predict_trend(frame)
        seasonal = m.predict_seasonal_components(frame)["additive_terms"].to_numpy()
        return np.asarray(trend + seasonal, dtype=np.float64)
