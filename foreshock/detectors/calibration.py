"""Calibration: raw detector scores → comparable scores in [0, 1].

:class:`TailCalibrator` learns the distribution of a detector's raw scores online (a
fixed log-spaced histogram, slowly forgotten) and maps a raw score to its estimated
cumulative probability. Beyond the bulk, an exponential tail fitted on the top of the
distribution keeps scores distinct where the histogram has no data. After calibration a
score of 0.999 means "rarer than 99.9% of what this detector has produced", whatever the
detector, so scores of different detectors can be compared and thresholded alike
(Merlion's score → calibrated score step).

For z-score detectors (``normal_ceiling=True``) calibration may make a score *less*
extreme than the z-score's two-sided normal probability, never more. One calibrator is
shared by every series, and a fleet that is mostly flat series (limits, configuration
gauges, a steady load generator's counters: |z| near 0 all the time) teaches it that
|z| = 1 is a one-in-a-billion event; without the ceiling a one-scale wiggle of the one
noisy series opens, and holds open, an anomaly.

Examples
--------
>>> import numpy as np
>>> cal = TailCalibrator()
>>> rng = np.random.default_rng(0)
>>> cal.learn(np.abs(rng.normal(size=20000)))
>>> lo, hi = cal.transform(np.array([0.5, 8.0]))
>>> bool(0.3 < lo < 0.5 and hi > 0.999)
True
>>> flat = TailCalibrator(normal_ceiling=True)
>>> flat.learn(np.full(20000, 0.01))  # a fleet of flat series
>>> one_scale, five_scales = flat.transform(np.array([1.0, 5.0]))
>>> bool(one_scale < 0.7 and five_scales > 0.9999)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf

from foreshock.detectors.base import FloatArray

_EPS = 1e-12


class TailCalibrator:
    """Online empirical CDF of |raw score| with an exponential upper tail.

    Parameters
    ----------
    bins
        Number of log-spaced histogram bins between ``low`` and ``high``.
    low, high
        Range of |raw score| covered by the histogram.
    tail_quantile
        Scores above this quantile are mapped through the fitted exponential tail.
    halflife
        Number of learned scores after which old counts weigh half.
    prior
        Calibration used until ``min_count`` scores are learned: the two-sided standard
        normal tail of the raw score (fine for z-scores).
    min_count
        Scores learned before the histogram replaces the prior.
    normal_ceiling
        The raw scores are z-scores: a calibrated score never exceeds the prior's.
    """

    def __init__(
        self,
        bins: int = 256,
        low: float = 1e-3,
        high: float = 1e4,
        tail_quantile: float = 0.9,
        halflife: float = 2_000_000.0,
        min_count: int = 2000,
        normal_ceiling: bool = False,
    ) -> None:
        self.bins = bins
        self.low = low
        self.high = high
        self.tail_quantile = tail_quantile
        self.halflife = halflife
        self.min_count = min_count
        self.normal_ceiling = normal_ceiling
        self._edges = np.geomspace(low, high, bins + 1)
        self._counts = np.zeros(bins + 2)  # [under, bins..., over]
        self._total = 0.0

    def learn(self, raw: FloatArray) -> None:
        """Add |raw| scores to the learned distribution."""
        a = np.abs(raw[np.isfinite(raw)])
        if a.size == 0:
            return
        decay = 0.5 ** (a.size / self.halflife)
        self._counts *= decay
        self._total *= decay
        idx = np.searchsorted(self._edges, a, side="right")
        self._counts += np.bincount(idx, minlength=self.bins + 2)
        self._total += a.size

    def transform(self, raw: FloatArray) -> FloatArray:
        """Calibrated scores in [0, 1] for |raw|."""
        a = np.abs(np.nan_to_num(raw, nan=0.0))
        prior = np.asarray(erf(a / np.sqrt(2.0)), dtype=np.float64)
        if self._total < self.min_count:
            return prior
        cdf = np.cumsum(self._counts) / max(self._total, _EPS)
        idx = np.searchsorted(self._edges, a, side="right")
        # interpolate inside the bin (geometrically), so the top occupied bin does not map
        # every score in it to 1.0
        lower = np.concatenate([[0.0], cdf])[idx]
        lo_e = self._edges[np.clip(idx - 1, 0, self.bins)]
        hi_e = self._edges[np.clip(idx, 0, self.bins)]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.log(np.maximum(a, lo_e) / lo_e) / np.log(hi_e / lo_e)
        inside = (idx >= 1) & (idx <= self.bins)
        frac = np.where(inside, np.clip(np.nan_to_num(frac), 0.0, 1.0), 1.0)
        bulk = lower + (cdf[idx] - lower) * frac
        # exponential tail above the tail quantile: P(S > s) = (1-q) * exp(-(s - s_q) / m),
        # with m fitted on two quantiles of the bulk (q and 1 - (1-q)/5): a fault that
        # makes several percent of all scores anomalous for an hour does not inflate it,
        # as a mean excess or a high empirical quantile would be
        q = self.tail_quantile
        s_q = self._quantile(cdf, q)
        s_q2 = self._quantile(cdf, 1.0 - (1.0 - q) / 5.0)
        m = max((s_q2 - s_q) / np.log(5.0), 0.05 * max(s_q, 1.0), _EPS)
        tail = 1.0 - (1.0 - q) * np.exp(-np.maximum(a - s_q, 0.0) / m)
        out = np.where(a > s_q, np.maximum(tail, np.minimum(bulk, q)), bulk)
        if self.normal_ceiling:
            out = np.minimum(out, prior)
        return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)

    def _quantile(self, cdf: FloatArray, q: float) -> float:
        """Score at cumulative probability ``q`` (geometric interpolation in the bin)."""
        i = int(np.searchsorted(cdf, q))
        if i <= 0:
            return self.low
        if i > self.bins:
            return self.high
        lo_c, hi_c = cdf[i - 1], cdf[i]
        frac = 0.0 if hi_c <= lo_c else (q - lo_c) / (hi_c - lo_c)
        lo_e, hi_e = self._edges[i - 1], self._edges[i]
        return float(lo_e * (hi_e / lo_e) ** frac)

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        names = ("bins", "low", "high", "tail_quantile", "halflife", "min_count")
        return {**{n: getattr(self, n) for n in names}, "normal_ceiling": self.normal_ceiling}

    def state_dict(self) -> dict[str, Any]:
        """The learned histogram (plain data)."""
        return {"counts": self._counts, "total": self._total}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the learned histogram by one from :meth:`state_dict`."""
        counts = np.asarray(state["counts"], dtype=np.float64)
        if counts.shape != self._counts.shape:
            raise ValueError(f"calibrator state has {counts.size} bins, not {self._counts.size}")
        self._counts = counts.copy()
        self._total = float(state["total"])
