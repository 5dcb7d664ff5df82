"""Robust linear trend (Theil–Sen) on the recent window, for exhaustion ramps.

The slope is the median of pairwise slopes over the last ``window_s`` seconds (subsampled
to ``max_points`` so the pairs stay cheap). The line is anchored on the *current* level:
the median of ``y - slope * t`` over the last ``level_s`` seconds. A robust fit over the
whole window would treat a recent level shift (a resize, a cleanup, a failover: the
series jumps and stays) as outliers and forecast the old level for a whole day; anchoring
on the last hour follows the jump while the slope stays robust.
Prediction intervals combine the two sources of error of a ramp forecast:

- the noise around the trend: the empirical quantiles of the in-window residuals
  (kept asymmetric, as measured);
- the error of the fitted line: ``se(t)^2 = se_level^2 + (t - t_anchor)^2 se_slope^2``:
  the standard error of a median of the ``k`` anchor points (``1.2533 s / sqrt(k_eff)``)
  and the OLS standard error of the slope, both from the robust residual scale ``s``
  (1.4826 MAD) over effective sample sizes ``n (1 - r1) / (1 + r1)``, ``r1`` the lag-1
  autocorrelation of the residuals; the slope's is inflated by ``1 / sqrt(0.91)``
  (Theil–Sen's Gaussian efficiency).

A bound is ``point + median ± sqrt(d^2 + (z se(t))^2)`` with ``d`` the distance from the
residual median to the residual quantile. Sample paths (for first-passage exhaustion)
draw the line from its normal sampling distribution and add Gaussian AR(1) noise with the
residuals' scale and lag-1 autocorrelation.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = 300.0 * np.arange(864)
>>> y = 2.0 * t / 86_400.0 + rng.normal(0.0, 0.1, t.size)
>>> m = LinearTrend()
>>> m.fit(t, y)
>>> round(m.slope_ * 86_400.0, 1)
2.0
>>> p = m.predict(t[-1] + 86_400.0 * np.array([1.0]))
>>> bool(p.lower80[0] < 8.0 < p.upper80[0]), p.samples.shape
(True, (200, 1))
>>> bool(np.array_equal(m.predict_point(t[-1] + 86_400.0 * np.array([1.0])), p.point))
True
"""

from __future__ import annotations

import numpy as np

from foreshock.detectors.forecasters.base import FloatArray, Prediction
from foreshock.detectors.forecasters.grid import DAY_S, clean, median_step

__all__ = ["LinearTrend"]

_Z80 = 1.2815515655446004
_Z95 = 1.959963984540054
_THEIL_SEN_EFFICIENCY = 0.91
_MEDIAN_SE = 1.2533  # sqrt(pi / 2): standard error of a median over that of a mean
_MIN_POINTS = 10


