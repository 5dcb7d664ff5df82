from __future__ import annotations

import numpy as np

from foreshock.detectors.calibration import TailCalibrator
from foreshock.detectors.counters import CounterRates
from foreshock.detectors.decision import EpisodeDecider
from foreshock.detectors.fleet import RobustBaseline
from foreshock.schemas.state import dump_state, load_state


def _stream(n: int, series: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    return 100 + 10 * np.sin(2 * np.pi * t / 5000) + rng.normal(0, 1, (n, series))


def test_a_level_shift_scores_high_and_noise_does_not() -> None:
    det = RobustBaseline()
    data = _stream(600, 50)
    ids = np.arange(50)
    for k in range(500):
        z = det.update(ids, data[k], 15.0 * k)
    assert np.abs(z).max() < 6
    shifted = data[500].copy()
    shifted[7] += 20
    z = det.update(ids, shifted, 15.0 * 500)
    assert z[7] > 10 and np.abs(np.delete(z, 7)).max() < 6


def test_a_slow_ramp_is_not_absorbed_before_it_is_flagged() -> None:
    det = RobustBaseline()
    ids = np.array([0])
    rng = np.random.default_rng(1)
    for k in range(400):
        det.update(ids, np.array([50 + rng.normal(0, 0.5)]), 15.0 * k)
    zs = [
        float(det.update(ids, np.array([50 + 0.05 * j + rng.normal(0, 0.5)]), 15.0 * (400 + j))[0])
        for j in range(400)
    ]
    assert max(zs) > 8, "a disk filling at a steady pace must stand out"


def test_state_is_under_one_kilobyte_per_series_and_survives_restore() -> None:
    det = RobustBaseline()
    ids = np.arange(1000)
    data = _stream(100, 1000)
    for k in range(100):
        det.update(ids, data[k], 15.0 * k)
    assert det.state_bytes() / det.n_series <= 1024
    clone = RobustBaseline()
    clone.load_state_dict(load_state(dump_state("fleet", det.state_dict()), "fleet"))
    assert np.array_equal(clone.baseline(ids, 0.0), det.baseline(ids, 0.0))
    a = det.update(ids, data[0] + 3, 1500.0)
    b = clone.update(ids, data[0] + 3, 1500.0)
    assert np.array_equal(a, b)


def test_a_value_that_is_not_a_number_scores_zero_and_leaves_the_series_alone() -> None:
    det, twin = RobustBaseline(warmup=5), RobustBaseline(warmup=5)
    ids = np.array([0, 1])
    for k in range(50):
        det.update(ids, np.array([10.0 + k % 3, 5.0]), 15.0 * k)
        twin.update(ids, np.array([10.0 + k % 3, 5.0]), 15.0 * k)
    z = det.update(ids, np.array([np.nan, 5.0]), 750.0)
    assert z[0] == 0.0 and np.isfinite(z).all()
    twin.update(ids[1:], np.array([5.0]), 750.0)  # as if the NaN had never come
    assert np.array_equal(
        det.update(ids, np.array([30.0, 5.0]), 765.0),
        twin.update(ids, np.array([30.0, 5.0]), 765.0),
    )


def test_counter_rates_survive_resets_and_gaps() -> None:
    r = CounterRates()
    ids = np.array([0, 1])
    assert np.isnan(r.update(ids, np.array([10.0, 0.0]), 0.0)).all()
    assert r.update(ids, np.array([40.0, 15.0]), 15.0).tolist() == [2.0, 1.0]
    # series 1 misses a scrape; series 0 restarts from zero
    assert r.update(np.array([0]), np.array([5.0]), 30.0).tolist() == [5.0 / 15.0]
    assert r.update(np.array([1]), np.array([75.0]), 45.0).tolist() == [2.0]


def test_calibration_is_monotone_bounded_and_not_inflated_by_anomalies() -> None:
    cal = TailCalibrator()
    rng = np.random.default_rng(0)
    cal.learn(rng.normal(size=50_000))
    grid = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 50.0, 1e6])
    out = cal.transform(grid)
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() <= 1
    assert out[4] > 0.9999
    # a big fault must not make an 8-sigma value look ordinary
    cal.learn(np.full(750, 300.0))  # 1.5% of huge scores: a big fault
    assert cal.transform(np.array([8.0]))[0] > 0.999


def test_episode_opens_once_and_closes_after_cooling_down() -> None:
    d = EpisodeDecider(confirm=0.999, onset=0.99, persist=3, cool=3)
    ids = np.array([0])
    scores = [0.5, 0.995, 0.9995, 0.9995, 0.9995, 0.9995, 0.2, 0.2, 0.2, 0.2]
    opens, closes = [], []
    for t, p in enumerate(scores):
        o, c = d.update(ids, np.array([p]), float(t))
        if o.size:
            opens.append((t, float(d.onset_of(ids)[0])))
        if c.size:
            closes.append(t)
    assert opens == [(4, 1.0)]  # confirmed at the third high score, onset at the first elevated
    assert closes == [8]


def test_a_single_glitch_does_not_open_an_episode() -> None:
    d = EpisodeDecider(persist=3)
    ids = np.array([0])
    got = [
        d.update(ids, np.array([p]), float(t))[0].size for t, p in enumerate([0.1, 1.0, 0.1, 0.1])
    ]
    assert sum(got) == 0


def test_absurd_counter_values_open_no_anomaly() -> None:
    """-1e308 in a counter used to give a rate of about -7e306 and a false incident."""
    from foreshock.pipelines.stages.detect import DetectStage
    from foreshock.schemas.metrics import MetricBatch

    stage = DetectStage(kinds={"app": "other"})
    opened = []
    for k in range(400):
        v = 1000.0 * k + (k % 7)
        if 300 <= k < 306:
            v = -1e308  # six corrupt samples in a row
        batch = MetricBatch(
            timestamp=15.0 * k, resources=["app"], metrics=["app_jobs_total"], values=[v]
        )
        opened += [a for a in stage.process(batch) if a.state == "open"]
    assert opened == []
