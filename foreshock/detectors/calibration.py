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

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter
from scipy.special import erf

from foreshock.detectors.base import FloatArray

_EPS = 1e-12
_BLOCK = 2048  # scores per block of prequential(): a few MB of histograms


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

    def prequential(self, raw: FloatArray, block: int = _BLOCK) -> FloatArray:
        """Transform each score of ``raw`` in turn, then learn it: a stream, calibrated.

        The same, bit for bit (scores and learned state), as ``transform(raw[i:i + 1])``
        then ``learn(raw[i:i + 1])`` for each ``i`` in order, but ``block`` scores at a
        time. The histogram each score is transformed against is the one at the block's
        start decayed and incremented by the block's earlier scores: the block's
        histograms are built at once, one per score, by the same recursion
        (``counts * decay + new``, a first-order filter run down each bin), and
        :meth:`transform`'s steps (cumulative sums, bin lookup, quantiles, tail) are
        applied to all rows together. A score that is not a finite number is
        transformed but not learned, as with :meth:`learn`.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> raw = np.abs(rng.standard_t(3, size=3000))
        >>> one_by_one = TailCalibrator(min_count=500)
        >>> expected = []
        >>> for i in range(raw.size):
        ...     expected.append(float(one_by_one.transform(raw[i : i + 1])[0]))
        ...     one_by_one.learn(raw[i : i + 1])
        >>> chunked = TailCalibrator(min_count=500)
        >>> chunked.prequential(raw, block=256).tolist() == expected
        True
        >>> bool(np.array_equal(chunked.state_dict()["counts"], one_by_one.state_dict()["counts"]))
        True
        """
        raw = np.asarray(raw, dtype=np.float64).ravel()
        out = np.empty(raw.size)
        for start in range(0, raw.size, max(int(block), 1)):
            part = raw[start : start + max(int(block), 1)]
            out[start : start + part.size] = self._prequential_block(part)
        return out

    def _prequential_block(self, raw: FloatArray) -> FloatArray:
        """:meth:`prequential` on one block: the histograms of its rows at once.

        Only the bins that hold a count at the block's start or get one in it are kept
        (the others stay exactly 0.0, and adding 0.0 leaves a cumulative sum as it is);
        a cumulative probability at any bin is read at the last kept bin up to it.
        """
        counts_ok = bool(np.isfinite(self._counts).all() and (self._counts >= 0.0).all())
        if not (counts_ok and math.isfinite(self._total) and self._total >= 0.0):
            return self._prequential_slow(raw)  # a foreign state: no sorted cdf to rely on
        learned = np.isfinite(raw)
        n_learned = int(np.count_nonzero(learned))
        decay = 0.5 ** (1 / self.halflife)  # learn()'s decay for one score
        a = np.abs(np.nan_to_num(raw, nan=0.0))
        prior = np.asarray(erf(a / np.sqrt(2.0)), dtype=np.float64)
        # totals and histograms after each learned score follow x = x * decay + new (as
        # learn() computes them, in this order): a first-order recursive filter
        totals = np.empty(n_learned + 1)
        totals[0] = self._total
        hit = np.searchsorted(self._edges, a[learned], side="right")
        keep = (self._counts != 0.0) | (np.bincount(hit, minlength=self._counts.size) > 0)
        kept = np.flatnonzero(keep)
        # hist[b, l]: kept bin b after the block's first l learned scores
        hist = np.empty((kept.size, n_learned + 1))
        hist[:, 0] = self._counts[kept]
        if n_learned:
            recursion = ([1.0, 0.0], [1.0, -decay])
            totals[1:] = lfilter(*recursion, np.ones(n_learned), zi=[self._total * decay])[0]
            row_of = np.cumsum(keep) - 1  # bin -> its row in ``hist``
            new = np.zeros((kept.size, n_learned))
            new[row_of[hit], np.arange(n_learned)] = 1.0
            zi = (hist[:, 0] * decay)[:, None]
            hist[:, 1:] = lfilter(*recursion, new, axis=1, zi=zi)[0]
        seen = np.cumsum(learned) - learned  # learned scores before each row
        before = totals[seen]
        out = prior
        rows = np.flatnonzero(~(before < self.min_count))  # rows past the prior
        if rows.size:
            if rows.size == raw.size and n_learned == raw.size:
                states = hist[:, :-1]  # the common case: no copy
            else:
                states = hist[:, seen[rows]]
            # cdf[1 + b, r]: cumulative count up to kept bin b before row r (cumsum down
            # the bins, one bin at a time for all rows: the same sums, in the same order)
            cdf = np.empty((kept.size + 1, rows.size))
            cdf[0] = 0.0
            if kept.size:
                cdf[1] = states[0]
            for b in range(1, kept.size):
                np.add(cdf[b], states[b], out=cdf[b + 1])
            cdf /= np.maximum(before[rows], _EPS)
            out[rows] = self._transform_rows(a[rows], prior[rows], cdf, keep)
        self._counts = self._counts.copy()
        self._counts[kept] = hist[:, -1]
        self._total = float(totals[-1])
        return out

    def _prequential_slow(self, raw: FloatArray) -> FloatArray:
        """:meth:`prequential` one score at a time."""
        out = np.empty(raw.size)
        for i in range(raw.size):
            out[i] = self.transform(raw[i : i + 1])[0]
            self.learn(raw[i : i + 1])
        return out

    def _transform_rows(
        self, a: FloatArray, prior: FloatArray, cdf: FloatArray, keep: npt.NDArray[np.bool_]
    ) -> FloatArray:
        """:meth:`transform` of each ``a[r]`` against its own cumulative histogram.

        ``cdf[1 + c, r]`` is row ``r``'s cumulative probability at the ``c``-th kept bin
        (of ``keep``) and ``cdf[0, r]`` is 0.0: its cumulative probability at bin ``b`` is
        ``cdf[at[b], r]``.
        """
        rows = np.arange(a.size)
        at = np.cumsum(keep)  # bin -> column of cdf
        at_before = np.concatenate([[0], at])  # bin -> column of cdf at the bin before
        idx = np.searchsorted(self._edges, a, side="right")
        lower = cdf[at_before[idx], rows]
        lo_e = self._edges[np.clip(idx - 1, 0, self.bins)]
        hi_e = self._edges[np.clip(idx, 0, self.bins)]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.log(np.maximum(a, lo_e) / lo_e) / np.log(hi_e / lo_e)
        inside = (idx >= 1) & (idx <= self.bins)
        frac = np.where(inside, np.clip(np.nan_to_num(frac), 0.0, 1.0), 1.0)
        bulk = lower + (cdf[at[idx], rows] - lower) * frac
        q = self.tail_quantile
        s_q = self._quantile_rows(cdf, keep, q)
        s_q2 = self._quantile_rows(cdf, keep, 1.0 - (1.0 - q) / 5.0)
        m = np.maximum(np.maximum((s_q2 - s_q) / np.log(5.0), 0.05 * np.maximum(s_q, 1.0)), _EPS)
        with np.errstate(over="ignore"):
            tail = 1.0 - (1.0 - q) * np.exp(-np.maximum(a - s_q, 0.0) / m)
        out = np.where(a > s_q, np.maximum(tail, np.minimum(bulk, q)), bulk)
        if self.normal_ceiling:
            out = np.minimum(out, prior)
        return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)

    def _quantile_rows(self, cdf: FloatArray, keep: npt.NDArray[np.bool_], q: float) -> FloatArray:
        """:meth:`_quantile` of each row of ``cdf`` (laid out as in :meth:`_transform_rows`)."""
        rows = np.arange(cdf.shape[1])
        at = np.cumsum(keep)
        # searchsorted(row, q) on the full, sorted row: the bins below the first kept
        # bin at or above q; the bins before the first kept one are 0.0
        below = np.count_nonzero(cdf[1:] < q, axis=0)
        first_at_or_above = np.append(np.flatnonzero(keep), keep.size)[below]
        i = np.where((below > 0) | (q > 0.0), first_at_or_above, 0)
        j = np.clip(i, 1, self.bins)
        lo_c, hi_c = cdf[at[j - 1], rows], cdf[at[j], rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(hi_c <= lo_c, 0.0, (q - lo_c) / (hi_c - lo_c))
        lo_e, hi_e = self._edges[j - 1], self._edges[j]
        # a ** b as _quantile computes it (C's pow, through numpy's scalar power), not
        # with numpy's vectorised power, which may round differently
        power = np.fromiter(map(math.pow, (hi_e / lo_e).tolist(), frac.tolist()), np.float64)
        s = lo_e * power
        return np.where(i <= 0, float(self.low), np.where(i > self.bins, float(self.high), s))

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
