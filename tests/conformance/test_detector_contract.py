"""Conformance checks on every detector in the registry, on the contract the pipeline calls.

:class:`~foreshock.detectors.base.BatchDetector` is what the detect stage (and
``foreshock score``) calls: one ``update`` per scrape with arrays of series ids and values.
A detector registered in :mod:`foreshock.detectors.registry` is checked here with no new
test, and ``test_the_detect_stage_runs_every_detector`` puts each one in the stage itself.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from foreshock.detectors import registry
from foreshock.detectors.base import BatchDetector
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.schemas.errors import SnapshotError, UnknownNameError
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state, load_state

N_SERIES = 4
N_POINTS = 1500
N_SPIKES = 12
FIT_POINTS = 800  # fitted state for the clone and state checks


def _stream(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Seeded noisy sines (one point a minute) per series, with spikes after a warm-up.

    Returns values (points × series) and labels (points × series).
    """
    rng = np.random.default_rng(seed)
    i = np.arange(N_POINTS)[:, None]
    phase = rng.uniform(0.0, 2.0 * np.pi, N_SERIES)[None, :]
    level = rng.uniform(5.0, 50.0, N_SERIES)[None, :]
    values = level * (1.0 + 0.2 * np.sin(2.0 * np.pi * i / 200.0 + phase))
    values = values + rng.normal(0.0, 0.03, (N_POINTS, N_SERIES)) * level
    labels = np.zeros((N_POINTS, N_SERIES), dtype=int)
    for s in range(N_SERIES):
        where = rng.choice(np.arange(400, N_POINTS), N_SPIKES, replace=False)
        values[where, s] += rng.choice([-1.0, 1.0], N_SPIKES) * rng.uniform(0.6, 1.2) * level[0, s]
        labels[where, s] = 1
    return values, labels


VALUES, LABELS = _stream()
IDS = np.arange(N_SERIES, dtype=np.int64)


def _run(det: BatchDetector, start: int = 0, stop: int = N_POINTS) -> np.ndarray:
    """Scores of rows ``start:stop`` (each scored, then learned), points × series."""
    out = []
    for k in range(start, stop):
        values = VALUES[k].copy()
        out.append(det.update(IDS, values, 60.0 * k))
    return np.array(out)


def _fitted(name: str) -> BatchDetector:
    det = registry.create(name)
    _run(det, 0, FIT_POINTS)
    return det


@pytest.fixture(params=registry.names())
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_registry_creates_a_batch_detector(name: str) -> None:
    det = registry.create(name)
    assert isinstance(det, BatchDetector)
    assert isinstance(det, registry.resolve(name))
    assert isinstance(det.zscore, bool) and isinstance(det.stores_state, bool)
    assert det.name == name


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        registry.create("no-such-detector")
    assert "no-such-detector" in str(err.value)
    for known in registry.names():
        assert known in str(err.value)


def test_params_rebuild_an_equal_detector(name: str) -> None:
    det = registry.create(name)
    twin = registry.resolve(name)(**det.params())
    assert twin.params() == det.params()
    assert np.array_equal(_run(det, 0, 600), _run(twin, 0, 600))


def test_scores_are_finite_floats_one_per_value(name: str) -> None:
    scores = _run(registry.create(name))
    assert scores.shape == (N_POINTS, N_SERIES) and scores.dtype == np.float64
    assert np.isfinite(scores).all()


def test_cold_series_score_zero_until_warm(name: str) -> None:
    det = registry.create(name)
    first = det.update(IDS, VALUES[0].copy(), 0.0)
    assert np.array_equal(first, np.zeros(N_SERIES))
    assert not det.is_warm(IDS).any()
    _run(det, 1, FIT_POINTS)
    assert det.is_warm(IDS).all()


def test_inputs_are_not_mutated(name: str) -> None:
    det = registry.create(name)
    for k in range(300):
        ids, values = IDS.copy(), VALUES[k].copy()
        floor = np.full(N_SERIES, 0.01)
        det.update(ids, values, 60.0 * k, floor)
        assert np.array_equal(ids, IDS) and np.array_equal(values, VALUES[k])
        assert np.array_equal(floor, np.full(N_SERIES, 0.01))


def test_new_and_sparse_ids_are_tolerated(name: str) -> None:
    det = registry.create(name)
    _run(det, 0, 300)
    late = np.array([0, 5000, 3], dtype=np.int64)  # a new series with a large id
    for k in range(300, 400):
        out = det.update(late, np.array([VALUES[k, 0], 7.0, VALUES[k, 3]]), 60.0 * k)
        assert out.shape == (3,) and np.isfinite(out).all()
    assert det.update(np.zeros(0, dtype=np.int64), np.zeros(0), 0.0).shape == (0,)
    assert det.baseline(late, 0.0).shape == (3,) and det.level_of(late).shape == (3,)


