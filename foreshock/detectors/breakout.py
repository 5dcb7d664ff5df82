"""The deep tier: breakouts beyond everything a series has shown, raw and de-seasonalised.

Most anomalies that matter in operations take a series where it has never been: a latency
above every latency seen, a queue below its floor, a daily curve that does at 14:00 what
it never did at 14:00. :class:`BreakoutDetector` scores exactly that, and nothing else:

- **Envelope.** Per series, the highest and lowest value seen (after ``warmup`` values).
  A value inside scores 0; a value outside scores its excess as a share of the envelope's
  width, signed by side (``+0.5``: half the range above the highest value so far). A
  value widens the envelope by at most ``growth`` times its width at once, so one huge
  spike does not blind the series to every later, smaller one, while a real new level
  is absorbed within a few samples.
- **Seasonal envelope.** When the sampling step puts a day within ``max_period``
  samples, each value is also compared with the median of the same time of day on the
  ``days`` previous days; the residuals get their own envelope. It takes part only while
  the daily profile explains the series: while the residuals' standard deviation is
  below ``seasonal_ratio`` times the values' (both over all history). A flat middle of
  a day, a missing daily peak or a low where a high belongs then breaks out of the
  residual envelope although every value lies inside the raw one.
- **Repeats cost nothing.** A value inside the envelope scores 0, so a fault that holds
  a series at its new extreme scores once, when it gets there, not at every sample
  (NAB counts every sample over the threshold as a detection; so does a pager).

Scores are raw (the calibrator maps them to [0, 1] on the series' own history, as for any
detector). Cost: a few dozen floats per series, plus ``days`` days of values for a
seasonal series (5-minute samples: 864 floats, 7 KB): a tier for the series that matter
most (opt-in: ``detector: deep``), not for a fleet. ``foreshock bench detect`` reports
its time per sample.

On NAB's dev files (`foreshock eval nab --data ../shared/data/nab-dev --detector deep`)
see docs/benchmarks.md; the raw envelope alone, the seasonal one and the growth limit
were each measured there, one at a time.

Examples
--------
>>> import numpy as np
>>> det = BreakoutDetector(warmup=5)
>>> ids = np.array([0])
>>> scores = [float(det.update(ids, np.array([v]), 60.0 * i)[0])
...           for i, v in enumerate([10, 12, 11, 13, 12, 11, 12, 17, 12, 9])]
>>> [round(s, 2) for s in scores]
[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.33, 0.0, -0.17]
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foreshock.detectors.base import BoolArray, FloatArray, IntArray

__all__ = ["BreakoutDetector"]

_DAY = 86_400.0
_STEPS_FOR_PERIOD = 8  # steps seen before the sampling step (and the day) is known


@dataclass
class _Envelope:
    """Highest and lowest value seen, widened by at most ``growth`` widths at once."""

    hi: float = math.nan
    lo: float = math.nan

    def excess(self, x: float) -> float:
        """Signed excess of ``x`` beyond the envelope, as a share of its width."""
        if math.isnan(self.hi):
            return 0.0
        width = self.width
        if x > self.hi:
            return (x - self.hi) / width
        if x < self.lo:
            return (x - self.lo) / width
        return 0.0

    @property
    def width(self) -> float:
        """The envelope's width; a flat series' is tiny, not 0, so it can still grow."""
        return max(self.hi - self.lo, 1e-9)

    def learn(self, x: float, growth: float) -> None:
        if math.isnan(self.hi):
            self.hi = self.lo = x
            return
        step = growth * self.width
        self.hi = max(self.hi, min(x, self.hi + step))
        self.lo = min(self.lo, max(x, self.lo - step))

    def learn_freely(self, x: float) -> None:
        """Warm-up: the first values set the envelope whatever their spread."""
        self.hi = x if math.isnan(self.hi) else max(self.hi, x)
        self.lo = x if math.isnan(self.lo) else min(self.lo, x)


@dataclass
class _Moments:
    """Count, mean and sum of squared deviations (Welford)."""

    n: float = 0.0
    mean: float = 0.0
    m2: float = 0.0

    def learn(self, x: float) -> None:
        self.n += 1.0
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n > 1 else 0.0


@dataclass
class _Series:
    """Everything learned about one series."""

    count: int = 0
    first_t: float = math.nan
    last_t: float = math.nan
    steps: list[float] = field(default_factory=list)
    period: int = 0  # samples per day; 0: unknown or too long to keep
    step: float = 0.0
    raw: _Envelope = field(default_factory=_Envelope)
    resid: _Envelope = field(default_factory=_Envelope)
    values: _Moments = field(default_factory=_Moments)
    resids: _Moments = field(default_factory=_Moments)
    resid_count: int = 0
    ring: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slots: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class BreakoutDetector:
    """Scores a value by how far it breaks out of everything its series has shown.

    Parameters
    ----------
    warmup
        Values learned before a series is scored.
    growth
        Most a value widens the envelope at once, in envelope widths.
    days
        Previous days whose same time of day make the seasonal expectation.
    seasonal_ratio
        The seasonal envelope takes part while the residuals' standard deviation is below
        this share of the values'.
    max_period
        Most samples per day for which days of values are kept (1-minute samples: 1440;
        finer sampling: no seasonal envelope).

    Examples
    --------
    >>> det = BreakoutDetector()
    >>> det.params()["growth"], det.name, det.zscore, det.stores_state
    (1.0, 'deep', False, True)
    """

    name = "deep"
    zscore = False
    stores_state = True
    novelty_only = True  # a value inside what the series has shown scores 0, by design

    def __init__(
        self,
        warmup: int = 20,
        growth: float = 1.0,
        days: int = 3,
        seasonal_ratio: float = 0.6,
        max_period: int = 1440,
    ) -> None:
        if warmup < 1 or days < 1 or max_period < 1:
            raise ValueError("warmup, days and max_period must be at least 1")
        if growth <= 0 or not 0 < seasonal_ratio <= 1:
            raise ValueError("growth must be > 0 and seasonal_ratio in (0, 1]")
        self.warmup = warmup
        self.growth = growth
        self.days = days
        self.seasonal_ratio = seasonal_ratio
        self.max_period = max_period
        self._series: dict[int, _Series] = {}

    # ------------------------------------------------------------------ contract
    def update(
        self, ids: IntArray, values: FloatArray, timestamp: float, floor: FloatArray | None = None
    ) -> FloatArray:
        """Score each value against what its series has shown, then learn it."""
        out = np.zeros(len(ids))
        t = float(timestamp)
        for k, (sid, v) in enumerate(zip(ids.tolist(), values.tolist(), strict=True)):
            if not (math.isfinite(v) and math.isfinite(t)):
                continue
            s = self._series.get(sid)
            if s is None:
                s = self._series[sid] = _Series()
            out[k] = self._score_and_learn(s, float(v), t)
        return out

    def is_warm(self, ids: IntArray) -> BoolArray:
        """Whether each series has learned ``warmup`` values."""
        return np.array(
            [
                (s := self._series.get(i)) is not None and s.count >= self.warmup
                for i in ids.tolist()
            ],
            dtype=bool,
        )

    def forget(self, ids: IntArray) -> None:
        """Drop series ``ids``: they warm up again."""
        for i in ids.tolist():
            self._series.pop(i, None)

    def baseline(self, ids: IntArray, timestamp: float) -> FloatArray:
        """The same time of day on previous days (seasonal series), else the mean."""
        out = np.full(len(ids), math.nan)
        for k, i in enumerate(ids.tolist()):
            s = self._series.get(i)
            if s is None or s.count == 0:
                continue
            expected = self._seasonal_expectation(s, float(timestamp))
            out[k] = expected if self._seasonal(s) and math.isfinite(expected) else s.values.mean
        return out

    def level_of(self, ids: IntArray) -> FloatArray:
        """The mean of each series' values so far."""
        return np.array(
            [s.values.mean if (s := self._series.get(i)) else math.nan for i in ids.tolist()]
        )

    def state_bytes(self) -> int:
        """Approximate bytes held: the rings plus a fixed part per series."""
        return sum(
            s.ring.nbytes + s.slots.nbytes + sys.getsizeof(s) + 400 for s in self._series.values()
        )

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        return {
            "warmup": self.warmup,
            "growth": self.growth,
            "days": self.days,
            "seasonal_ratio": self.seasonal_ratio,
            "max_period": self.max_period,
        }

    def state_dict(self) -> dict[str, Any]:
        """Learned state: one dict of numbers and arrays per series id."""
        return {"series": {str(i): _dump(s) for i, s in self._series.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the learned state by one from :meth:`state_dict`."""
        series = state.get("series")
        if not isinstance(series, dict):
            raise ValueError("deep detector state: expected {'series': {id: state}}")
        self._series = {int(i): _load(s) for i, s in series.items()}

    # ------------------------------------------------------------------ internals
    def _score_and_learn(self, s: _Series, v: float, t: float) -> float:
        self._learn_step(s, t)
        expected = self._seasonal_expectation(s, t)
        resid = v - expected if math.isfinite(expected) else math.nan
        score = 0.0
        if s.count >= self.warmup:
            score = s.raw.excess(v)
            if math.isfinite(resid) and s.resid_count >= s.period and self._seasonal(s):
                r = s.resid.excess(resid)
                if abs(r) > abs(score):
                    score = r
        # learn
        if s.count < self.warmup:
            s.raw.learn_freely(v)
        else:
            s.raw.learn(v, self.growth)
        s.values.learn(v)
        if math.isfinite(resid):
            if s.resid_count < s.period:
                s.resid.learn_freely(resid)
            else:
                s.resid.learn(resid, self.growth)
            s.resids.learn(resid)
            s.resid_count += 1
        self._remember(s, v, t)
        s.count += 1
        return score

    def _seasonal(self, s: _Series) -> bool:
        return s.resids.n > 1 and s.resids.std < self.seasonal_ratio * s.values.std

    def _learn_step(self, s: _Series, t: float) -> None:
        """Learn the sampling step from the first steps; then the samples per day."""
        if math.isfinite(s.last_t) and t > s.last_t and s.period == 0 and s.step == 0.0:
            s.steps.append(t - s.last_t)
            if len(s.steps) >= _STEPS_FOR_PERIOD:
                s.step = float(np.median(s.steps))
                period = round(_DAY / s.step)
                if 2 <= period <= self.max_period:
                    s.period = period
                    size = period * self.days
                    s.ring = np.full(size, math.nan)
                    s.slots = np.full(size, -1, dtype=np.int64)
                s.steps = []
        if not math.isfinite(s.first_t):
            s.first_t = t
        s.last_t = max(t, s.last_t) if math.isfinite(s.last_t) else t

    def _slot(self, s: _Series, t: float) -> int:
        return round((t - s.first_t) / s.step)

    def _seasonal_expectation(self, s: _Series, t: float) -> float:
        """Median of the same time of day on the previous ``days`` days (NaN: none kept)."""
        if s.period == 0:
            return math.nan
        slot = self._slot(s, t)
        size = len(s.ring)
        seen = []
        for j in range(1, self.days + 1):
            want = slot - j * s.period
            k = want % size
            if want >= 0 and s.slots[k] == want:
                seen.append(float(s.ring[k]))
        if len(seen) < self.days:
            return math.nan
        return float(np.median(seen))

    def _remember(self, s: _Series, v: float, t: float) -> None:
        if s.period == 0:
            return
        slot = self._slot(s, t)
        k = slot % len(s.ring)
        s.ring[k] = v
        s.slots[k] = slot


def _dump(s: _Series) -> dict[str, Any]:
    return {
        "scalars": np.array(
            [
                s.count,
                s.first_t,
                s.last_t,
                s.period,
                s.step,
                s.raw.hi,
                s.raw.lo,
                s.resid.hi,
                s.resid.lo,
                s.values.n,
                s.values.mean,
                s.values.m2,
                s.resids.n,
                s.resids.mean,
                s.resids.m2,
                s.resid_count,
            ],
            dtype=np.float64,
        ),
        "steps": np.array(s.steps, dtype=np.float64),
        "ring": s.ring.astype(np.float64),
        "slots": s.slots.astype(np.int64),
    }


def _load(d: Any) -> _Series:
    if not isinstance(d, dict) or set(d) != {"scalars", "steps", "ring", "slots"}:
        raise ValueError("deep detector state: a series must hold scalars, steps, ring, slots")
    x = np.asarray(d["scalars"], dtype=np.float64)
    if x.shape != (16,):
        raise ValueError("deep detector state: 16 scalars per series")
    ring = np.asarray(d["ring"], dtype=np.float64).copy()
    slots = np.asarray(d["slots"], dtype=np.int64).copy()
    if ring.shape != slots.shape:
        raise ValueError("deep detector state: ring and slots of different lengths")
    return _Series(
        count=int(x[0]),
        first_t=float(x[1]),
        last_t=float(x[2]),
        steps=[float(v) for v in np.asarray(d["steps"], dtype=np.float64)],
        period=int(x[3]),
        step=float(x[4]),
        raw=_Envelope(float(x[5]), float(x[6])),
        resid=_Envelope(float(x[7]), float(x[8])),
        values=_Moments(float(x[9]), float(x[10]), float(x[11])),
        resids=_Moments(float(x[12]), float(x[13]), float(x[14])),
        resid_count=int(x[15]),
        ring=ring,
        slots=slots,
    )
