"""Forecasters of capacity series: point forecasts, intervals and time-to-exhaustion.

One model per module (:mod:`.seasonal_naive`, :mod:`.linear_trend`, :mod:`.ets`,
:mod:`.arima`, :mod:`.prophet_model`), all implementing :class:`.base.Forecaster`;
:mod:`.selection` backtests them per series and :func:`.selection.forecast_series` fills
a :class:`foreshock.schemas.forecast.Forecast`; :mod:`.exhaustion` turns a prediction into the
time at which a limit is reached.

Examples
--------
>>> from foreshock.detectors.forecasters import registry
>>> registry.names()
['arima', 'ets', 'linear', 'prophet', 'seasonal_naive']
"""
