"""Decision: calibrated scores → anomalous episodes, per series, vectorised.

An episode opens when a series' calibrated score stays at or above ``confirm`` for
``persist`` samples (a leaky count: a miss takes one back, so a noisy series is not
reset by a single dip), and its onset is the first sample of that run at or above
``onset``. It closes after ``cool`` samples in a row below ``onset``. While an episode
is open nothing is re-emitted: one anomaly per episode, not one per sample.

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

from foreshock.detectors.base import FloatArray, IntArray


class EpisodeDecider:
    """Per-series episode state machine over calibrated scores in [0, 1]."""

    def __init__(
        self, confirm: float = 0.9999, onset: float = 0.99, persist: int = 3, cool: int = 8
    ) -> None:
        self.confirm = confirm
        self.onset = onset
        self.persist = persist
        self.cool = cool
        self._run = np.zeros(0)
        self._quiet = np.zeros(0)
        self._onset = np.zeros(0)
        self._active = np.zeros(0, dtype=bool)

    def _ensure(self, max_id: int) -> None:
        n = len(self._run)
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        g = cap - n
        self._run = np.concatenate([self._run, np.zeros(g)])
        self._quiet = np.concatenate([self._quiet, np.zeros(g)])
        self._onset = np.concatenate([self._onset, np.full(g, np.nan)])
        self._active = np.concatenate([self._active, np.zeros(g, dtype=bool)])

    def update(
        self, ids: IntArray, scores: FloatArray, timestamp: float
    ) -> tuple[IntArray, IntArray]:
        """Feed one calibrated score per id; return (ids opened now, ids closed now)."""
        if ids.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        self._ensure(int(ids.max()))
        hi = scores >= self.confirm
        elevated = scores >= self.onset
        run = self._run[ids]
        run = np.where(hi, run + 1, np.maximum(run - 1, 0))
        onset = self._onset[ids]
        active = self._active[ids]
        onset = np.where(elevated & np.isnan(onset), timestamp, onset)
        onset = np.where(~elevated & (run == 0) & ~active, np.nan, onset)
        quiet = np.where(elevated, 0, self._quiet[ids] + 1)
        opened = ~active & (run >= self.persist)
        closed = active & (quiet >= self.cool)
        active = (active | opened) & ~closed
        run = np.where(closed, 0, run)
        self._run[ids] = run
        self._quiet[ids] = quiet
        self._onset[ids] = np.where(closed, np.nan, onset)
        self._active[ids] = active
        return ids[opened], ids[closed]

    def onset_of(self, ids: IntArray) -> FloatArray:
        return np.asarray(self._onset[ids], dtype=np.float64)

    def is_active(self, ids: IntArray) -> FloatArray:
        return np.asarray(self._active[ids], dtype=np.float64)

    def state_bytes(self) -> int:
        return int(self._run.nbytes + self._quiet.nbytes + self._onset.nbytes + self._active.nbytes)

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        return {
            "confirm": self.confirm,
            "onset": self.onset,
            "persist": self.persist,
            "cool": self.cool,
        }

    def state_dict(self) -> dict[str, Any]:
        """Per-series run, quiet and onset counters and the open episodes (arrays)."""
        return {
            "run": self._run,
            "quiet": self._quiet,
            "onset": self._onset,
            "active": self._active,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        arrays = [np.asarray(state[k]) for k in ("run", "quiet", "onset", "active")]
        if len({a.shape for a in arrays}) != 1:
            raise ValueError("decider state: arrays of different lengths")
        run, quiet, onset, active = arrays
        self._run = run.astype(np.float64)
        self._quiet = quiet.astype(np.float64)
        self._onset = onset.astype(np.float64)
        self._active = active.astype(bool)
