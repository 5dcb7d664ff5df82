"""Time to exhaustion: when the series first reaches a limit, as p10/p50/p90.

``danger="growth"`` means exhaustion is the first time the series reaches ``limit`` from
below (used bytes reach capacity); ``danger="drop"`` the first time it falls to ``limit``
or below (free bytes reach 0). Crossing times are interpolated linearly between the
forecast timestamps; a series already past the limit at the first forecast timestamp is
exhausted at that timestamp.

Two estimators, by what the model provides:

- **sample paths** (``Prediction.samples``): each path's first-passage time, then the
  10/50/90% quantiles over paths (paths that never cross count as "later than the
  horizon"). This is the distribution of the first crossing of the noisy series.
- **per-timestep quantile crossing** otherwise. For growth, ``P(T <= t) >= P(y_t >= L)``
  and ``P(y_t >= L) >= 10%`` as soon as the 90% quantile of ``y_t`` (``upper80``)
  reaches ``L``; so **p10 = when upper80 crosses, p50 = when the point crosses, p90 =
  when lower80 crosses**. For drop the roles of the bounds swap: p10 = when ``lower80``
  falls to the limit, p90 = when ``upper80`` does. Equality holds for monotone paths (a
  ramp whose noise is small against its slope); with noisy paths the first passage is
  earlier, so these times are upper bounds of the true quantiles.

A quantile is ``None`` when it is not reached within the forecast horizon.

Examples
--------
>>> import numpy as np
>>> from foreshock.detectors.forecasters.base import Prediction
>>> t = 3600.0 * np.arange(1, 11)
>>> mid = np.arange(1.0, 11.0)
>>> p = Prediction(mid, mid - 1, mid + 1, mid - 2, mid + 2)
>>> e = time_to_exhaustion(t, p, limit=5.5, danger="growth")
>>> [x / 3600.0 for x in (e.p10, e.p50, e.p90)]
[4.5, 5.5, 6.5]
>>> time_to_exhaustion(t, p, limit=100.0, danger="growth").p50 is None
True
>>> e = time_to_exhaustion(t, Prediction.constant(10.0 - mid), limit=0.0, danger="drop")
>>> e.p50 / 3600.0
10.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction

__all__ = ["Danger", "Exhaustion", "first_crossing", "time_to_exhaustion"]

Danger = Literal["growth", "drop"]
_QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Exhaustion:
    """Epoch seconds of the 10/50/90% quantiles of the exhaustion time (or ``None``)."""

    p10: float | None
    p50: float | None
    p90: float | None


def first_crossing(t: FloatArray, values: FloatArray, limit: float, danger: Danger) -> FloatArray:
    """First time each row of ``values`` (``(n, T)`` or ``(T,)``) reaches ``limit``.

    ``inf`` for a row that never does.

    Examples
    --------
    >>> first_crossing(np.array([0.0, 10.0]), np.array([[0.0, 2.0], [0.0, 0.5]]), 1.0,
    ...                "growth").tolist()
    [5.0, inf]
    """
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    sign = 1.0 if danger == "growth" else -1.0
    excess = sign * (v - limit)  # >= 0 once exhausted
    hit = excess >= 0.0
    any_hit = hit.any(axis=1)
    idx = np.argmax(hit, axis=1)
    out = np.full(v.shape[0], np.inf)
    rows = np.nonzero(any_hit)[0]
    i = idx[rows]
    first = i == 0
    out[rows[first]] = t[0]
    r, j = rows[~first], i[~first]
    e0, e1 = excess[r, j - 1], excess[r, j]  # e0 < 0 <= e1
    frac = -e0 / (e1 - e0)
    out[r] = t[j - 1] + frac * (t[j] - t[j - 1])
    return out


def time_to_exhaustion(
    t_future: FloatArray, prediction: Prediction, limit: float, danger: Danger
) -> Exhaustion:
    """p10/p50/p90 of the first time the forecast series reaches ``limit``.

    Uses ``prediction.samples`` when present, else the per-timestep quantile crossing
    described in the module docstring.
    """
    t = np.asarray(t_future, dtype=np.float64)
    if t.size == 0:
        return Exhaustion(None, None, None)
    if prediction.samples is not None and prediction.samples.size:
        times = first_crossing(t, prediction.samples, limit, danger)
        q = np.quantile(times, _QUANTILES, method="inverted_cdf")
        return Exhaustion(*(_finite(float(x)) for x in q))
    early, late = (
        (prediction.upper80, prediction.lower80)
        if danger == "growth"
        else (prediction.lower80, prediction.upper80)
    )
    bands = np.stack([early, prediction.point, late])
    times = first_crossing(t, bands, limit, danger)
    return Exhaustion(*(_finite(float(x)) for x in times))


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None