def test_values_that_are_not_numbers_score_zero_and_poison_nothing(name: str) -> None:
    det, twin = _fitted(name), _fitted(name)
    bad = VALUES[FIT_POINTS].copy()
    bad[1], bad[2] = math.nan, math.inf
    out = det.update(IDS, bad, 60.0 * FIT_POINTS)
    assert out[1] == 0.0 and out[2] == 0.0 and np.isfinite(out).all()
    twin.update(IDS[[0, 3]], bad[[0, 3]], 60.0 * FIT_POINTS)  # as if they never came
    assert np.array_equal(_run(det, FIT_POINTS + 1), _run(twin, FIT_POINTS + 1))


def test_same_construction_gives_same_scores(name: str) -> None:
    assert np.array_equal(_run(registry.create(name)), _run(registry.create(name)))


def test_clone_of_fitted_detector_scores_alike_and_independently(name: str) -> None:
    det = _fitted(name)
    twin = copy.deepcopy(det)
    reference = copy.deepcopy(det)
    for k in range(200):  # the twin sees something else entirely
        twin.update(IDS, np.full(N_SERIES, 1e6 * (k + 1)), 60.0 * k)
    assert np.array_equal(_run(det, FIT_POINTS), _run(reference, FIT_POINTS))


def test_state_round_trips_as_data(name: str) -> None:
    det = _fitted(name)
    blob = dump_state(name, det.state_dict(), det.params())
    restored = registry.resolve(name)(**det.params())
    restored.load_state_dict(load_state(blob, name, det.params()))
    if det.stores_state:  # the restored detector scores exactly as the original
        assert np.array_equal(_run(restored, FIT_POINTS), _run(det, FIT_POINTS))
    else:  # it relearns from the stream: cold, then warm again, never failing
        assert not restored.is_warm(IDS).any()
        assert np.isfinite(_run(restored, FIT_POINTS)).all()
        assert restored.is_warm(IDS).all()


def test_a_tampered_state_is_refused(name: str) -> None:
    det = _fitted(name)
    blob = bytearray(dump_state(name, det.state_dict(), det.params()))
    blob[-3] ^= 0xFF
    with pytest.raises(SnapshotError):
        load_state(bytes(blob), name, det.params())


def _novel(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels of the planted spikes that go beyond every value their series showed before
    (a spike smaller than an earlier one on its side is a repeat, not news)."""
    hi = np.maximum.accumulate(values, axis=0)
    lo = np.minimum.accumulate(values, axis=0)
    before_hi = np.vstack([np.full((1, values.shape[1]), np.inf), hi[:-1]])
    before_lo = np.vstack([np.full((1, values.shape[1]), -np.inf), lo[:-1]])
    beyond = (values > before_hi) | (values < before_lo)
    return np.where(labels == 1, beyond.astype(int), 0)


def test_planted_anomalies_score_high(name: str) -> None:
    det = registry.create(name)
    scores = np.abs(_run(det))[400:]
    labels = LABELS
    if getattr(det, "novelty_only", False):  # scores only what the series never showed
        labels = _novel(VALUES, LABELS)
        repeats = (LABELS[400:] == 1) & (labels[400:] == 0)
        scores, kept = scores[~repeats], labels[400:][~repeats]
        assert kept.sum() >= N_SERIES, "too few novel spikes to judge"
        auc = roc_auc_score(kept.ravel(), scores.ravel())
    else:
        auc = roc_auc_score(labels[400:].ravel(), scores.ravel())
    assert auc > 0.8, f"{name}: ROC AUC {auc:.3f} on planted spikes"


def test_the_sign_says_the_direction(name: str) -> None:
    scores = _run(registry.create(name))[400:]
    planted = (LABELS[400:] == 1) & (scores != 0.0)  # the spikes the detector scored
    above = VALUES[400:] > np.median(VALUES[400:], axis=0)
    agree = np.sign(scores[planted]) == np.where(above[planted], 1.0, -1.0)
    assert agree.mean() > 0.9, f"{name}: sign agrees with the spike's side {agree.mean():.0%}"


def test_the_detect_stage_runs_every_detector(name: str) -> None:
    stage = DetectStage(kinds={"db": "mysql"}, detector=registry.create(name))
    metrics = [f"m{s}" for s in range(N_SERIES)]
    values = np.where(LABELS == 1, np.nan, VALUES)  # no spikes here (NaN: skipped)
    values[1200:1260, 0] *= 3.0  # an hour-long outage-sized shift on one series
    opened = []
    for k in range(N_POINTS):
        batch = MetricBatch(
            timestamp=60.0 * k,
            resources=["db"] * N_SERIES,
            metrics=metrics,
            values=values[k].tolist(),
        )
        opened += [a for a in stage.process(batch) if a.state == "open"]
    assert stage.samples == N_POINTS * N_SERIES  # every sample counted, NaN or not
    assert all(a.detector == name for a in opened)
    shift = [a for a in opened if a.metric == "m0" and 1200 * 60 <= a.detected_at < 1260 * 60]
    assert all(a.direction == "up" for a in shift)
    restored = DetectStage(kinds={"db": "mysql"}, detector=registry.create(name))
    restored.restore(stage.snapshot())
    assert restored.n_series == N_SERIES and restored.samples == stage.samples
