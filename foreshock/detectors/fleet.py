"""Fleet tier: a vectorised, seasonality-aware robust baseline for every series.

Per series the state is a handful of floats held in numpy arrays (level, scale, a
24-bin hour-of-day profile, a count): one scrape of N series is one vectorised update.
The model is a Huber-clipped exponentially weighted level with a mean-absolute-deviation
scale (robust to the outliers it is meant to find), plus an additive hour-of-day profile
learned slowly once a series has been seen for a while. The raw score is the signed
robust z-score of a value against ``level + profile[hour]``.

Learning is damped while a series is far from its baseline (as River's ``AnomalyFilter``
does not learn from flagged points), so a slow ramp such as a filling disk is not
absorbed into the baseline before it is flagged.

With ``novelty=True`` (what ``foreshock score`` and ``foreshock eval nab`` ask for) the
detector also keeps the *envelope* of each series, the highest and lowest value it has
shown (two floats), and scores a value only when it breaks out of it: a value inside
everything the series has already done scores 0, whatever its z-score. The envelope
widens by at most ``growth`` times its width per value, so one huge spike does not hide
every later, smaller fault, while a real new level is inside within a few values. This
answers "when did the series start doing something new": a spike like the dozens seen
before, or every sample of a fault that holds, is not news. The pipeline's detect stage
keeps ``novelty=False``: its decider needs to know a fault is *still* there, not only
when it began (an episode must stay open while the fault holds).

Examples
--------
>>> import numpy as np
>>> det = RobustBaseline(warmup=5)
>>> ids = np.array([0, 1])
>>> for t in range(50):
...     _ = det.update(ids, np.array([10.0 + (t % 3) * 0.1, 5.0]), float(t))
>>> z = det.update(ids, np.array([10.1, 50.0]), 50.0)
>>> bool(abs(z[0]) < 3 and z[1] > 10)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from foreshock.detectors.base import FloatArray, IntArray

_HOURS = 24
_BIG = float(np.finfo(np.float64).max)  # what np.nan_to_num maps an infinity to


_PARAMS = (
    "level_halflife",
    "scale_halflife",
    "season_halflife",
    "season_after",
    "clip",
    "damp",
    "adapt",
    "warmup",
    "rewarm",
    "rel_floor",
    "abs_floor",
    "novelty",
    "growth",
)


class RobustBaseline:
    """Vectorised robust baseline over many series (the fleet-tier detector).

    Parameters
    ----------
    level_halflife
        Half-life, in samples, of the level (how fast the baseline follows drift).
    scale_halflife
        Half-life, in samples, of the scale (mean absolute deviation).
    season_halflife
        Half-life, in samples of the same hour bin, of the hour-of-day profile.
    season_after
        Samples a series must have before its hour-of-day profile is learned and used.
    clip
        Residuals beyond ``clip`` scales are clipped before learning (Huber).
    damp
        Learning-rate factor applied while a series is beyond ``clip`` scales.
    adapt
        Seconds after which a shift that has held is the new normal: the damping eases
        linearly from ``damp`` to none over this long a run of far-off values (a regime
        change, such as a deploy that doubles traffic, stops alarming).
    warmup
        Samples before a series is scored (its score is 0 until then).
    rewarm
        Samples a warm series waits after :meth:`forget` (a long gap) while its level
        re-learns as the mean of what came after the gap; its scale and hour-of-day
        profile, which a collector being down does not change, are kept.
    rel_floor, abs_floor
        The scale never drops below ``rel_floor * |level| + abs_floor`` so that flat
        series do not turn rounding noise into alarms.
    novelty
        Score only values beyond the series' envelope (everything it has shown); others
        score 0. The envelope is learned freely while a series is not scored (warm-up,
        re-warm after a gap), then grows by at most ``growth`` widths per value.
    growth
        With ``novelty``: how many of its widths the envelope may widen by at once.

    Examples
    --------
    >>> det = RobustBaseline(warmup=3)
    >>> ids = np.array([0])
    >>> [round(float(det.update(ids, np.array([v]), 60.0 * t)[0]), 1)
    ...  for t, v in enumerate([5.0, 5.1, 4.9, 5.0, 5.05, 9.0])]
    [0.0, 0.0, 0.0, 0.0, 0.8, 66.5]
    >>> twin = RobustBaseline(**det.params())
    >>> twin.load_state_dict(det.state_dict())
    >>> bool(twin.baseline(ids, 0.0)[0] == det.baseline(ids, 0.0)[0])
    True

    With ``novelty``, a spike no higher than one seen before (8.5 after 9.0) is not news:

    >>> values = [5.0, 9.0, 5.1, 4.9, 5.0, 5.05, 8.5, 5.0, 13.0]
    >>> [[round(float(d.update(ids, np.array([v]), 60.0 * t)[0]), 1)
    ...   for t, v in enumerate(values)]
    ...  for d in (RobustBaseline(warmup=5), RobustBaseline(warmup=5, novelty=True))]
    [[0.0, 0.0, 0.0, 0.0, 0.0, -0.4, 1.9, -0.6, 4.3], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.3]]
    """

    name = "fleet"
    zscore = True  # raw scores are robust z-scores
    stores_state = True

    def __init__(
        self,
        level_halflife: float = 40.0,
        scale_halflife: float = 400.0,
        season_halflife: float = 30.0,
        season_after: int = 2000,
        clip: float = 4.0,
        damp: float = 0.05,
        adapt: float = 7200.0,
        warmup: int = 30,
        rewarm: int = 3,
        rel_floor: float = 0.01,
        abs_floor: float = 1e-6,
        novelty: bool = False,
        growth: float = 1.0,
    ) -> None:
        self.level_halflife = level_halflife
        self.scale_halflife = scale_halflife
        self.season_halflife = season_halflife
        self.season_after = season_after
        self.clip = clip
        self.damp = damp
        self.adapt = adapt
        self.warmup = warmup
        self.rewarm = rewarm
        self.rel_floor = rel_floor
        self.abs_floor = abs_floor
        self.novelty = bool(novelty)
        self.growth = growth
        self._capacity = 0
        self._level: FloatArray = np.zeros(0)
        self._scale: FloatArray = np.zeros(0)
        self._season: FloatArray = np.zeros((0, _HOURS))
        self._count: FloatArray = np.zeros(0)
        self._wild_since: FloatArray = np.zeros(0)
        self._fresh: FloatArray = np.zeros(0)  # samples since a re-level (inf: none)
        self._hi: FloatArray = np.zeros(0)  # envelope (novelty): highest value shown
        self._lo: FloatArray = np.zeros(0)  # ... and lowest (NaN: none yet)

    # -- state ---------------------------------------------------------------------
    def _ensure(self, max_id: int) -> None:
        if max_id < self._capacity:
            return
        cap = max(16, self._capacity)
        while cap <= max_id:
            cap *= 2
        grow = cap - self._capacity
        self._level = np.concatenate([self._level, np.zeros(grow)])
        self._scale = np.concatenate([self._scale, np.zeros(grow)])
        self._season = np.concatenate([self._season, np.zeros((grow, _HOURS))])
        self._count = np.concatenate([self._count, np.zeros(grow)])
        self._wild_since = np.concatenate([self._wild_since, np.full(grow, np.nan)])
        self._fresh = np.concatenate([self._fresh, np.full(grow, np.inf)])
        self._hi = np.concatenate([self._hi, np.full(grow, np.nan)])
        self._lo = np.concatenate([self._lo, np.full(grow, np.nan)])
        self._capacity = cap

    @property
    def novelty_only(self) -> bool:
        """Whether every value inside what its series has shown scores 0 (``novelty``)."""
        return self.novelty

    def state_bytes(self) -> int:
        """Bytes of learned state held, all series together."""
        return int(
            self._level.nbytes
            + self._scale.nbytes
            + self._season.nbytes
            + self._count.nbytes
            + self._fresh.nbytes
            + (self._hi.nbytes + self._lo.nbytes if self.novelty else 0)
        )

    @property
    def n_series(self) -> int:
        return self._capacity

    def level_of(self, ids: IntArray) -> FloatArray:
        """Current level (without the hour-of-day profile) of series ``ids``."""
        self._ensure(int(ids.max(initial=0)))
        return np.asarray(self._level[ids], dtype=np.float64)

    def is_warm(self, ids: IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` have seen enough samples to be scored."""
        self._ensure(int(ids.max(initial=0)))
        warm = (self._count[ids] >= self.warmup) & (self._fresh[ids] >= self.rewarm)
        return np.asarray(warm, dtype=np.bool_)

    def forget(self, ids: IntArray) -> None:
        """Series ``ids`` come back after a long gap: their level re-learns.

        A warm series keeps its scale and hour-of-day profile (how much it varies does
        not change while a collector is down) and takes the mean of its first ``rewarm``
        samples after the gap as its level, scoring nothing meanwhile: data of another
        period is not an anomaly, and a fault minutes after the gap is still seen. A
        series that was not warm yet starts over.

        >>> det = RobustBaseline(warmup=5, rewarm=2)
        >>> ids = np.array([0])
        >>> for t in range(30):
        ...     _ = det.update(ids, np.array([1.0 + 0.01 * (t % 2)]), float(t))
        >>> det.forget(ids)
        >>> [round(float(det.update(ids, np.array([v]), 99.0 + i)[0]), 1)
        ...  for i, v in enumerate([3.0, 3.01, 3.0, 3.5])]
        [0.0, 0.0, -0.2, 16.5]
        """
        if ids.size == 0:
            return
        self._ensure(int(ids.max()))
        warm = self._count[ids] >= self.warmup
        cold = ids[~warm]
        self._count[cold] = 0.0
        self._scale[cold] = 0.0
        self._season[cold] = 0.0
        self._fresh[cold] = np.inf
        self._hi[cold] = np.nan  # a warm series keeps what it has shown
        self._lo[cold] = np.nan
        self._fresh[ids[warm]] = 0.0
        self._wild_since[ids] = np.nan

    def baseline(self, ids: IntArray, timestamp: float) -> FloatArray:
        """Expected value of series ``ids`` at ``timestamp``."""
        self._ensure(int(ids.max(initial=0)))
        hour = _hour(timestamp)
        seasoned = self._count[ids] >= self.season_after
        return np.asarray(
            self._level[ids] + np.where(seasoned, self._season[ids, hour], 0.0), dtype=np.float64
        )

    # -- the batch contract ----------------------------------------------------------
    def update(
        self,
        ids: IntArray,
        values: FloatArray,
        timestamp: float,
        floor: FloatArray | None = None,
    ) -> FloatArray:
        """Score then learn one value per series id; returns signed robust z-scores.

        ``floor`` optionally raises the scale floor per value (e.g. the Poisson noise of
        a counter rate, which a deviation-based scale underestimates for rare events).
        """
        if ids.size == 0:
            return np.zeros(0)
        finite = np.isfinite(values)
        if not finite.all():  # a value that is not a number scores 0 and is not learned
            out = np.zeros(ids.size)
            keep = floor[finite] if floor is not None else None
            out[finite] = self.update(ids[finite], values[finite], timestamp, keep)
            return out
        self._ensure(int(ids.max()))
        hour = _hour(timestamp)
        n = self._count[ids]
        level = self._level[ids]
        season = self._season[ids, hour]
        scale = self._scale[ids]
        fresh = self._fresh[ids]
        first = n == 0
        seasoned = n >= self.season_after
        # after a gap the first value sets the level (the profile kept)
        level = np.where(first, values, level)
        level = np.where(fresh == 0, values - np.where(seasoned, season, 0.0), level)
        pred = level + np.where(seasoned, season, 0.0)
        resid = values - pred
        lo = self.rel_floor * np.abs(level) + self.abs_floor
        if floor is not None:
            lo = np.maximum(lo, floor)
        eff_scale = np.maximum(scale, lo)
        z = resid / eff_scale
        scored = (n >= self.warmup) & (fresh >= self.rewarm)
        z = np.where(scored, z, 0.0)
        # the score; the baseline learns from the z-score either way
        score = self._breakouts(ids, values, z, scored) if self.novelty else z

        # learning rates: 1/(n+1) while young (a running mean), then exponential; the
        # level after a gap is a running mean again
        a_young = np.maximum(1.0 / (n + 1.0), 1.0 / (fresh + 1.0))
        a_level = np.maximum(a_young, 1.0 - 0.5 ** (1.0 / self.level_halflife))
        a_scale = np.maximum(1.0 / (n + 1.0), 1.0 - 0.5 ** (1.0 / self.scale_halflife))
        wild = np.abs(z) > self.clip
        since = self._wild_since[ids]
        since = np.where(wild, np.where(np.isnan(since), timestamp, since), np.nan)
        self._wild_since[ids] = since
        held = np.nan_to_num(timestamp - since, nan=0.0) / max(self.adapt, 1e-9)
        damp = self.damp + (1.0 - self.damp) * np.clip(held, 0.0, 1.0)
        a_level = np.where(wild, a_level * damp, a_level)
        a_scale = np.where(wild, a_scale * damp, a_scale)
        bound = self.clip * eff_scale
        young = n < self.warmup
        bound = np.where(young, np.inf, bound)
        clipped = np.clip(resid, -bound, bound)

        self._level[ids] = level + a_level * clipped
        dev = np.abs(clipped)
        self._scale[ids] = np.where(first, 0.0, scale + a_scale * (dev - scale))
        a_season = 1.0 - 0.5 ** (1.0 / self.season_halflife)
        learn_season = n >= self.season_after // 2
        s_upd = season + a_season * (values - level - season)
        self._season[ids, hour] = np.where(learn_season & ~wild, s_upd, season)
        self._count[ids] = n + 1.0
        self._fresh[ids] = fresh + 1.0
        return np.asarray(score, dtype=np.float64)

    def _breakouts(
        self, ids: IntArray, values: FloatArray, z: FloatArray, scored: npt.NDArray[np.bool_]
    ) -> FloatArray:
        """``z`` where ``values`` break out of their series' envelope, else 0; learn it."""
        hi, lo = self._hi[ids], self._lo[ids]
        out = (values > hi) | (values < lo)  # False against NaN: no envelope yet
        free = ~scored | np.isnan(hi)
        step = self.growth * np.maximum(hi - lo, 1e-9)
        grown_hi = np.maximum(hi, np.minimum(values, hi + step))
        grown_lo = np.minimum(lo, np.maximum(values, lo - step))
        self._hi[ids] = np.where(free, np.fmax(hi, values), grown_hi)
        self._lo[ids] = np.where(free, np.fmin(lo, values), grown_lo)
        return np.asarray(np.where(out, z, 0.0), dtype=np.float64)

    # -- one series, sample by sample ------------------------------------------------
    def replay(self, timestamps: FloatArray, values: FloatArray, series: int = 0) -> FloatArray:
        """Score then learn the samples of one series in order; returns their z-scores.

        The same as one :meth:`update` per sample (``update(np.array([series]),
        values[i:i + 1], timestamps[i])`` for each ``i``), bit for bit, state included,
        but in plain Python floats: a sample costs about a microsecond, not the tens of
        microseconds of numpy calls on arrays of length 1. For replaying one long series
        (``foreshock score``); a fleet scrape of many series is :meth:`update`'s job.

        A value that is not a finite number scores 0.0 and is not learned, as in
        :meth:`update`.

        Examples
        --------
        >>> ts = np.arange(60) * 60.0
        >>> vs = 10.0 + (np.arange(60) % 3) * 0.1
        >>> vs[50] = 30.0
        >>> a, b = RobustBaseline(warmup=5), RobustBaseline(warmup=5)
        >>> z = a.replay(ts, vs)
        >>> ids = np.zeros(1, dtype=np.int64)
        >>> per_sample = [float(b.update(ids, vs[i : i + 1], ts[i])[0]) for i in range(60)]
        >>> z.tolist() == per_sample, int(np.argmax(z))
        (True, 50)
        >>> all(np.array_equal(x, y, equal_nan=True)
        ...     for x, y in zip(a.state_dict().values(), b.state_dict().values()))
        True
        """
        if len(timestamps) != len(values):
            raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
        self._ensure(series)
        # the formulas of ``update``, operation for operation in the same order, with
        # numpy's semantics where Python's differ (NaN in maximum/clip, x / 0, nan_to_num)
        level = float(self._level[series])
        scale = float(self._scale[series])
        count = float(self._count[series])
        fresh = float(self._fresh[series])
        since = float(self._wild_since[series])
        season = [float(s) for s in self._season[series]]
        env_hi, env_lo = float(self._hi[series]), float(self._lo[series])
        novelty, growth = self.novelty, self.growth
        warmup, rewarm = self.warmup, self.rewarm
        season_after, half_after = self.season_after, self.season_after // 2
        clip, rel_floor, abs_floor = self.clip, self.rel_floor, self.abs_floor
        k_level = 1.0 - 0.5 ** (1.0 / self.level_halflife)
        k_scale = 1.0 - 0.5 ** (1.0 / self.scale_halflife)
        a_season = 1.0 - 0.5 ** (1.0 / self.season_halflife)
        adapt = max(self.adapt, 1e-9)
        damp_lo, damp_span = self.damp, 1.0 - self.damp
        inf, nan, big, invalid = math.inf, math.nan, _BIG, math.inf - math.inf
        isfinite = math.isfinite
        out = [0.0] * len(values)
        for j, (t, v) in enumerate(zip(timestamps.tolist(), values.tolist(), strict=True)):
            if not isfinite(v):
                continue
            hour = int(t // 3600) % _HOURS if isfinite(t) else 0
            first = count == 0
            if first:
                level = v
            s = season[hour]
            if fresh == 0:
                level = v - (s if count >= season_after else 0.0)
            pred = level + (s if count >= season_after else 0.0)
            resid = v - pred
            lo = rel_floor * abs(level) + abs_floor
            eff = scale if (scale >= lo or scale != scale) else lo  # np.maximum
            scored = count >= warmup and fresh >= rewarm
            if scored:
                if eff != 0.0:
                    z = resid / eff
                elif resid != resid:
                    z = resid
                elif resid == 0.0:
                    z = invalid  # 0 / 0: the hardware's NaN, as numpy's
                else:
                    z = math.copysign(inf, resid) * math.copysign(1.0, eff)
            else:
                z = 0.0
            score = z
            if novelty:  # _breakouts, in floats
                if not (v > env_hi or v < env_lo):
                    score = 0.0
                if not scored or env_hi != env_hi:  # np.fmax / np.fmin
                    env_hi = v if env_hi != env_hi or v > env_hi else env_hi
                    env_lo = v if env_lo != env_lo or v < env_lo else env_lo
                else:
                    width = env_hi - env_lo
                    step = growth * (width if width >= 1e-9 else 1e-9)
                    top, bottom = env_hi + step, env_lo - step
                    top = v if v <= top else top
                    bottom = v if v >= bottom else bottom
                    env_hi = env_hi if env_hi >= top else top
                    env_lo = env_lo if env_lo <= bottom else bottom
            a_young = 1.0 / (count + 1.0)
            a_scale = a_young if a_young >= k_scale else k_scale  # np.maximum (NaN: k's)
            a_fresh = 1.0 / (fresh + 1.0)
            a_young = a_young if a_young >= a_fresh else a_fresh
            a_level = a_young if a_young >= k_level else k_level
            wild = abs(z) > clip
            if wild:
                if since != since:
                    since = t
                held = t - since  # np.nan_to_num
                if held != held:
                    held = 0.0
                elif held == inf:
                    held = big
                elif held == -inf:
                    held = -big
                held = held / adapt
                if held == held:  # np.clip(held, 0.0, 1.0)
                    held = held if held > 0.0 else 0.0
                    held = held if held < 1.0 else 1.0
                damp = damp_lo + damp_span * held
                a_level = a_level * damp
                a_scale = a_scale * damp
            else:
                since = nan
            bound = inf if count < warmup else clip * eff
            clipped = resid  # np.clip(resid, -bound, bound)
            if clipped == clipped:
                floor = -bound
                clipped = clipped if clipped > floor else floor
                if clipped == clipped:
                    clipped = clipped if clipped < bound else bound
            new_level = level + a_level * clipped
            dev = abs(clipped)
            scale = 0.0 if first else scale + a_scale * (dev - scale)
            if count >= half_after and not wild:
                season[hour] = s + a_season * (v - level - s)
            level = new_level
            count = count + 1.0
            fresh = fresh + 1.0
            out[j] = score
        self._level[series] = level
        self._scale[series] = scale
        self._count[series] = count
        self._fresh[series] = fresh
        self._wild_since[series] = since
        self._season[series] = season
        self._hi[series] = env_hi
        self._lo[series] = env_lo
        return np.array(out, dtype=np.float64)

    # -- state ------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        return {name: getattr(self, name) for name in _PARAMS}

    def state_dict(self) -> dict[str, Any]:
        """Learned state: eight arrays indexed by series id."""
        return {
            "level": self._level,
            "scale": self._scale,
            "season": self._season,
            "count": self._count,
            "wild_since": self._wild_since,
            "fresh": self._fresh,
            "hi": self._hi,
            "lo": self._lo,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the learned state by one from :meth:`state_dict`."""
        level = np.asarray(state["level"], dtype=np.float64)
        n = len(level)
        arrays = {
            "scale": np.asarray(state["scale"], dtype=np.float64),
            "season": np.asarray(state["season"], dtype=np.float64).reshape(-1, _HOURS),
            "count": np.asarray(state["count"], dtype=np.float64),
            "wild_since": np.asarray(state["wild_since"], dtype=np.float64),
            "fresh": np.asarray(state.get("fresh", np.full(n, np.inf)), dtype=np.float64),
            "hi": np.asarray(state.get("hi", np.full(n, np.nan)), dtype=np.float64),
            "lo": np.asarray(state.get("lo", np.full(n, np.nan)), dtype=np.float64),
        }
        if any(len(a) != n for a in arrays.values()):
            raise ValueError("fleet detector state: arrays of different lengths")
        self._level = level.copy()
        self._scale = arrays["scale"].copy()
        self._season = arrays["season"].copy()
        self._count = arrays["count"].copy()
        self._wild_since = arrays["wild_since"].copy()
        self._fresh = arrays["fresh"].copy()
        self._hi = arrays["hi"].copy()
        self._lo = arrays["lo"].copy()
        self._capacity = n


def _hour(timestamp: float) -> int:
    """Hour-of-day bin of an epoch (bin 0 for a timestamp that is not finite)."""
    return int(timestamp // 3600) % _HOURS if math.isfinite(timestamp) else 0
