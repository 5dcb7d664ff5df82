"""One-series detectors lifted to the batch contract: one model per series.

:class:`PerSeries` holds a :class:`~foreshock.detectors.base.Detector` (``learn_one`` /
``score_one``, as in River) for every series id, built on the series' first finite value,
and answers the :class:`~foreshock.detectors.base.BatchDetector` calls the detect stage
makes: score each value prequentially (score, then learn), turn the model's raw score into
a robust z-score *of that score* on the series' own history of scores (models score on
scales of their own, HalfSpaceTrees in [0, 1] around a typical value that differs per
series, LODA in densities: standardised, every model enters calibration, thresholds and
the noise rules of the fleet on one scale), sign it by the value's side of an
exponentially weighted level (so the stage can keep only the bad direction), and report
that level as the baseline.

It costs what its models cost (River's HalfSpaceTrees is ~170 KB and ~50 µs a sample per
series): meant for the few series that deserve a richer model, not for a whole fleet.

Its models are River objects, which are not plain data, so their state is not stored
(``stores_state = False``): a restored detector keeps its configuration and relearns
from the stream (its series warm up again).

Examples
--------
>>> import numpy as np
>>> from foreshock.detectors.river_tier import LODADetector
>>> det = PerSeries(LODADetector, warmup=20, score_warmup=20)
>>> ids = np.array([0, 1])
>>> for t in range(300):
...     _ = det.update(ids, np.array([10.0 + t % 3, 50.0 - t % 4]), 60.0 * t)
>>> up, down = det.update(ids, np.array([90.0, 1.0]), 18_000.0)
>>> bool(up > 0 > down)
True
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from foreshock.detectors.base import BoolArray, Detector, FloatArray, IntArray

__all__ = ["PerSeries"]


class PerSeries:
    """A batch detector made of one one-series model per series id.

    Parameters
    ----------
    factory
        Builds a new model (any :class:`~foreshock.detectors.base.Detector`); called with
        ``**model_params``.
    warmup
        Samples before a model's raw scores mean anything (HalfSpaceTrees: one window).
    score_warmup
        Raw scores learned after ``warmup`` before a series is scored (the scale of its
        scores).
    level_halflife
        Half-life, in samples, of the level used as the baseline and for the sign, and of
        the typical raw score.
    score_halflife
        Half-life, in samples, of the raw scores' mean absolute deviation.
    clip
        Raw-score deviations beyond ``clip`` scales are clipped before they are learned.
    **model_params
        Hyperparameters of each model.
    """

    name = "per-series"
    zscore = True  # the models' scores, standardised per series
    stores_state = False  # River models are not plain data: relearned after a restore

    def __init__(
        self,
        factory: Callable[..., Detector],
        warmup: int = 30,
        score_warmup: int = 30,
        level_halflife: float = 40.0,
        score_halflife: float = 400.0,
        clip: float = 4.0,
        **model_params: Any,
    ) -> None:
        self.factory = factory
        self.warmup = warmup
        self.score_warmup = score_warmup
        self.level_halflife = level_halflife
        self.score_halflife = score_halflife
        self.clip = clip
        self.model_params = dict(model_params)
        self._models: dict[int, Detector] = {}
        self._level = np.zeros(0)
        self._count = np.zeros(0)
        self._smean = np.zeros(0)  # typical raw score
        self._sdev = np.zeros(0)  # mean absolute deviation of raw scores

    def _ensure(self, max_id: int) -> None:
        n = len(self._level)
        if max_id < n:
            return
        cap = max(16, n)
        while cap <= max_id:
            cap *= 2
        grow = np.zeros(cap - n)
        self._level = np.concatenate([self._level, grow])
        self._count = np.concatenate([self._count, grow])
        self._smean = np.concatenate([self._smean, grow])
        self._sdev = np.concatenate([self._sdev, grow])

    def update(
        self,
        ids: IntArray,
        values: FloatArray,
        timestamp: float,
        floor: FloatArray | None = None,
    ) -> FloatArray:
        """Score each value with its series' model, then learn it (see the module doc)."""
        out = np.zeros(ids.size)
        if ids.size == 0:
            return out
        self._ensure(int(ids.max()))
        alpha = 1.0 - 0.5 ** (1.0 / self.level_halflife)
        beta = 1.0 - 0.5 ** (1.0 / self.score_halflife)
        for k, (sid, value) in enumerate(zip(ids.tolist(), values.tolist(), strict=True)):
            if not math.isfinite(value):
                continue
            model = self._models.get(sid)
            if model is None:
                model = self._models[sid] = self.factory(**self.model_params)
            x = {"value": value, "t": timestamp}
            raw = float(model.score_one(x))
            model.learn_one(x)
            n = self._count[sid]
            level = self._level[sid] if n else value
            scored = n - self.warmup  # raw scores learned so far
            if scored >= 0 and math.isfinite(raw):
                mean, dev = self._smean[sid], self._sdev[sid]
                scale = max(dev, 0.01 * abs(mean) + 1e-9)
                z = (raw - mean) / scale
                if scored >= self.score_warmup and z > 0:
                    out[k] = math.copysign(z, value - level)
                resid = (
                    raw - mean
                    if scored < self.score_warmup
                    else max(-self.clip * scale, min(self.clip * scale, raw - mean))
                )
                a_mean = max(alpha, 1.0 / (scored + 1.0))
                a_dev = max(beta, 1.0 / (scored + 1.0))
                self._smean[sid] = mean + a_mean * resid
                self._sdev[sid] = dev + a_dev * (abs(resid) - dev) if scored else 0.0
            self._level[sid] = level + max(alpha, 1.0 / (n + 1.0)) * (value - level)
            self._count[sid] = n + 1.0
        return out

    def forget(self, ids: IntArray) -> None:
        """Series ``ids`` start over: their models and levels are dropped."""
        if ids.size == 0:
            return
        self._ensure(int(ids.max()))
        for sid in ids.tolist():
            self._models.pop(sid, None)
        self._count[ids] = 0.0
        self._smean[ids] = 0.0
        self._sdev[ids] = 0.0

    def is_warm(self, ids: IntArray) -> BoolArray:
        """Series that have seen ``warmup + score_warmup`` samples."""
        self._ensure(int(ids.max(initial=0)))
        warm = self._count[ids] >= self.warmup + self.score_warmup
        return np.asarray(warm, dtype=np.bool_)

    def baseline(self, ids: IntArray, timestamp: float) -> FloatArray:
        """The exponentially weighted level of each series."""
        return self.level_of(ids)

    def level_of(self, ids: IntArray) -> FloatArray:
        """The exponentially weighted level of each series."""
        self._ensure(int(ids.max(initial=0)))
        return np.asarray(self._level[ids], dtype=np.float64)

    def state_bytes(self) -> int:
        """Approximate bytes held by the models and arrays (a walk of the object graph)."""
        arrays = (self._level, self._count, self._smean, self._sdev)
        return sum(a.nbytes for a in arrays) + sum(_deep_size(m) for m in self._models.values())

    def params(self) -> dict[str, Any]:
        """``warmup``, ``level_halflife`` and the models' hyperparameters."""
        return {
            "warmup": self.warmup,
            "score_warmup": self.score_warmup,
            "level_halflife": self.level_halflife,
            "score_halflife": self.score_halflife,
            "clip": self.clip,
            **self.model_params,
        }

    def state_dict(self) -> dict[str, Any]:
        """Nothing learned is stored: see ``stores_state``."""
        return {"series": len(self._models)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Forget everything: every series relearns from the stream."""
        self._models.clear()
        self._level, self._count = np.zeros(0), np.zeros(0)
        self._smean, self._sdev = np.zeros(0), np.zeros(0)


def _deep_size(obj: Any, limit: int = 200_000) -> int:
    """``sys.getsizeof`` summed over an object graph (at most ``limit`` objects)."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    while stack and len(seen) < limit:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack += list(o.keys()) + list(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack += list(o)
        elif hasattr(o, "__dict__"):
            stack.append(vars(o))
        for slot in getattr(type(o), "__slots__", ()):
            if isinstance(slot, str) and hasattr(o, slot):
                stack.append(getattr(o, slot))
    return total
