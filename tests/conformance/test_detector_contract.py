"""River-style conformance checks, run on every detector in the registry.

A new detector registered in :mod:`foreshock.detectors.registry` is checked here with no new test.
"""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from foreshock.detectors import registry
from foreshock.detectors.base import Detector
from foreshock.schemas.errors import UnknownNameError

Obs = dict[str, float]

N_POINTS = 2000
N_SPIKES = 10
FIT_POINTS = 1000  # fitted state for the clone and pickle checks


def _stream(seed: int = 7) -> tuple[list[Obs], list[int]]:
    """A seeded noisy sine (one point a minute) with spikes planted after a warm-up."""
    rng = np.random.default_rng(seed)
    i = np.arange(N_POINTS)
    values = 10.0 + 2.0 * np.sin(2.0 * np.pi * i / 200.0) + rng.normal(0.0, 0.3, N_POINTS)
    labels = np.zeros(N_POINTS, dtype=int)
    where = rng.choice(np.arange(400, N_POINTS), N_SPIKES, replace=False)
    values[where] += rng.choice([-1.0, 1.0], N_SPIKES) * rng.uniform(4.0, 8.0, N_SPIKES)
    labels[where] = 1
    xs = [{"value": float(v), "t": 60.0 * k} for k, v in enumerate(values)]
    return xs, labels.tolist()


STREAM, LABELS = _stream()


def _prequential(det: Detector, xs: list[Obs]) -> list[float]:
    """Score each observation, then learn it (on copies: a detector that mutates its
    input must not corrupt the stream that the other checks share)."""
    scores = []
    for x in xs:
        scores.append(det.score_one(dict(x)))
        det.learn_one(dict(x))
    return scores


def _fitted(name: str) -> Detector:
    det = registry.create(name)
    _prequential(det, STREAM[:FIT_POINTS])
    return det


@pytest.fixture(params=registry.names())
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_registry_creates_a_detector(name: str) -> None:
    det = registry.create(name)
    assert isinstance(det, Detector)
    assert isinstance(det, registry.resolve(name))


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        registry.create("no-such-detector")
    assert "no-such-detector" in str(err.value)
    for known in registry.names():
        assert known in str(err.value)
    with pytest.raises(KeyError):
        registry.resolve("no-such-detector")


def test_learn_one_returns_none(name: str) -> None:
    det = registry.create(name)
    for x in STREAM[:50]:
        assert det.learn_one(dict(x)) is None  # type: ignore[func-returns-value]


def test_scores_are_finite_non_negative_floats(name: str) -> None:
    scores = _prequential(registry.create(name), STREAM)
    for s in scores:
        assert isinstance(s, float)
        assert math.isfinite(s)
        assert s >= 0.0


def test_clone_of_unfitted_detector_scores_alike(name: str) -> None:
    det = registry.create(name)
    twin = copy.deepcopy(det)
    assert _prequential(det, STREAM) == _prequential(twin, STREAM)


def test_clone_of_fitted_detector_scores_alike(name: str) -> None:
    det = _fitted(name)
    twin = copy.deepcopy(det)
    rest = STREAM[FIT_POINTS:]
    assert _prequential(twin, rest) == _prequential(det, rest)


def test_clone_is_independent(name: str) -> None:
    det = _fitted(name)
    twin = copy.deepcopy(det)
    reference = copy.deepcopy(det)
    _prequential(twin, [{"value": 1e6 * (k + 1), "t": 0.0} for k in range(300)])
    rest = STREAM[FIT_POINTS:]
    assert _prequential(det, rest) == _prequential(reference, rest)


def test_pickle_round_trip_scores_alike(name: str) -> None:
    det = _fitted(name)
    restored = pickle.loads(pickle.dumps(det))
    assert type(restored) is type(det)
    rest = STREAM[FIT_POINTS:]
    assert _prequential(restored, rest) == _prequential(det, rest)


def test_input_is_not_mutated(name: str) -> None:
    det = registry.create(name)
    xs, _ = _stream()
    for k, x in enumerate(xs[:600]):
        obs = {**x, "extra": float(k % 5)} if k % 3 else dict(x)
        before = dict(obs)
        det.score_one(obs)
        assert obs == before
        det.learn_one(obs)
        assert obs == before


def test_missing_and_new_keys_are_tolerated(name: str) -> None:
    det = registry.create(name)
    odd: list[Obs] = [
        {},
        {"t": 60.0},
        {"value": 10.0},
        {"value": 10.0, "t": 60.0, "new": 3.0},
        {"new": 3.0, "t": 60.0},
        {"other": 1.0},
    ]
    for x in odd:  # before any data
        assert math.isfinite(det.score_one(x))
        det.learn_one(x)
    _prequential(det, STREAM[:600])
    for x in odd:  # after warm-up
        assert math.isfinite(det.score_one(x))
        det.learn_one(x)
    assert all(math.isfinite(s) for s in _prequential(det, STREAM[600:700]))


def test_non_finite_values_are_tolerated(name: str) -> None:
    det = registry.create(name)
    _prequential(det, STREAM[:600])
    for bad in (math.nan, math.inf, -math.inf):
        x = {"value": bad, "t": 36_000.0}
        assert math.isfinite(det.score_one(x))
        det.learn_one(x)
    assert all(math.isfinite(s) for s in _prequential(det, STREAM[600:700]))


def test_same_construction_gives_same_scores(name: str) -> None:
    assert _prequential(registry.create(name), STREAM) == _prequential(
        registry.create(name), STREAM
    )


def test_planted_anomalies_score_high(name: str) -> None:
    scores = _prequential(registry.create(name), STREAM)
    auc = roc_auc_score(LABELS, scores)
    assert auc > 0.7, f"{name}: ROC AUC {auc:.3f} on planted spikes"
