"""NAB scoring: windows, scaled sigmoid, probation, profiles, threshold sweep, normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foreshock.evaluate.nab_scoring import (
    PROFILES,
    NabFile,
    evaluate_scores,
    probation_length,
    scaled_sigmoid,
    score_detections,
    sweep_thresholds,
)
from foreshock.schemas.errors import SchemaError

N = 1000  # rows per synthetic file: probation = 150


def _file(windows: list[tuple[int, int]], n: int = N, name: str = "cat/f.csv") -> NabFile:
    return NabFile(name, [300.0 * i for i in range(n)], [0.0] * n, windows)


def _at(*rows: int, n: int = N) -> list[bool]:
    hits = [False] * n
    for r in rows:
        hits[r] = True
    return hits


def _spikes(rows: dict[int, float], n: int = N) -> list[float]:
    scores = [0.0] * n
    for r, s in rows.items():
        scores[r] = s
    return scores


# -- one file -----------------------------------------------------------------------------


def test_scaled_sigmoid_shape() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0 and scaled_sigmoid(50.0) == -1.0


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert probation_length(1000) == 150
    assert probation_length(4032) == 604
    assert probation_length(20_000) == 750
    assert _file([]).probation == 150


def test_earliest_detection_earns_full_reward_and_later_ones_less() -> None:
    f = _file([(600, 649)])
    first = score_detections(f, _at(600)).score
    middle = score_detections(f, _at(625)).score
    last = score_detections(f, _at(649)).score
    assert first == pytest.approx(1.0)
    assert 1.0 > middle > last > 0.0
    # only the earliest detection in a window counts, however many follow it
    assert score_detections(f, _at(600, 610, 649)).score == pytest.approx(first)
    assert score_detections(f, _at(625, 649)).score == pytest.approx(middle)
    assert score_detections(f, _at(600, 649)).tp == 1


def test_missed_window_costs_a_fn_per_profile() -> None:
    f = _file([(300, 349), (600, 649)])
    for name, cost in PROFILES.items():
        result = score_detections(f, _at(300), name)
        assert result.score == pytest.approx(cost.tp - cost.fn)
        assert (result.tp, result.fn, result.fp) == (1, 1, 0)


def test_false_positive_far_after_a_window_costs_more_than_right_after() -> None:
    f = _file([(400, 449)])
    miss = -1.0
    right_after = score_detections(f, _at(450)).score - miss
    far_after = score_detections(f, _at(900)).score - miss
    assert far_after < right_after < 0.0
    assert far_after == pytest.approx(-0.11)  # beyond 3 window widths: full cost
    assert right_after > -0.11 / 10
    # the reward_low_FP profile doubles the cost
    assert score_detections(f, _at(900), "reward_low_FP").score - miss == pytest.approx(-0.22)


def test_false_positive_before_any_window_costs_full_a_fp() -> None:
    f = _file([(600, 649)])
    result = score_detections(f, _at(300))
    assert result.score == pytest.approx(-1.0 - 0.11)
    assert result.fp == 1


def test_probation_rows_are_ignored() -> None:
    f = _file([(600, 649)])
    in_probation = _at(10, 100, 149)
    assert score_detections(f, in_probation).score == score_detections(f, _at()).score
    assert score_detections(f, in_probation).fp == 0
    # the first row after probation is scored
    assert score_detections(f, _at(150)).fp == 1


def test_window_inside_probation_does_not_count() -> None:
    inside = _file([(20, 60), (600, 649)])
    outside = _file([(600, 649)])
    assert score_detections(inside, _at()).fn == 1
    assert score_detections(inside, _at(600)).score == score_detections(outside, _at(600)).score
    # a detection in that window is in probation: ignored
    assert score_detections(inside, _at(30)).score == pytest.approx(-1.0)


def test_bad_windows_are_rejected() -> None:
    with pytest.raises(SchemaError):
        _file([(600, 649), (640, 700)])  # overlap
    with pytest.raises(SchemaError):
        _file([(990, 1005)])  # past the end


# -- corpus: sweep and normalisation ---------------------------------------------------------


def _corpus() -> list[NabFile]:
    return [
        _file([(300, 349), (700, 749)], name="a/one.csv"),
        _file([], name="a/quiet.csv"),
        _file([(500, 539)], name="b/two.csv"),
    ]


def test_perfect_detector_scores_100_and_null_scores_0() -> None:
    files = _corpus()
    perfect = [_spikes({300: 1.0, 700: 1.0}), _spikes({}), _spikes({500: 1.0})]
    null = [_spikes({}) for _ in files]
    constant = [[0.5] * N for _ in files]
    for name in PROFILES:
        assert evaluate_scores(files, perfect).profiles[name].score == pytest.approx(100.0)
        assert evaluate_scores(files, null).profiles[name].score == pytest.approx(0.0)
        assert evaluate_scores(files, constant).profiles[name].score == pytest.approx(0.0)
    result = evaluate_scores(files, perfect).profiles["standard"]
    assert (result.tp, result.fp, result.fn) == (3, 0, 0)
    assert result.null == pytest.approx(-3.0) and result.perfect == pytest.approx(3.0)
    assert evaluate_scores(files, null).profiles["reward_low_FN"].null == pytest.approx(-6.0)


def test_late_detections_score_between_null_and_perfect() -> None:
    files = _corpus()
    late = [_spikes({340: 1.0, 740: 1.0}), _spikes({}), _spikes({535: 1.0})]
    score = evaluate_scores(files, late).profiles["standard"].score
    assert 0.0 < score < 100.0


def test_sweep_matches_brute_force_at_every_threshold() -> None:
    files = _corpus()
    rng = np.random.default_rng(7)
    scores = [np.round(rng.uniform(size=N), 2).tolist() for _ in files]
    for name, cost in PROFILES.items():
        sweep = sweep_thresholds(files, scores, cost)
        assert sweep[0] == (math.inf, pytest.approx(-3.0 * cost.fn))
        thresholds = [t for t, _ in sweep]
        assert thresholds == sorted(thresholds, reverse=True)
        for threshold, total in sweep[1::7]:
            brute = sum(
                score_detections(f, np.asarray(s) >= threshold, name).score
                for f, s in zip(files, scores, strict=True)
            )
            assert total == pytest.approx(brute)


def test_sweep_picks_the_best_threshold() -> None:
    files = _corpus()
    # 0.9 finds the first window only; 0.8 adds the second window of a/one.csv and two
    # FPs; 0.7 adds the b/two.csv window and many FPs in the quiet file.
    one = _spikes({300: 0.9, 700: 0.8, 800: 0.8, 820: 0.8})
    quiet = _spikes({200 + 5 * i: 0.7 for i in range(100)})
    two = _spikes({500: 0.7})
    result = evaluate_scores(files, [one, quiet, two])
    assert result.profiles["standard"].threshold == 0.8
    assert result.profiles["standard"].fp == 2
    # with FNs twice as costly, catching b/two.csv is worth the 100 extra FPs? no: 100*0.11
    # = 11 > 2 + 1; but with only 10 extra FPs it is
    quiet_few = _spikes({200 + 50 * i: 0.7 for i in range(10)})
    low_fn = evaluate_scores(files, [one, quiet_few, two]).profiles["reward_low_FN"]
    assert low_fn.threshold == 0.7
    assert (low_fn.tp, low_fn.fn) == (3, 0)
    best = max(
        total for _, total in sweep_thresholds(files, [one, quiet_few, two], "reward_low_FN")
    )
    assert low_fn.raw == pytest.approx(best)
    assert sum(r.score for r in low_fn.per_file.values()) == pytest.approx(low_fn.raw)


def test_result_table_and_dict() -> None:
    files = _corpus()
    result = evaluate_scores(files, [_spikes({300: 1.0}), _spikes({}), _spikes({})], "demo")
    as_dict = result.to_dict()
    assert set(as_dict["profiles"]) == set(PROFILES)
    assert as_dict["profiles"]["standard"]["per_file"]["a/one.csv"]["tp"] == 1
    table = result.to_table()
    assert table.row_count == len(PROFILES)
