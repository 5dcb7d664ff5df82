"""Exponential smoothing (statsforecast AutoETS) with a removed daily profile.

AutoETS chooses the error/trend form by AICc among non-seasonal models (``"ZZN"``); the
daily season, when the history covers two days, is handled by
:class:`~foreshock.detectors.forecasters.seasonality.DailyProfile` because a seasonal ETS with 288
states is ~70× slower. Intervals are AutoETS's ``level=[80, 95]``.

Examples
--------
>>> import numpy as np
>>> t = 3600.0 * np.arange(96)
>>> y = 10.0 + 0.5 * np.arange(96) + 3.0 * np.sin(2 * np.pi * t / 86_400.0)
>>> m = ETS()
>>> m.fit(t, y)
>>> p = m.predict(t[-1] + 3600.0 * np.arange(1, 25))
>>> truth = 10.0 + 0.5 * np.arange(96, 120) + 3.0 * np.sin(2 * np.pi * np.arange(96, 120) / 24)
>>> bool(np.max(np.abs(p.point - truth)) < 1.0)
True
"""

from __future__ import annotations

from typing import Any

from foreshock.detectors.forecasters.grid import DAY_S
from foreshock.detectors.forecasters.statsforecast_adapter import GridModel

__all__ = ["ETS"]


class ETS(GridModel):
    """AutoETS on the deseasonalised recent history.

    Parameters
    ----------
    model
        AutoETS's model string (``"ZZN"``: any error and trend, no season).
    window_s
        Seconds of recent history fitted (3 days: ETS forgets older data anyway).
    damped
        AutoETS's ``damped`` (``None``: try both).
    """

    def __init__(
        self, model: str = "ZZN", window_s: float | None = 3 * DAY_S, damped: bool | None = None
    ) -> None:
        self.model = model
        self.damped = damped
        super().__init__(self._make, window_s=window_s)

    def _make(self) -> Any:
        from statsforecast.models import AutoETS

        return AutoETS(model=self.model, damped=self.damped)
