"""Recent level shifts: where the current regime of a series began.

A rolling-origin backtest judges models on the past; when a series has just jumped to a
new level (an autoscaling group drained, a job stopped, a volume was swapped), every
fold lies in the old regime and the backtest keeps choosing the model that repeats it.
:func:`recent_shift` finds such a jump from the data alone: the longest run of the latest
points (at least ``min_run``, at most ``max_run``) that all lie more than ``k`` robust
scales on one side of the median of the ``reference`` points before the run. The scale
is the normalised MAD of the reference, floored at its smallest non-zero step (an
integer gauge moving from 5 to 6 is not a shift) and at a tiny fraction of its level.

The selection (:mod:`~foreshock.detectors.forecasters.selection`) then forgets the old regime:
it selects and fits on the points since the shift, or, while the new regime is too
short to fit, forecasts it naively. A shift longer than ``max_run`` needs no special
case, as the latest backtest folds already see it.

Examples
--------
>>> import numpy as np
>>> y = np.concatenate([34.0 + np.sin(np.arange(300.0)), [1.2, 1.0, 0.9, 1.1]])
>>> recent_shift(y, reference=288)
300
>>> recent_shift(np.concatenate([y[:300], [40.0, 33.0]]), reference=288) is None
True
>>> gauge = np.concatenate([np.tile([5.0, 6.0], 100), [7.0, 7.0, 7.0]])  # one step up
>>> recent_shift(gauge, reference=100) is None
True
"""

from __future__ import annotations

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray

__all__ = ["recent_shift"]


def recent_shift(
    y: FloatArray,
    reference: int,
    min_run: int = 3,
    max_run: int | None = None,
    k: float = 8.0,
) -> int | None:
    """Index where the latest level shift starts, or ``None`` when there is none.

    Parameters
    ----------
    y
        Values on a regular grid, oldest first, no NaNs.
    reference
        Points before the run that define the old level (one day of points).
    min_run
        Consecutive shifted points needed (fewer are an outlier, not a regime).
    max_run
        Longest run looked for (default ``reference // 3``).
    k
        Robust scales (normalised MAD) beyond the old median.
    """
    n = int(y.size)
    longest = min(max_run if max_run is not None else reference // 3, n - reference)
    if longest < min_run:
        return None
    # the reference windows of every run length at once, longest run first (one vectorised
    # median per statistic instead of one per run: the same numbers, ~5x less time)
    windows = np.lib.stride_tricks.sliding_window_view(
        y[n - longest - reference : n - min_run], reference
    )
    meds = np.median(windows, axis=1)
    mads = np.median(np.abs(windows - meds[:, None]), axis=1)
    steps = np.abs(np.diff(windows, axis=1))
    least = np.where(steps > 0, steps, np.inf).min(axis=1)
    for i, run in enumerate(range(longest, min_run - 1, -1)):
        med = float(meds[i])
        scale = max(
            1.4826 * float(mads[i]),
            float(least[i]) if np.isfinite(least[i]) else 0.0,
            1e-6 * max(abs(med), 1.0),
        )
        z = (y[n - run :] - med) / scale
        if bool(np.all(z > k)) or bool(np.all(z < -k)):
            return n - run
    return None
