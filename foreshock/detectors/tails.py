"""Per-series tail calibration: a series that often goes far from its baseline is
judged against its own tail, not the normal law's.

A robust z-score assumes that the bulk of a series (its median and mean absolute
deviation) tells how far it strays. Real series are often heavy-tailed: a latency whose p90
doubles for ten minutes every hour, a remote endpoint that is slow now and then. Their
z-scores of 10 are routine, and a detector that reads them as 10 sigma pages every hour.

Each series tracks a high quantile (``quantile``, 0.99 by default) of its absolute
z-score with a stochastic quantile estimate: one float per series, updated in one
vectorised step. A value above the estimate raises it by ``rate * quantile``, one below
lowers it by ``rate * (1 - quantile)``, so it settles where 1% of the samples lie above.
One fault (a few samples) moves it by a few ``rate`` and the calm after it brings it back;
excursions that recur every hour lift it to their own height. The score is then divided by
``max(1, tail / reference)``: a well-behaved series (tail at the reference, the 99th
percentile of a robust z of Gaussian noise) keeps its z-scores as they are.

Examples
--------
>>> import numpy as np
>>> tails = SeriesTails()
>>> ids = np.array([0, 1])
>>> rng = np.random.default_rng(0)
>>> for t in range(600):   # series 1 has a 10-sigma excursion one sample in ten
...     z = np.abs(rng.normal(size=2)) * 1.25
...     if t % 10 == 0:
...         z[1] = 10.0
...     _ = tails.update(ids, z, np.ones(2, dtype=bool))
>>> f = tails.factor(ids)
>>> bool(f[0] == 1.0), bool(f[1] > 2.5)
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foreshock.detectors.base import BoolArray, FloatArray, IntArray


class SeriesTails:
    """A high quantile of each series' absolute score, learned online (vectorised).

    Parameters
    ----------
    quantile
        The quantile tracked (0.99: one sample in a hundred lies above it).
    rate
        Step of the estimate, in score units.
    reference
        Where a well-behaved series' tail lies; scores are divided by ``tail/reference``
        when above it. About the 99th percentile of a robust z-score of Gaussian noise.
    """

    def __init__(self, quantile: float = 0.99, rate: float = 0.25, reference: float = 3.5) -> None:
        self.quantile = quantile
        self.rate = rate
        self.reference = reference
        self._tail = np.zeros(0)

    def _ensure(self, max_id: int) -> None:
        n = len(self._tail)
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        self._tail = np.concatenate([self._tail, np.full(cap - n, self.reference)])

    def factor(self, ids: IntArray) -> FloatArray:
        """What to divide the scores of ``ids`` by (1 for a well-behaved series)."""
        self._ensure(int(ids.max(initial=0)))
        return np.asarray(np.maximum(1.0, self._tail[ids] / self.reference), dtype=np.float64)

    def update(self, ids: IntArray, score: FloatArray, learn: BoolArray) -> FloatArray:
        """The factors of ``ids`` (before learning), then learn ``|score|`` where ``learn``."""
        if ids.size == 0:
            return np.zeros(0)
        self._ensure(int(ids.max()))
        out = self.factor(ids)
        tail = self._tail[ids]
        above = np.abs(score) > tail
        step = np.where(above, self.rate * self.quantile, -self.rate * (1.0 - self.quantile))
        self._tail[ids] = np.where(learn, np.maximum(self.reference, tail + step), tail)
        return out

    def forget(self, ids: IntArray) -> None:
        """Series ``ids`` start over at the reference tail."""
        if ids.size:
            self._ensure(int(ids.max()))
            self._tail[ids] = self.reference

    def state_bytes(self) -> int:
        return int(self._tail.nbytes)

    def params(self) -> dict[str, Any]:
        return {"quantile": self.quantile, "rate": self.rate, "reference": self.reference}

    def state_dict(self) -> dict[str, Any]:
        """The tail of every series (an array)."""
        return {"tail": self._tail}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        self._tail = np.asarray(state["tail"], dtype=np.float64)
