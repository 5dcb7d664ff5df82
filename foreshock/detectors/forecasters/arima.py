"""ARIMA (statsforecast AutoARIMA) with a removed daily profile.

AutoARIMA searches non-seasonal orders stepwise (with the CSS approximation, orders up
to ``max_order``); the daily season, when the history covers two days, is handled by
:class:`~foreshock.detectors.forecasters.seasonality.DailyProfile`, as a seasonal ARIMA with a
period of 288 is impractically slow. Intervals are AutoARIMA's ``level=[80, 95]``.
Cost: ~0.1 s per fit on three days of 5-minute points (opt-in, see
:mod:`~foreshock.detectors.forecasters.selection`).

Examples
--------
>>> import numpy as np
>>> t = 3600.0 * np.arange(96)
>>> y = 10.0 + 0.5 * np.arange(96)
>>> m = ARIMA()
>>> m.fit(t, y)
>>> p = m.predict(t[-1] + 3600.0 * np.arange(1, 4))
>>> np.round(p.point, 1).tolist()
[58.0, 58.5, 59.0]
"""

from __future__ import annotations

from typing import Any

from foreshock.detectors.forecasters.grid import DAY_S
from foreshock.detectors.forecasters.statsforecast_adapter import GridModel

__all__ = ["ARIMA"]


class ARIMA(GridModel):
    """AutoARIMA on the deseasonalised recent history.

    Parameters
    ----------
    max_order
        Largest ``p + q`` searched.
    window_s
        Seconds of recent history fitted.
    approximation
        Fit by conditional sum of squares during the search (much faster).
    """

    def __init__(
        self, max_order: int = 4, window_s: float | None = 3 * DAY_S, approximation: bool = True
    ) -> None:
        self.max_order = max_order
        self.approximation = approximation
        super().__init__(self._make, window_s=window_s)

    def _make(self) -> Any:
        from statsforecast.models import AutoARIMA

        return AutoARIMA(
            max_order=self.max_order,
            max_p=min(3, self.max_order),
            max_q=min(3, self.max_order),
            approximation=self.approximation,
            seasonal=False,
        )
