"""Rare bad events: a counter of bad events that counted almost nothing for hours and now
counts several at once.

A robust z-score reads such a counter badly. Its baseline and spread are zero, so the
scale floor (one event per scrape, :meth:`~foreshock.detectors.counters.CounterRates.
poisson_floor`) makes its z-score the number of events: four errors where none were seen
for two days score 4 — routine for a noisy series — and no episode opens. Yet a service
that answered every request for two days and then fails four of forty in five minutes,
then six, is failing: that is what an availability fault looks like at low traffic.

Events that arrive at a steady rate follow a Poisson law: the chance of ``k`` or more
where ``λ`` are expected is at most ``exp(-(λ - k + k ln(k / λ)))`` (the Chernoff bound).
Each series keeps decayed sums (half-life ``halflife`` readings) of the events it counted,
their squares, its readings and the seconds it was watched, and the sums of its current
run (eight floats). The rate it expects is events over seconds, but never less than *one*
event in the time watched — two days without an error are evidence of a small rate, two
minutes are not, and a series just seen expects a lot. ``λ`` is that rate times the
seconds since the previous reading, so the events counted across a collector's gap are
compared with the gap's length. Readings in a row above expectation are one run, tested
together (3 errors, then 1, where one a day is expected, are one failure). Counts are
divided by the series' dispersion, the variance over the mean of its counts before the
run, at least 1 (quasi-Poisson): errors that come in bursts of five are worth a fifth each.
The score is ``1 - bound``, a probability on the calibrated scores' scale; the detect stage
takes the larger of the two.

It only speaks where the Poisson law is needed and the z-score misleads: a *sparse* counter,
at most ``sparse`` events expected per reading (0.1: one in ten readings). There a count's
law is far from the normal one (its skewness, ``1/sqrt(λ)``, is over 3). Around one event
per reading it is close enough, the z-score with its floor reads it well, and testing every
run of busy readings would page on chance: in the simulator's quiet day, MySQL's slow
queries (0.8 per 15-second reading) ran 2, 3, 4, 5, 4, 2 once, a one-in-10^6 run that a
day of readings makes likely. The detect stage asks it only for counters whose pack calls
a rise bad (errors, aborted connections, evictions): rare calls of a quiet endpoint are
demand, not failure.

Examples
--------
>>> import numpy as np
>>> rare = RareEvents()
>>> ids = np.array([0, 1])
>>> for _ in range(500):  # five-minute scrapes: series 1 counts 3 events in each
...     _ = rare.update(ids, np.array([0.0, 3.0]), np.array([300.0, 300.0]))
>>> [round(float(s), 4) for s in rare.update(ids, np.array([4.0, 4.0]), np.full(2, 300.0))]
[1.0, 0.0]
>>> _ = rare.update(ids, np.array([0.0, 3.0]), np.full(2, 300.0))  # calm again
>>> float(rare.update(ids, np.array([1.0, 3.0]), np.full(2, 300.0))[0]) < 0.999  # one error
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foreshock.detectors.base import FloatArray, IntArray

#: The ``detector`` of an anomaly this score decided (it outscored the calibrated z-score).
NAME = "rare_events"


class RareEvents:
    """Poisson surprise of a sparse counter's events per reading, vectorised.

    Parameters
    ----------
    halflife
        Half-life, in readings, of what a series remembers of its rate (the robust
        baseline's scale half-life by default: a few days at five-minute scrapes).
    sparse
        Only counters expecting at most this many events per reading are scored.
    """

    def __init__(self, halflife: float = 400.0, sparse: float = 0.1) -> None:
        self.halflife = halflife
        self.sparse = sparse
        self._decay = 0.5 ** (1.0 / halflife)
        # decayed sums over readings (events, their squares, readings, seconds watched)
        # and the current run of readings above expectation (its events, their squares,
        # readings, and the events expected in it)
        self._a: dict[str, FloatArray] = {name: np.zeros(0) for name in _STATE}

    def _ensure(self, max_id: int) -> None:
        n = len(self._a["events"])
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        self._a = {k: np.concatenate([v, np.zeros(cap - n)]) for k, v in self._a.items()}

    def expected(self, ids: IntArray, dt: FloatArray) -> FloatArray:
        """Events each series expects in ``dt`` seconds: its rate, at least one event in
        the time it was watched (infinite for a series never watched)."""
        self._ensure(int(ids.max()) if ids.size else 0)
        a = self._a
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.maximum(a["events"][ids], 1.0) / a["seconds"][ids] * dt
        return np.asarray(np.where(np.isfinite(lam), lam, np.inf), dtype=np.float64)

    def dispersion(self, ids: IntArray) -> FloatArray:
        """Variance over mean of each series' counts per reading before its current run,
        at least 1 (Poisson): errors that come in bursts of five are worth a fifth each."""
        a = self._a
        n = np.maximum(a["readings"][ids] - a["run_n"][ids], 1.0)
        mean = (a["events"][ids] - a["run_k"][ids]) / n
        square = (a["squares"][ids] - a["run_k2"][ids]) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = (square - mean**2) / mean
        return np.asarray(np.where(np.isfinite(phi), np.maximum(phi, 1.0), 1.0), dtype=np.float64)

    def update(self, ids: IntArray, counts: FloatArray, dt: FloatArray) -> FloatArray:
        """Score ``counts`` (events since each series' previous reading, ``dt`` seconds
        ago; NaN: no reading) against each series' expectation, then learn them."""
        if ids.size == 0:
            return np.zeros(0)
        lam = self.expected(ids, dt)
        phi = self.dispersion(ids)
        a = self._a
        k = np.asarray(counts, dtype=np.float64)
        seen = np.isfinite(k) & np.isfinite(dt) & (dt > 0)
        excess = seen & (k > lam) & (lam <= self.sparse) & (lam > 0)
        k, dt = np.where(seen, k, 0.0), np.where(seen, dt, 0.0)
        run = {  # readings in a row above expectation: one run, its events tested together
            "run_k": k,
            "run_k2": k**2,
            "run_n": np.ones_like(k),
            "run_lam": np.where(excess, lam, 0.0),
        }
        for name, x in run.items():
            run[name] = np.where(excess, a[name][ids] + x, 0.0)
            a[name][ids] = np.where(seen, run[name], a[name][ids])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            kk, ll = run["run_k"] / phi, run["run_lam"] / phi  # quasi-Poisson
            score = np.where(excess, -np.expm1(-(ll - kk + kk * np.log(kk / ll))), 0.0)
        learned = {"events": k, "squares": k**2, "readings": np.ones_like(k), "seconds": dt}
        for name, x in learned.items():
            a[name][ids] = np.where(seen, a[name][ids] * self._decay + x, a[name][ids])
        return np.asarray(np.nan_to_num(score, nan=0.0), dtype=np.float64)

    def params(self) -> dict[str, Any]:
        return {"halflife": self.halflife, "sparse": self.sparse}

    def state_bytes(self) -> int:
        return sum(int(v.nbytes) for v in self._a.values())

    def state_dict(self) -> dict[str, Any]:
        """The decayed sums and the current run of every series (arrays)."""
        return {k: v.copy() for k, v in self._a.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        arrays = {k: np.asarray(state[k], dtype=np.float64) for k in _STATE}
        if len({v.shape for v in arrays.values()}) != 1:
            raise ValueError("rare-event state: arrays of different lengths")
        self._a = {k: v.copy() for k, v in arrays.items()}


_STATE = ("events", "squares", "readings", "seconds", "run_k", "run_k2", "run_n", "run_lam")
