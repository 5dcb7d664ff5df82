"""Decision: calibrated scores → anomalous episodes, per series, vectorised.

An episode opens when a series' calibrated score stays at or above ``confirm`` for
``persist`` samples (a leaky count: a miss takes one back, so a noisy series is not
reset by a single dip), and its onset is the first sample of that run at or above
``onset``. It closes after ``cool`` samples in a row below ``onset``. While an episode
is open nothing is re-emitted: one anomaly per episode, not one per sample.

The counts are in each series' own time base. A series' sampling step is learned from the
gaps between its samples (a gap over :data:`GAP_STEPS` steps does not teach it), and a
run must *span* ``persist_span`` seconds, ``cool`` likewise ``cool_span`` seconds: at a
15-second scrape that is ``persist`` = 3 and ``cool`` = 8 samples (the counts are the
ceilings), at a 5-minute step 2 samples each — a fault that lasts 10 minutes of a
5-minute series is confirmed, where 3 samples would take 15. Until a series' step is known
the ceilings apply. A series silent for ``relearn_after`` seconds and more than
:data:`GAP_STEPS` of its steps is reported by :meth:`EpisodeDecider.arrive`, so that its
baseline re-learns instead of calling the data after the gap anomalous. For its first
``mature`` samples a series is *on probation*
(:meth:`EpisodeDecider.on_probation`): its anomalies are recorded, but a baseline learned
from a few dozen samples is no reason to page.

A run at or above ``confirm`` that ends without confirming is a *blip*. Each series
remembers how many it made (decaying with a half-life of :data:`BLIP_MEMORY`, a day) and
how large the largest was (the ``size`` passed to :meth:`EpisodeDecider.update`: the
detect stage's directed z-score). An episode of a series that blips routinely — at least
:data:`ROUTINE_BLIPS` blips in memory — and is no more than :data:`ROUTINE_SIZE` times its
largest blip is *routine* (:meth:`EpisodeDecider.routine`): one of its usual excursions
that happened to last a sample longer. Its anomaly is evidence, but it does not make an
incident credible.

Examples
--------
>>> import numpy as np
>>> d = EpisodeDecider(confirm=0.99, onset=0.9, persist=2, cool=2)
>>> ids = np.array([0])
>>> events = []
>>> for t, p in enumerate([0.5, 0.95, 0.999, 0.999, 0.1, 0.1]):
...     opened, closed = d.update(ids, np.array([p]), float(t))
...     if opened.size:
...         events.append(("open", t, float(d.onset_of(ids)[0])))
...     if closed.size:
...         events.append(("close", t))
>>> events
[('open', 3, 1.0), ('close', 5)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foreshock.detectors.base import BoolArray, FloatArray, IntArray

#: A gap between two samples longer than this many steps is a gap, not a step.
GAP_STEPS = 12.0
#: Half-life, in seconds, of a series' memory of its blips (runs that never confirmed).
BLIP_MEMORY = 86400.0
#: A series with this many blips in memory (about that many in its last day) is *routine*.
ROUTINE_BLIPS = 3.0
#: ... and an episode at most this many times its largest blip in memory is one of them.
ROUTINE_SIZE = 2.0


class EpisodeDecider:
    """Per-series episode state machine over calibrated scores in [0, 1]."""

    def __init__(
        self,
        confirm: float = 0.9999,
        onset: float = 0.99,
        persist: int = 3,
        cool: int = 8,
        persist_span: float = 30.0,
        cool_span: float = 105.0,
        relearn_after: float = 3600.0,
        mature: int = 90,
    ) -> None:
        self.confirm = confirm
        self.onset = onset
        self.persist = persist
        self.cool = cool
        self.persist_span = persist_span
        self.cool_span = cool_span
        self.relearn_after = relearn_after
        self.mature = mature
        self._seen = np.zeros(0)
        self._last_t = np.zeros(0)
        self._step = np.zeros(0)
        self._run = np.zeros(0)
        self._quiet = np.zeros(0)
        self._onset = np.zeros(0)
        self._active = np.zeros(0, dtype=bool)
        self._blips = np.zeros(0)
        self._peak = np.zeros(0)
        self._usual = np.zeros(0)
        self._blip_t = np.zeros(0)

    def _ensure(self, max_id: int) -> None:
        n = len(self._run)
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        g = cap - n
        self._last_t = np.concatenate([self._last_t, np.full(g, np.nan)])
        self._step = np.concatenate([self._step, np.full(g, np.nan)])
        self._seen = np.concatenate([self._seen, np.zeros(g)])
        self._run = np.concatenate([self._run, np.zeros(g)])
        self._quiet = np.concatenate([self._quiet, np.zeros(g)])
        self._onset = np.concatenate([self._onset, np.full(g, np.nan)])
        self._active = np.concatenate([self._active, np.zeros(g, dtype=bool)])
        self._blips = np.concatenate([self._blips, np.zeros(g)])
        self._peak = np.concatenate([self._peak, np.zeros(g)])
        self._usual = np.concatenate([self._usual, np.zeros(g)])
        self._blip_t = np.concatenate([self._blip_t, np.zeros(g)])

    def update(
        self, ids: IntArray, scores: FloatArray, timestamp: float, size: FloatArray | None = None
    ) -> tuple[IntArray, IntArray]:
        """Feed one calibrated score per id; return (ids opened now, ids closed now)."""
        if ids.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        self._ensure(int(ids.max()))
        persist, cool = self._needed(ids)
        hi = scores >= self.confirm
        elevated = scores >= self.onset
        before = self._run[ids]
        run = np.where(hi, before + 1, np.maximum(before - 1, 0))
        onset = self._onset[ids]
        active = self._active[ids]
        self._remember_blips(ids, before, run, hi, active, size, timestamp)
        onset = np.where(elevated & np.isnan(onset), timestamp, onset)
        onset = np.where(~elevated & (run == 0) & ~active, np.nan, onset)
        quiet = np.where(elevated, 0, self._quiet[ids] + 1)
        opened = ~active & (run >= persist)
        closed = active & (quiet >= cool)
        active = (active | opened) & ~closed
        run = np.where(closed, 0, run)
        self._run[ids] = run
        self._quiet[ids] = quiet
        self._onset[ids] = np.where(closed, np.nan, onset)
        self._active[ids] = active
        if closed.any():
            self._peak[ids[closed]] = 0.0
        return ids[opened], ids[closed]

    def _remember_blips(
        self,
        ids: IntArray,
        before: FloatArray,
        run: FloatArray,
        hi: BoolArray,
        active: BoolArray,
        size: FloatArray | None,
        now: float,
    ) -> None:
        """Track the size of each run; count the runs that ended without confirming
        (blips) and keep the largest one's size, both decaying with a half-life of
        :data:`BLIP_MEMORY` seconds (applied when a blip is added or read: blips are rare,
        and a scrape of many series does not pay for them)."""
        if size is not None:
            running = hi | active
            if running.any():
                sel = ids[running]
                self._peak[sel] = np.maximum(self._peak[sel], size[running])
        blip = (before > 0) & (run == 0) & ~active
        if blip.any():
            sel = ids[blip]
            keep = self._keep(sel, now)
            self._blips[sel] = self._blips[sel] * keep + 1.0
            self._usual[sel] = np.maximum(self._usual[sel] * keep, self._peak[sel])
            self._blip_t[sel] = now
            self._peak[sel] = 0.0

    def _keep(self, ids: IntArray, now: float) -> FloatArray:
        """How much of what ``ids`` remember of their blips is left at ``now``."""
        age = np.maximum(now - self._blip_t[ids], 0.0)
        return np.asarray(0.5 ** (age / BLIP_MEMORY), dtype=np.float64)

    def arrive(self, ids: IntArray, timestamp: float) -> IntArray:
        """Note a sample of each of ``ids`` at ``timestamp`` (learns their steps).

        Returns the ids that come back after a long gap: over ``relearn_after`` seconds and
        over :data:`GAP_STEPS` steps since their last sample. Call it before :meth:`update`
        (without it, the ``persist``/``cool`` ceilings apply).

        >>> d = EpisodeDecider(relearn_after=600.0)
        >>> ids = np.array([0])
        >>> [d.arrive(ids, t).tolist() for t in (0.0, 60.0, 120.0, 7320.0)]
        [[], [], [], [0]]
        >>> float(d.step_of(ids)[0])
        60.0
        """
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        self._ensure(int(ids.max()))
        dt = timestamp - self._last_t[ids]
        step = self._step[ids]
        fresh = np.isnan(step) & (dt > 0)
        usual = (dt > 0) & (dt <= GAP_STEPS * step)
        gap = (dt > GAP_STEPS * step) & (dt > self.relearn_after)
        self._step[ids] = np.where(fresh, dt, np.where(usual, step + 0.1 * (dt - step), step))
        self._last_t[ids] = timestamp
        self._seen[ids] += 1.0  # a gap re-learns the level, not whether the series is known
        return ids[gap]

    def on_probation(self, ids: IntArray) -> BoolArray:
        """Which of ``ids`` have had fewer than ``mature`` samples since they appeared:
        their anomalies are evidence, not yet a reason to page."""
        return np.asarray(self._seen[ids] < self.mature, dtype=np.bool_)

    def routine(self, ids: IntArray, now: float) -> BoolArray:
        """Which of ``ids`` are in a run like the ones they make routinely: at least
        :data:`ROUTINE_BLIPS` blips (runs at or above ``confirm`` that ended without
        confirming) in memory, and the current run's size (as passed to :meth:`update`)
        at most :data:`ROUTINE_SIZE` times the largest of them. A decider never given sizes
        calls nothing routine.

        >>> d = EpisodeDecider(persist=2, cool=2)
        >>> ids = np.array([0])
        >>> scores = [1.0, 0.0, 0.0] * 4 + [1.0, 1.0]   # four blips, then two in a row
        >>> for t, p in enumerate(scores):
        ...     _ = d.update(ids, np.array([p]), float(t), size=np.array([10.0 * p]))
        >>> d.routine(ids, now=14.0).tolist()
        [True]
        >>> d = EpisodeDecider(persist=2, cool=2)
        >>> for t, p in enumerate(scores):   # the same, but the last run is 5 times larger
        ...     size = 50.0 if t >= 12 else 10.0 * p
        ...     _ = d.update(ids, np.array([p]), float(t), size=np.array([size]))
        >>> d.routine(ids, now=14.0).tolist()
        [False]
        >>> d = EpisodeDecider(persist=2, cool=2)
        >>> for t, p in enumerate(scores):   # no sizes: nothing to compare with
        ...     _ = d.update(ids, np.array([p]), float(t))
        >>> d.routine(ids, now=14.0).tolist()
        [False]
        """
        keep = self._keep(ids, now)
        often = self._blips[ids] * keep >= ROUTINE_BLIPS
        largest = self._usual[ids] * keep  # 0 when no size was ever given: nothing is routine
        return np.asarray(often & (largest > 0.0) & (self._peak[ids] <= ROUTINE_SIZE * largest))

    def _needed(self, ids: IntArray) -> tuple[FloatArray, FloatArray]:
        """The persist and cool counts of each series, in its own time base."""
        step = self._step[ids]
        with np.errstate(invalid="ignore", divide="ignore"):
            persist = np.minimum(self.persist, 1.0 + np.ceil(self.persist_span / step))
            cool = np.minimum(self.cool, 1.0 + np.ceil(self.cool_span / step))
        persist = np.where(np.isfinite(persist), persist, self.persist)
        cool = np.where(np.isfinite(cool), cool, self.cool)
        return persist, cool

    def step_of(self, ids: IntArray) -> FloatArray:
        """Each series' learned sampling step in seconds (NaN until two samples)."""
        return np.asarray(self._step[ids], dtype=np.float64)

    def onset_of(self, ids: IntArray) -> FloatArray:
        return np.asarray(self._onset[ids], dtype=np.float64)

    def is_active(self, ids: IntArray) -> FloatArray:
        return np.asarray(self._active[ids], dtype=np.float64)

    def state_bytes(self) -> int:
        return int(
            self._run.nbytes
            + self._quiet.nbytes
            + self._onset.nbytes
            + self._active.nbytes
            + self._last_t.nbytes
            + self._step.nbytes
            + self._seen.nbytes
            + self._blips.nbytes
            + self._peak.nbytes
            + self._usual.nbytes
            + self._blip_t.nbytes
        )

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        return {
            "confirm": self.confirm,
            "onset": self.onset,
            "persist": self.persist,
            "cool": self.cool,
            "persist_span": self.persist_span,
            "cool_span": self.cool_span,
            "relearn_after": self.relearn_after,
            "mature": self.mature,
        }

    def state_dict(self) -> dict[str, Any]:
        """Per-series run, quiet and onset counters, open episodes, last time and step."""
        return {
            "run": self._run,
            "quiet": self._quiet,
            "onset": self._onset,
            "active": self._active,
            "last_t": self._last_t,
            "step": self._step,
            "seen": self._seen,
            "blips": self._blips,
            "peak": self._peak,
            "usual": self._usual,
            "blip_t": self._blip_t,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        keys = ("run", "quiet", "onset", "active", "last_t", "step", "seen")
        arrays = [np.asarray(state[k]) for k in keys]
        if len({a.shape for a in arrays}) != 1:
            raise ValueError("decider state: arrays of different lengths")
        run, quiet, onset, active, last_t, step, seen = arrays
        self._seen = seen.astype(np.float64)
        self._last_t = last_t.astype(np.float64)
        self._step = step.astype(np.float64)
        self._run = run.astype(np.float64)
        self._quiet = quiet.astype(np.float64)
        self._onset = onset.astype(np.float64)
        self._active = active.astype(bool)
        # snapshots from before the blip memory start with none
        for key in ("blips", "peak", "usual", "blip_t"):
            arr = np.asarray(state.get(key, np.zeros(len(run))), dtype=np.float64)
            setattr(self, f"_{key}", arr if arr.shape == run.shape else np.zeros(len(run)))
