"""A robust daily profile, removed before and added back after non-seasonal models.

ETS and ARIMA with a season of one day of points (288 at 5 minutes) are far too slow
(statsforecast's seasonal AutoETS takes ~6 s on a week of 5-minute points). As
statsforecast's MSTL does, the season is removed first: the series is detrended by a
centred moving average of one season, the profile is the median detrended value of each
phase (centred on zero), and it is kept only when its strength
``1 - var(remainder) / var(detrended)`` reaches ``min_strength`` (else subtracting a
noisy profile would only add noise).

Examples
--------
>>> import numpy as np
>>> v = np.tile([0.0, 1.0, 0.0, -1.0], 6) + np.arange(24) * 0.1
>>> p = DailyProfile.estimate(v, 4)
>>> np.round(p.profile, 2).tolist()
[0.0, 1.0, 0.0, -1.0]
>>> np.round(p.at(np.arange(24, 28)), 2).tolist()
[0.0, 1.0, 0.0, -1.0]
>>> DailyProfile.estimate(v, 1).profile.tolist()
[0.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from foreshock.detectors.forecasters.base import FloatArray

__all__ = ["DailyProfile"]

MIN_STRENGTH = 0.3


@dataclass(frozen=True)
class DailyProfile:
    """Seasonal offsets by phase ``index % season`` (all zero when not seasonal)."""

    profile: FloatArray

    @property
    def season(self) -> int:
        """Points per season (1 when there is none)."""
        return int(self.profile.size)

    @classmethod
    def estimate(
        cls, values: FloatArray, season: int, min_strength: float = MIN_STRENGTH
    ) -> DailyProfile:
        """The profile of ``values`` (index 0 has phase 0), or zeros if too weak."""
        n = values.size
        if season < 2 or n < 2 * season:
            return cls(np.zeros(max(season, 1)))
        kernel = np.ones(season) / season
        trend = np.convolve(values, kernel, mode="valid")  # trend[i] ~ centre i + season/2
        start = season // 2
        detrended = np.full(n, np.nan)
        detrended[start : start + trend.size] = values[start : start + trend.size] - trend
        padded = np.full(-(-n // season) * season, np.nan)
        padded[:n] = detrended
        profile = np.nanmedian(padded.reshape(-1, season), axis=0)
        profile = np.nan_to_num(profile - np.nanmean(profile))
        phases = np.arange(n) % season
        ok = np.isfinite(detrended)
        total = float(np.var(detrended[ok]))
        remainder = float(np.var(detrended[ok] - profile[phases[ok]]))
        if total <= 0.0 or 1.0 - remainder / total < min_strength:
            return cls(np.zeros(season))
        return cls(profile)

    def at(self, index: npt.ArrayLike) -> FloatArray:
        """Offsets at (integer-valued) grid indices ``index``."""
        idx = np.asarray(index).astype(np.int64) % self.season
        return np.asarray(self.profile[idx], dtype=np.float64)
