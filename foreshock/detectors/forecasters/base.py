"""The forecaster contract: ``fit`` on a history, ``predict`` at future timestamps.

A :class:`Forecaster` is fitted on epoch-second timestamps ``t`` and values ``y`` (in any
order, irregularly spaced, NaNs allowed: they are skipped) and predicts a
:class:`Prediction` at any future timestamps: a point forecast and the 80% and 95%
central prediction intervals, optionally with sample paths for path-based
time-to-exhaustion. As in River, constructor arguments are the hyperparameters, stored
unchanged under the same names; learned state is set by ``fit``.

Examples
--------
>>> import numpy as np
>>> from foreshock.detectors.forecasters.seasonal_naive import SeasonalNaive
>>> isinstance(SeasonalNaive(), Forecaster)
True
>>> p = Prediction.constant(np.zeros(3))
>>> p.horizon, p.samples is None
(3, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "Forecaster", "Prediction"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prediction:
    """Forecast at ``horizon`` future timestamps.

    Parameters
    ----------
    point
        The point forecast (mean or median of the predictive distribution).
    lower80, upper80
        The 10% and 90% quantiles of the predictive distribution.
    lower95, upper95
        The 2.5% and 97.5% quantiles.
    samples
        Optional sample paths ``(n_paths, horizon)`` drawn from the joint predictive
        distribution; when present, :mod:`~foreshock.detectors.forecasters.exhaustion` uses their
        first-passage times instead of per-timestep quantile crossings.
    """

    point: FloatArray
    lower80: FloatArray
    upper80: FloatArray
    lower95: FloatArray
    upper95: FloatArray
    samples: FloatArray | None = None

    @property
    def horizon(self) -> int:
        """Number of predicted timestamps."""
        return int(self.point.shape[0])

    @classmethod
    def constant(cls, point: FloatArray) -> Prediction:
        """A prediction without uncertainty (every bound equals ``point``)."""
        p = np.asarray(point, dtype=np.float64)
        return cls(p, p.copy(), p.copy(), p.copy(), p.copy())

    def floor(self, low: float) -> Prediction:
        """The prediction with every value (and sample) raised to at least ``low``."""
        samples = None if self.samples is None else np.maximum(self.samples, low)
        return Prediction(
            np.maximum(self.point, low),
            np.maximum(self.lower80, low),
            np.maximum(self.upper80, low),
            np.maximum(self.lower95, low),
            np.maximum(self.upper95, low),
            samples,
        )

    def combine(self, other: Prediction) -> Prediction:
        """The equal-weight average of two predictions (bounds averaged quantile-wise).

        Averaging quantiles is the Vincentisation of the two predictive distributions;
        sample paths are pooled when both predictions carry them.
        """
        samples = None
        if self.samples is not None and other.samples is not None:
            samples = np.concatenate([self.samples, other.samples], axis=0)
        return Prediction(
            (self.point + other.point) / 2.0,
            (self.lower80 + other.lower80) / 2.0,
            (self.upper80 + other.upper80) / 2.0,
            (self.lower95 + other.lower95) / 2.0,
            (self.upper95 + other.upper95) / 2.0,
            samples,
        )


@runtime_checkable
class Forecaster(Protocol):
    """A univariate forecaster with prediction intervals."""

    def fit(self, t: FloatArray, y: FloatArray) -> None:
        """Learn from values ``y`` observed at epoch seconds ``t`` (NaNs are skipped)."""
        ...

    def predict(self, t_future: FloatArray) -> Prediction:
        """Forecast at epoch seconds ``t_future`` (after the last fitted timestamp)."""
        ...
