"""Counters to rates, vectorised, with Prometheus' reset semantics.

A counter that goes down was reset (process restart): the increase since the reset is
the new value itself. The first sample of a series has no rate (NaN). A counter is never
negative: a negative value is not a reading (a corrupt sample, a gauge mislabelled as a
counter) and gives no rate (NaN, skipped downstream) without becoming the last value, so
it can neither produce a negative rate nor fake a reset.

Examples
--------
>>> import numpy as np
>>> r = CounterRates()
>>> ids = np.array([0])
>>> r.update(ids, np.array([100.0]), 0.0)
array([nan])
>>> r.update(ids, np.array([160.0]), 15.0)
array([4.])
>>> r.update(ids, np.array([30.0]), 30.0)   # reset: 30 counted since the restart
array([2.])
>>> r.update(ids, np.array([-1e308]), 45.0)   # not a counter reading
array([nan])
>>> r.update(ids, np.array([60.0]), 60.0)     # the rate since the last reading
array([1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foreshock.detectors.base import FloatArray, IntArray


class CounterRates:
    """Per-second rates of monotonic counters, one vectorised update per batch."""

    def __init__(self) -> None:
        self._last_v: FloatArray = np.zeros(0)
        self._last_t: FloatArray = np.zeros(0)
        self.last_dt: FloatArray = np.zeros(0)

    def _ensure(self, max_id: int) -> None:
        n = len(self._last_v)
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        self._last_v = np.concatenate([self._last_v, np.full(cap - n, np.nan)])
        self._last_t = np.concatenate([self._last_t, np.full(cap - n, np.nan)])

    def update(self, ids: IntArray, values: FloatArray, timestamp: float) -> FloatArray:
        """Rates per second for ``ids``; NaN where no earlier sample exists."""
        if ids.size == 0:
            return np.zeros(0)
        self._ensure(int(ids.max()))
        lv = self._last_v[ids]
        lt = self._last_t[ids]
        dt = timestamp - lt
        reading = values >= 0.0  # NaN and negative values are not counter readings
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            inc = np.where(values >= lv, values - lv, values)
            rate = np.where(reading & (dt > 0), inc / dt, np.nan)
        self._last_v[ids] = np.where(reading, values, lv)
        self._last_t[ids] = np.where(reading, timestamp, lt)
        self.last_dt = np.asarray(dt, dtype=np.float64)
        return np.asarray(rate, dtype=np.float64)

    @staticmethod
    def poisson_floor(rate: FloatArray, dt: FloatArray) -> FloatArray:
        """Noise floor of a rate measured over ``dt`` if events arrive as a Poisson law.

        One event more or less in a scrape is then worth about one unit of scale, so a
        rare counter (errors, aborted connects) does not alarm on every single event:

        >>> import numpy as np
        >>> float(CounterRates.poisson_floor(np.array([0.0]), np.array([15.0]))[0] * 15)
        1.0
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.sqrt(np.maximum(rate, 0.0) * dt + 1.0) / dt
        return np.asarray(np.where(np.isfinite(f), f, 0.0), dtype=np.float64)

    def state_bytes(self) -> int:
        return int(self._last_v.nbytes + self._last_t.nbytes)

    def state_dict(self) -> dict[str, Any]:
        """Last value and time of every counter (arrays)."""
        return {"last_v": self._last_v, "last_t": self._last_t}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        last_v = np.asarray(state["last_v"], dtype=np.float64)
        last_t = np.asarray(state["last_t"], dtype=np.float64)
        if last_v.shape != last_t.shape:
            raise ValueError("counter state: arrays of different lengths")
        self._last_v, self._last_t = last_v.copy(), last_t.copy()
