"""Calibration per group of series (per resource), vectorised: one histogram per group.

:class:`GroupedCalibrator` is :class:`~foreshock.detectors.calibration.TailCalibrator`
applied separately to each group of series — the same histogram, tail and normal ceiling,
the same numbers as one ``TailCalibrator`` per group (tested) — in one vectorised call per
scrape whatever the number of groups.

Why per resource: a calibrator shared by every series of a detect stage gives a series a
score that depends on which other series share the stage. The distributed runtime splits
the series over partitions by resource, so a fleet-wide calibrator made the worker's
anomalies differ from the embedded runtime's on real data (an anomaly one scrape earlier,
an extra resource in an incident, on a lab window). A resource's series always share a
partition, so calibration per resource gives the same scores however the fleet is split;
and a resource is judged against its own history of surprises, not a fleet average.

Examples
--------
>>> import numpy as np
>>> cal = GroupedCalibrator(min_count=100)
>>> rng = np.random.default_rng(0)
>>> noisy, flat = np.zeros(5000, dtype=np.int64), np.ones(5000, dtype=np.int64)
>>> cal.learn(np.concatenate([noisy, flat]),
...           np.concatenate([rng.normal(0, 3, 5000), rng.normal(0, 0.3, 5000)]))
>>> s_noisy, s_flat = cal.transform(np.array([0, 1]), np.array([4.0, 4.0]))
>>> bool(s_noisy < 0.9 < s_flat)   # the same z is ordinary on a noisy resource, not on a calm one
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf

from foreshock.detectors.base import FloatArray, IntArray

__all__ = ["GroupedCalibrator"]

_EPS = 1e-12


class GroupedCalibrator:
    """One online histogram of |raw score| per group, with an exponential upper tail.

    Parameters are those of :class:`~foreshock.detectors.calibration.TailCalibrator`, each
    applied per group (``halflife`` and ``min_count`` count that group's scores).
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
        self._counts = np.zeros((0, bins + 2))  # per group: [under, bins..., over]
        self._total = np.zeros(0)

    def _ensure(self, max_group: int) -> None:
        n = len(self._total)
        if max_group < n:
            return
        cap = max(16, n)
        while cap <= max_group:
            cap *= 2
        self._counts = np.concatenate([self._counts, np.zeros((cap - n, self.bins + 2))])
        self._total = np.concatenate([self._total, np.zeros(cap - n)])

    def learn(self, groups: IntArray, raw: FloatArray) -> None:
        """Add |raw| scores to the distribution of their groups."""
        ok = np.isfinite(raw)
        groups, a = groups[ok], np.abs(raw[ok])
        if a.size == 0:
            return
        self._ensure(int(groups.max()))
        present, n = np.unique(groups, return_counts=True)
        decay = 0.5 ** (n / self.halflife)
        self._counts[present] *= decay[:, None]
        self._total[present] *= decay
        idx = np.searchsorted(self._edges, a, side="right")
        width = self.bins + 2
        # one bincount over (group, bin) pairs of the groups present: np.add.at is slower
        slot = np.searchsorted(present, groups) * width + idx
        add = np.bincount(slot, minlength=len(present) * width).reshape(len(present), width)
        self._counts[present] += add
        self._total[present] += n

    def transform(self, groups: IntArray, raw: FloatArray) -> FloatArray:
        """Calibrated scores in [0, 1] of |raw|, each against its group's distribution."""
        a = np.abs(np.nan_to_num(raw, nan=0.0))
        prior = np.asarray(erf(a / np.sqrt(2.0)), dtype=np.float64)
        if a.size == 0:
            return prior
        self._ensure(int(groups.max()))
        learned = self._total[groups] >= self.min_count
        if not learned.any():
            return prior
        out = prior.copy()
        rows, g, x = np.flatnonzero(learned), groups[learned], a[learned]
        used, row = np.unique(g, return_inverse=True)
        cdf = np.cumsum(self._counts[used], axis=1) / np.maximum(self._total[used], _EPS)[:, None]
        idx = np.searchsorted(self._edges, x, side="right")
        padded = np.concatenate([np.zeros((len(used), 1)), cdf], axis=1)
        lower = padded[row, idx]
        lo_e = self._edges[np.clip(idx - 1, 0, self.bins)]
        hi_e = self._edges[np.clip(idx, 0, self.bins)]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.log(np.maximum(x, lo_e) / lo_e) / np.log(hi_e / lo_e)
        inside = (idx >= 1) & (idx <= self.bins)
        frac = np.where(inside, np.clip(np.nan_to_num(frac), 0.0, 1.0), 1.0)
        bulk = lower + (cdf[row, idx] - lower) * frac
        q = self.tail_quantile
        s_q = self._quantiles(cdf, q)[row]
        s_q2 = self._quantiles(cdf, 1.0 - (1.0 - q) / 5.0)[row]
        m = np.maximum(np.maximum((s_q2 - s_q) / np.log(5.0), 0.05 * np.maximum(s_q, 1.0)), _EPS)
        tail = 1.0 - (1.0 - q) * np.exp(-np.maximum(x - s_q, 0.0) / m)
        cal = np.where(x > s_q, np.maximum(tail, np.minimum(bulk, q)), bulk)
        if self.normal_ceiling:
            cal = np.minimum(cal, prior[rows])
        out[rows] = cal
        return np.clip(out, 0.0, 1.0)

    def _quantiles(self, cdf: FloatArray, q: float) -> FloatArray:
        """Score at cumulative probability ``q`` of each row of ``cdf`` (geometric
        interpolation inside the bin), as ``TailCalibrator._quantile``."""
        n = cdf.shape[1]
        reached = cdf >= q
        i = np.where(reached.any(axis=1), reached.argmax(axis=1), n)
        safe = np.clip(i, 1, self.bins)
        lo_c = cdf[np.arange(len(cdf)), safe - 1]
        hi_c = cdf[np.arange(len(cdf)), safe]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(hi_c <= lo_c, 0.0, (q - lo_c) / (hi_c - lo_c))
        lo_e, hi_e = self._edges[safe - 1], self._edges[safe]
        inner = lo_e * (hi_e / lo_e) ** frac
        return np.asarray(
            np.where(i <= 0, self.low, np.where(i > self.bins, self.high, inner)),
            dtype=np.float64,
        )

    def state_bytes(self) -> int:
        return int(self._counts.nbytes + self._total.nbytes)

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        names = ("bins", "low", "high", "tail_quantile", "halflife", "min_count")
        return {**{n: getattr(self, n) for n in names}, "normal_ceiling": self.normal_ceiling}

    def state_dict(self) -> dict[str, Any]:
        """Every group's histogram (arrays)."""
        return {"counts": self._counts, "total": self._total}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the histograms by those of :meth:`state_dict`."""
        counts = np.asarray(state["counts"], dtype=np.float64)
        total = np.asarray(state["total"], dtype=np.float64)
        if counts.ndim != 2 or counts.shape[1] != self.bins + 2 or len(counts) != len(total):
            raise ValueError(f"calibrator state of shape {counts.shape} does not fit")
        self._counts, self._total = counts.copy(), total.copy()
