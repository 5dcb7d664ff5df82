"""Behaviour of the River tier detectors (contract checks live in tests/conformance)."""

from __future__ import annotations

import copy
import math
import random

import pytest
from river import anomaly, base, preprocessing

from foreshock.detectors.river_tier import HalfSpaceTreesDetector, LODADetector


def _noise(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{"value": rng.gauss(50.0, 2.0), "t": 15.0 * i} for i in range(n)]


def test_hst_hyperparameters_are_stored_unchanged() -> None:
    default = HalfSpaceTreesDetector()
    assert (default.n_trees, default.height, default.window_size, default.seed) == (
        10,
        8,
        250,
        42,
    )
    custom = HalfSpaceTreesDetector(n_trees=3, height=5, window_size=40, seed=None)
    assert (custom.n_trees, custom.height, custom.window_size, custom.seed) == (3, 5, 40, None)


def test_loda_hyperparameters_are_stored_unchanged() -> None:
    det = LODADetector(n_bins=7, n_random_cuts=20, seed=3)
    assert (det.n_bins, det.n_random_cuts, det.seed) == (7, 20, 3)


@pytest.mark.parametrize("cls", [HalfSpaceTreesDetector, LODADetector])
def test_nothing_learned_scores_zero(cls: type[HalfSpaceTreesDetector | LODADetector]) -> None:
    det = cls()
    assert det.score_one({"value": 1e9}) == 0.0
    det.learn_one({"t": 60.0})  # a timestamp alone is no observation
    det.learn_one({"value": math.nan, "t": 120.0})
    assert det.score_one({"value": 1e9}) == 0.0


def test_hst_scores_zero_during_first_window() -> None:
    det = HalfSpaceTreesDetector(window_size=50)
    for x in _noise(49):
        det.learn_one(x)
    assert det.score_one({"value": 500.0}) == 0.0
    det.learn_one(_noise(50)[-1])
    assert det.score_one({"value": 500.0}) > 0.0


@pytest.mark.parametrize("cls", [HalfSpaceTreesDetector, LODADetector])
def test_spike_scores_higher_than_normal_points(
    cls: type[HalfSpaceTreesDetector | LODADetector],
) -> None:
    det = cls() if cls is LODADetector else HalfSpaceTreesDetector(window_size=100)
    stream = _noise(400)
    for x in stream[:300]:
        det.learn_one(x)
    normal = [det.score_one(x) for x in stream[300:]]
    spike = det.score_one({"value": 62.0, "t": 0.0})
    assert spike > sorted(normal)[int(0.95 * len(normal))]


def test_spike_in_one_of_several_features_scores_higher() -> None:
    rng = random.Random(1)
    det = HalfSpaceTreesDetector(window_size=100)
    for i in range(400):
        det.learn_one({"cpu": rng.gauss(0.4, 0.05), "mem": rng.gauss(0.6, 0.05), "t": float(i)})
    normal = det.score_one({"cpu": 0.4, "mem": 0.6})
    assert det.score_one({"cpu": 0.4, "mem": 0.95}) > normal
    assert det.score_one({"cpu": 0.05, "mem": 0.6}) > normal


def test_hst_matches_the_river_pipeline_it_wraps() -> None:
    det = HalfSpaceTreesDetector(window_size=60, seed=5)
    river = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(window_size=60, seed=5)
    for x in _noise(300):
        assert det.score_one(x) == river.score_one({"value": x["value"]})
        det.learn_one(x)
        river.learn_one({"value": x["value"]})


def test_loda_score_is_exp_of_river_score() -> None:
    det = LODADetector(seed=5)
    river: base.AnomalyDetector = anomaly.LODA(seed=5)
    for x in _noise(300)[:-1]:
        det.learn_one(x)
        river.learn_one({"value": x["value"]})
    assert det.score_one({"value": 55.0}) == pytest.approx(
        math.exp(river.score_one({"value": 55.0}))
    )


@pytest.mark.parametrize("cls", [HalfSpaceTreesDetector, LODADetector])
def test_timestamp_is_ignored(cls: type[HalfSpaceTreesDetector | LODADetector]) -> None:
    with_t, without_t, shifted_t = cls(), cls(), cls()
    for x in _noise(400):
        with_t.learn_one(x)
        without_t.learn_one({"value": x["value"]})
        shifted_t.learn_one({"value": x["value"], "t": x["t"] * 1000.0 + 1e9})
    probe = {"value": 57.0, "t": 5.0}
    assert with_t.score_one(probe) == without_t.score_one(probe) == shifted_t.score_one(probe)


@pytest.mark.parametrize("cls", [HalfSpaceTreesDetector, LODADetector])
def test_non_finite_values_are_skipped(cls: type[HalfSpaceTreesDetector | LODADetector]) -> None:
    det = cls()
    stream = _noise(400)
    for x in stream[:300]:
        det.learn_one(x)
    twin = copy.deepcopy(det)
    for bad in (math.nan, math.inf, -math.inf):
        det.learn_one({"value": bad, "t": 1.0})
        assert math.isfinite(det.score_one({"value": bad}))
    for x in stream[300:]:  # the skipped values left no trace
        assert det.score_one(x) == twin.score_one(x)
        det.learn_one(x)
        twin.learn_one(x)


def test_unseen_feature_is_treated_as_missing() -> None:
    det = HalfSpaceTreesDetector(window_size=50)
    for x in _noise(200):
        det.learn_one(x)
    probe = {"value": 50.0}
    assert det.score_one({**probe, "brand_new": 1e12}) == det.score_one(probe)
