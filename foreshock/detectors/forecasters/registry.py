"""Forecasters by short name, imported lazily from ``"module:Class"`` paths.

Importing this module imports no model: statsforecast and Prophet load only when
``"ets"``, ``"arima"`` or ``"prophet"`` is first created.

Examples
--------
>>> names()
['arima', 'ets', 'linear', 'prophet', 'seasonal_naive']
>>> create("linear", window_s=3600.0).window_s
3600.0
>>> create("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.UnknownNameError: unknown forecaster 'nope'; known: arima, ets, linear, ...
"""

from __future__ import annotations

from typing import Any

from foreshock.detectors.forecasters.base import Forecaster
from foreshock.detectors.lazy import resolve_path

__all__ = ["create", "names", "resolve"]

_PATHS: dict[str, str] = {
    "seasonal_naive": "foreshock.detectors.forecasters.seasonal_naive:SeasonalNaive",
    "linear": "foreshock.detectors.forecasters.linear_trend:LinearTrend",
    "ets": "foreshock.detectors.forecasters.ets:ETS",
    "arima": "foreshock.detectors.forecasters.arima:ARIMA",
    "prophet": "foreshock.detectors.forecasters.prophet_model:ProphetForecaster",
}


def names() -> list[str]:
    """The registered forecaster names, sorted."""
    return sorted(_PATHS)


def resolve(name: str) -> type:
    """The forecaster class registered as ``name`` (imported on first use).

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered; the message lists the known names.
    """
    return resolve_path("forecaster", _PATHS, name)


def create(name: str, **params: Any) -> Forecaster:
    """A new forecaster ``name`` built with hyperparameters ``params``."""
    model: Forecaster = resolve(name)(**params)
    return model
