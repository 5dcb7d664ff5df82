"""Errors where there were none: a sparse counter of bad events read as counts, not z-scores.

PetShop, low traffic: ``petlistadoptions`` answered every request for two days, then failed
4 of 40 in five minutes and 6 of 40 in the next (an availability fault). Its error counter's
robust z-score is the number of events (the scale floor is one event per scrape): 4 and 6,
routine for a noisy series, and no anomaly opened on the old code.
"""

from __future__ import annotations

import numpy as np

from foreshock.detectors.rare_events import NAME, RareEvents
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.metrics import MetricBatch

STEP = 300.0  # five-minute samples, as PetShop's
ERRORS = "http_request_errors_total"


def _run(increments: list[float], gap_at: int | None = None) -> list[Anomaly]:
    """A service's error counter (a pack counter whose rise is bad) fed ``increments``."""
    stage = DetectStage(kinds={"svc": "service"})
    total, out = 0.0, []
    t = 0.0
    for k, inc in enumerate(increments):
        t += STEP if k != gap_at else 6 * 3600.0  # a collector down for six hours
        total += inc
        batch = MetricBatch(timestamp=t, resources=["svc"], metrics=[ERRORS], values=[total])
        out += stage.process(batch)
    return out


def test_errors_on_a_service_that_had_none_for_two_days_open_an_anomaly() -> None:
    quiet = [0.0] * 576  # two days of five-minute samples without an error
    opened = [a for a in _run([*quiet, 4.0, 6.0, 0.0, 0.0]) if a.state == "open"]
    # decided by the counts, which the grouper takes as credible alone (test_credibility)
    assert [(a.metric, a.direction, a.detector) for a in opened] == [(ERRORS, "up", NAME)]
    # 3 errors then 1: one run of excess, tested together (each alone is no alarm)
    assert [a.state for a in _run([*quiet, 3.0, 1.0, 0.0, 0.0])][:1] == ["open"]


def test_one_stray_error_or_routine_bursts_open_nothing() -> None:
    quiet = [0.0] * 576
    assert _run([*quiet, 1.0, 0.0, 0.0]) == []  # one error in two days: no failure
    # errors in bursts of a few every two hours are this series' normal: a burst of nine
    # over three samples is like the others (the PetShop Lambda's errors; as Poisson
    # counts they read as a one-in-a-million event)
    rng = np.random.default_rng(3)
    bursty = [float(rng.integers(2, 7)) if k % 24 == 0 else 0.0 for k in range(576)]
    assert _run([*bursty, 5.0, 2.0, 2.0, 0.0]) == []


def test_events_counted_across_a_collector_gap_are_compared_with_the_gap() -> None:
    # a service with an error every few hours: after six hours without readings, the
    # counter has grown by two (what six hours bring), which is not a burst
    sparse = [1.0 if k % 40 == 0 else 0.0 for k in range(576)]
    assert _run([*sparse, 2.0, 0.0, 0.0], gap_at=576) == []


def test_state_round_trips() -> None:
    a, b = RareEvents(), RareEvents()
    ids = np.array([0, 1])
    dt = np.full(2, STEP)
    for _ in range(100):
        a.update(ids, np.array([0.0, 1.0]), dt)
    b.load_state_dict(a.state_dict())
    burst = np.array([3.0, 3.0])
    assert np.array_equal(a.update(ids, burst, dt), b.update(ids, burst, dt))
