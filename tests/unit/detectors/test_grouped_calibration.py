"""Calibration per resource: the numbers of one TailCalibrator per group, in one call."""

from __future__ import annotations

import numpy as np

from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.grouped_calibration import GroupedCalibrator


def test_grouped_equals_one_tail_calibrator_per_group() -> None:
    rng = np.random.default_rng(3)
    grouped = GroupedCalibrator(min_count=300, halflife=5000.0, normal_ceiling=True)
    single = {
        g: TailCalibrator(min_count=300, halflife=5000.0, normal_ceiling=True) for g in range(5)
    }
    scale = np.array([0.01, 0.3, 1.0, 3.0, 50.0])
    for _ in range(60):
        groups = rng.integers(0, 5, 400)
        raw = rng.standard_t(3, 400) * scale[groups]
        probe = np.abs(rng.standard_t(2, 400)) * 5
        want = np.empty(400)
        for g, cal in single.items():
            mask = groups == g
            want[mask] = cal.transform(probe[mask])
        got = grouped.transform(groups, probe)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        grouped.learn(groups, raw)
        for g, cal in single.items():
            cal.learn(raw[groups == g])


def test_a_group_is_not_judged_by_another_groups_noise() -> None:
    cal = GroupedCalibrator(min_count=100)
    rng = np.random.default_rng(0)
    groups = np.repeat(np.array([0, 1]), 3000)
    cal.learn(groups, np.concatenate([rng.normal(0, 5, 3000), rng.normal(0, 0.5, 3000)]))
    before = cal.transform(np.array([1]), np.array([3.0]))
    cal.learn(np.zeros(20000, dtype=np.int64), rng.normal(0, 50, 20000))  # group 0 only
    assert cal.transform(np.array([1]), np.array([3.0])) == before
