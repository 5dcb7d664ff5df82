"""The deep tier's breakout detector: what it scores and what it leaves alone."""

from __future__ import annotations

import math

import numpy as np

from foreshock.detectors.breakout import BreakoutDetector

STEP = 300.0  # 5-minute samples: 288 a day
DAY = 288
ID = np.array([0])


def _scores(values: list[float] | np.ndarray, det: BreakoutDetector | None = None) -> np.ndarray:
    det = det or BreakoutDetector()
    return np.array([det.update(ID, np.array([v]), STEP * i)[0] for i, v in enumerate(values)])


def _daily(days: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i = np.arange(days * DAY)
    return 50.0 + 20.0 * np.sin(2 * np.pi * i / DAY) + rng.normal(0.0, 0.5, len(i))


def test_a_new_extreme_scores_by_its_excess_and_its_repeats_fade_to_nothing() -> None:
    rng = np.random.default_rng(1)
    values = list(10.0 + rng.uniform(-1.0, 1.0, 200))
    values += [16.0, 10.0] * 4 + [3.0]
    s = _scores(values)
    assert np.count_nonzero(s[20:200]) < 10 and np.abs(s[:200]).max() < 0.2  # rare, small
    spikes = s[200:208:2]
    assert spikes[0] > 1.5  # 6 above 10 with a range of ~2: about 2.5 widths
    assert spikes[0] > spikes[1] > spikes[2] and spikes[3] == 0.0  # a repeat is not news
    assert s[-1] < -0.5  # a new low, signed down


def test_one_huge_spike_does_not_blind_the_series_to_later_big_ones() -> None:
    rng = np.random.default_rng(2)
    base = list(100.0 + rng.uniform(-5.0, 5.0, 300))
    s = _scores([*base, 10_000.0, *base[:50], 150.0])
    # the huge spike widened the envelope by at most its width (to ~115): 150 still breaks out
    assert s[300] > 100 and s[-1] > 1.0


def test_a_flat_stretch_where_the_day_should_peak_breaks_the_seasonal_envelope() -> None:
    values = _daily(6)
    day5 = 5 * DAY
    peak = slice(day5 + DAY // 4 - 24, day5 + DAY // 4 + 24)  # 4 hours around the peak
    values[peak] = 50.0  # the mean: inside every value ever seen
    s = _scores(values)
    assert np.all(s[peak] <= 0.0)  # below what the day does at that hour, not above anything
    assert s[peak].min() < -1.0
    assert np.abs(s[4 * DAY : day5]).max() < 0.5  # the normal days around it stay quiet


def test_without_a_daily_profile_the_seasonal_envelope_takes_no_part() -> None:
    rng = np.random.default_rng(3)
    values = 50.0 + rng.normal(0.0, 5.0, 6 * DAY)  # no seasonality: residuals are wider
    det = BreakoutDetector()
    s = _scores(values, det)
    # only raw breakouts: every scored value lies beyond the values before it
    scored = np.flatnonzero(s)
    for k in scored[scored > 30]:
        assert values[k] > values[:k].max() or values[k] < values[:k].min()


def test_gaps_and_bad_values_neither_fail_nor_count() -> None:
    det = BreakoutDetector()
    values = _daily(4)
    for i, v in enumerate(values):
        t = STEP * i + (2 * 86_400.0 if i > 2 * DAY else 0.0)  # two days missing
        assert math.isfinite(det.update(ID, np.array([v]), t)[0])
    assert det.update(ID, np.array([math.nan]), STEP * 5 * DAY)[0] == 0.0
    assert det.is_warm(ID).all()
    assert det.baseline(ID, STEP * 5 * DAY).shape == (1,)