def theil_sen(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Slope and intercept of the Theil–Sen line through ``(x, y)``.

    Examples
    --------
    >>> theil_sen(np.arange(5.0), np.array([0.0, 2.0, 4.0, 100.0, 8.0]))
    (2.0, 0.0)
    """
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0
    return slope, float(np.median(y - slope * x))


class LinearTrend:
    """Theil–Sen trend over the recent window with calibrated intervals.

    Parameters
    ----------
    window_s
        Seconds of recent history the line is fitted on (at least ``10`` points are
        used when the window holds fewer).
    level_s
        Seconds of most recent history the level is anchored on (at least 3 points).
    max_points
        Points the pairwise slopes are computed on (evenly subsampled, last kept).
    n_paths
        Sample paths drawn by :meth:`predict` (0: none).
    seed
        Seed of the sample paths.
    """

    def __init__(
        self,
        window_s: float = 3 * DAY_S,
        level_s: float = 3_600.0,
        max_points: int = 300,
        n_paths: int = 200,
        seed: int = 0,
    ) -> None:
        self.window_s = window_s
        self.level_s = level_s
        self.max_points = max_points
        self.n_paths = n_paths
        self.seed = seed

    def fit(self, t: FloatArray, y: FloatArray) -> None:
        """Fit the line on the last ``window_s`` seconds and measure its residuals."""
        t, y = clean(t, y)
        keep = t >= t[-1] - self.window_s
        if keep.sum() < _MIN_POINTS:
            keep[-_MIN_POINTS:] = True
        t, y = t[keep], y[keep]
        self.origin_ = float(t[-1])
        self.step_ = median_step(t)
        x = (t - self.origin_) / DAY_S  # days, for a well-conditioned fit
        sub = np.unique(np.linspace(x.size - 1, 0, min(x.size, self.max_points)).astype(int))
        slope, level = theil_sen(x[sub], y[sub])
        recent = t >= t[-1] - self.level_s
        if recent.sum() < 3:
            recent[-3:] = True
        level = float(np.median(y[recent] - slope * x[recent]))
        resid = y - (level + slope * x)
        n = float(x.size)
        med = float(np.median(resid))
        scale = 1.4826 * float(np.median(np.abs(resid - med)))
        if scale == 0.0:
            scale = float(np.std(resid))
        r1 = 0.0
        if resid.size > 2 and np.std(resid) > 0:
            r1 = float(np.clip(np.corrcoef(resid[:-1], resid[1:])[0, 1], 0.0, 0.95))
        shrink = (1.0 - r1) / (1.0 + r1)
        n_eff = max(2.0, n * shrink)
        k_eff = max(1.0, float(recent.sum()) * shrink)
        sxx = float(np.sum((x - x.mean()) ** 2)) * n_eff / n
        inflate = 1.0 / np.sqrt(_THEIL_SEN_EFFICIENCY)
        self.slope_ = slope / DAY_S  # per second
        self.level_ = level
        self.x_mean_ = float(x[recent].mean())  # where the line is anchored
        self.se_level_ = _MEDIAN_SE * scale / np.sqrt(k_eff)
        self.se_slope_ = inflate * scale / np.sqrt(sxx) if sxx > 0 else 0.0  # per day
        self.resid_median_ = 0.0  # the anchor already centres the recent residuals
        self.resid_quantiles_ = np.quantile(resid, (0.025, 0.1, 0.9, 0.975)) - med
        self.resid_scale_ = scale
        self.r1_ = r1

    def predict_point(self, t_future: FloatArray) -> FloatArray:
        """The line at ``t_future`` (:meth:`predict`'s point, without intervals or paths)."""
        x = (np.asarray(t_future, dtype=np.float64) - self.origin_) / DAY_S
        return np.asarray(self.level_ + self.slope_ * DAY_S * x, dtype=np.float64)

    def predict(self, t_future: FloatArray) -> Prediction:
        """Line, residual-plus-line-error intervals and sample paths at ``t_future``."""
        x = (np.asarray(t_future, dtype=np.float64) - self.origin_) / DAY_S
        point = self.level_ + self.slope_ * DAY_S * x
        se = np.sqrt(self.se_level_**2 + ((x - self.x_mean_) * self.se_slope_) ** 2)
        q = self.resid_quantiles_
        centre = point + self.resid_median_

        def bound(d: float, z: float, sign: float) -> FloatArray:
            return np.asarray(centre + sign * np.sqrt(d**2 + (z * se) ** 2), dtype=np.float64)

        return Prediction(
            point,
            bound(-q[1], _Z80, -1.0),
            bound(q[2], _Z80, 1.0),
            bound(-q[0], _Z95, -1.0),
            bound(q[3], _Z95, 1.0),
            self._paths(x) if self.n_paths > 0 else None,
        )

    def _paths(self, x: FloatArray) -> FloatArray:
        rng = np.random.default_rng(self.seed)
        k = self.n_paths
        level = self.level_ + self.resid_median_ + rng.normal(0.0, self.se_level_, (k, 1))
        slope = self.slope_ * DAY_S + rng.normal(0.0, self.se_slope_, (k, 1))
        lines = level + slope * (x - self.x_mean_)[None, :] + self.slope_ * DAY_S * self.x_mean_
        # AR(1) noise on the (possibly irregular) future grid, stationary from the start
        gaps = np.diff(x * DAY_S, prepend=0.0) / self.step_
        phi = self.r1_ ** np.maximum(gaps, 0.0)
        z = rng.normal(0.0, self.resid_scale_, (k, x.size))
        noise = np.empty_like(z)
        prev = np.zeros(k)
        for i in range(x.size):
            innov = z[:, i] if i == 0 else z[:, i] * np.sqrt(1.0 - phi[i] ** 2)
            prev = phi[i] * prev + innov if i else innov
            noise[:, i] = prev
        return np.asarray(lines + noise, dtype=np.float64)
