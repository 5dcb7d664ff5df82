"""The fleet tier's breakout gate (``novelty``): what ``foreshock score`` and NAB ask for.

Two failure classes of the fleet tier on NAB (issue 12), each on a small synthetic case
that fails without the gate: dense spikes of a known height scored as high as the fault
that follows them, and a clean jump that does not stand out of a noisy series' scores.
"""

from __future__ import annotations

import numpy as np

from foreshock.detectors.fleet import RobustBaseline
from foreshock.pipelines.runtimes.score import score_series

_STEP = 300.0
_IDS = np.zeros(1, dtype=np.int64)


def _daily(n: int, seed: int = 3) -> tuple[list[float], np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * _STEP
    values = 50.0 + 10.0 * np.sin(2 * np.pi * t / 86_400.0) + rng.normal(scale=0.5, size=n)
    return t.tolist(), values


def test_dense_repeated_spikes_do_not_outscore_the_fault_after_them() -> None:
    ts, vs = _daily(3000)
    spikes = list(range(600, 2400, 37))  # ~50 spikes of one height, as NAB's spike files
    vs[spikes] += 25.0
    vs[2700:2720] += 45.0  # the fault: higher than anything before it
    gated = np.array(score_series(ts, vs.tolist()))
    plain = np.array(score_series(ts, vs.tolist(), novelty=False))
    outside = np.r_[0:2700, 2720:3000]
    # with the gate, repeats are not news: a few spikes (while they widen the envelope)
    # score over 0.99, none as high as the fault; the fault is news once, not 20 times
    assert np.count_nonzero(gated[spikes] > 0.99) <= 5
    assert np.count_nonzero(gated[outside] >= gated[2700]) == 0
    assert np.count_nonzero(gated[2700:2720] > 0.99) <= 5
    # by z-score alone (the old fleet tier) every spike and every row of the fault does
    assert np.count_nonzero(plain[spikes] > 0.99) >= 40
    assert np.count_nonzero(plain[outside] >= plain[2700]) > 0
    assert np.count_nonzero(plain[2700:2720] > 0.99) == 20


def test_a_clean_jump_is_the_top_score_of_its_series() -> None:
    ts, vs = _daily(4000, seed=8)
    vs[::50] += np.random.default_rng(1).normal(scale=3.0, size=len(vs[::50]))  # wobbles
    vs[3000:] += 30.0  # a jump up that holds
    gated = np.array(score_series(ts, vs.tolist()))
    plain = np.array(score_series(ts, vs.tolist(), novelty=False))
    assert int(np.argmax(gated)) == 3000
    # a jump that holds is news while it breaks out (and at new daily highs after it),
    # not for the hours a z-score takes to accept the new level
    assert np.count_nonzero(gated[3000:] > 0.9) <= 25
    assert np.count_nonzero(plain[3000:] > 0.9) >= 3 * np.count_nonzero(gated[3000:] > 0.9)


def test_the_gate_scores_breakouts_only_and_learns_as_without_it() -> None:
    ts, vs = _daily(1500)
    vs[900] += 20.0
    vs[1200] += 15.0  # below the first spike: inside the envelope
    plain = RobustBaseline().replay(np.array(ts), vs)
    gated = RobustBaseline(novelty=True).replay(np.array(ts), vs)
    scored = gated != 0.0
    # every score is the plain z-score or 0: the gate changes no learning
    assert np.array_equal(gated[scored], plain[scored])
    assert gated[900] == plain[900] > 3 and gated[1200] == 0.0 < plain[1200]


def test_one_huge_spike_does_not_hide_a_later_smaller_fault() -> None:
    ts, vs = _daily(1500)
    vs[600] += 1e4  # widens the envelope by at most its width once
    vs[1200:1210] += 40.0
    gated = RobustBaseline(novelty=True).replay(np.array(ts), vs)
    assert gated[1200] > 5
    unbounded = RobustBaseline(novelty=True, growth=1e18).replay(np.array(ts), vs)
    assert unbounded[1200] == 0.0  # without the growth limit the spike hides it


def test_a_long_gap_keeps_what_the_series_has_shown() -> None:
    det = RobustBaseline(novelty=True, warmup=10, rewarm=3)
    for i in range(200):
        det.update(_IDS, np.array([10.0 + (i % 5)]), 60.0 * i)
    det.forget(_IDS)  # a collector down for hours
    after = [
        float(det.update(_IDS, np.array([v]), 1e6 + 60.0 * i)[0])
        for i, v in enumerate([12.0, 11.0, 13.0, 12.0, 30.0])
    ]
    assert after[:4] == [0.0] * 4 and after[4] > 0


def test_state_round_trips_and_an_old_state_loads() -> None:
    ts, vs = _daily(800)
    det = RobustBaseline(novelty=True)
    det.replay(np.array(ts), vs)
    twin = RobustBaseline(**det.params())
    twin.load_state_dict(det.state_dict())
    probe = np.array([vs.max() + 5.0])
    assert twin.update(_IDS, probe, 1e6)[0] == det.update(_IDS, probe, 1e6)[0] > 0
    old = {k: v for k, v in det.state_dict().items() if k not in ("hi", "lo")}
    legacy = RobustBaseline(novelty=True)
    legacy.load_state_dict(old)  # a state saved before the envelope existed
    legacy.update(_IDS, np.array([50.0]), 2e6)  # learns an envelope from here on
    assert np.isfinite(legacy.state_dict()["hi"][0])
    # the fleet tier's budget per series, envelope included
    assert det.state_bytes() / det.n_series <= 1024
