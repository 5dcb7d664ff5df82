"""TailCalibrator.prequential: scores a block at a time, bit for bit transform-then-learn."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from foreshock.detectors.calibration import TailCalibrator


def _per_score(raw: np.ndarray, calibrator: TailCalibrator) -> np.ndarray:
    """The reference: transform, then learn, one score at a time."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(raw.size):
            out.append(float(calibrator.transform(raw[i : i + 1])[0]))
            calibrator.learn(raw[i : i + 1])
    return np.array(out, dtype=np.float64)


def _same_state(a: TailCalibrator, b: TailCalibrator) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    totals = [np.float64(state["total"]).tobytes() for state in (sa, sb)]
    return bool(sa["counts"].tobytes() == sb["counts"].tobytes() and totals[0] == totals[1])


_RNG = np.random.default_rng(23)


def _cases() -> list[tuple[str, np.ndarray, int, dict[str, Any]]]:
    heavy = np.log1p(np.abs(_RNG.standard_t(2, size=6000)))
    holes = np.log1p(np.abs(_RNG.normal(size=4000)))
    holes[::37] = np.nan
    holes[::91] = np.inf
    holes[::53] = 0.0
    return [
        ("heavy tail, min_count 300", heavy, 1024, {"min_count": 300}),
        ("heavy tail, small blocks", heavy[:2500] * 100.0, 100, {"min_count": 300}),
        ("prior then histogram inside a block", heavy[:3000], 4096, {"min_count": 1234}),
        ("not finite: transformed, not learned", holes, 333, {"min_count": 300}),
        (
            "normal ceiling, short halflife",
            np.abs(_RNG.normal(size=4000)),
            512,
            {"normal_ceiling": True, "min_count": 1000, "halflife": 500.0},
        ),
        ("flat", np.full(2500, 0.01), 1024, {"min_count": 300}),
        ("zeros (under the range)", np.zeros(2500), 1024, {"min_count": 300}),
        (
            "over the range, block of one",
            np.abs(_RNG.normal(size=600)) * 1e5,
            1,
            {"min_count": 300},
        ),
        ("no prior", np.abs(_RNG.normal(size=1500)) * 1e-2, 700, {"min_count": 0}),
        (
            "integer hyperparameters",
            heavy[:2000],
            512,
            {"min_count": 300, "halflife": 1000, "low": 1},
        ),
        ("tail quantile 0", heavy[:1500], 512, {"min_count": 300, "tail_quantile": 0.0}),
        ("empty", np.zeros(0), 1024, {}),
    ]


@pytest.mark.parametrize(
    ("raw", "block", "params"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_prequential_is_transform_then_learn_bit_for_bit(
    raw: np.ndarray, block: int, params: dict[str, Any]
) -> None:
    reference = TailCalibrator(**params)
    expected = _per_score(raw, reference)
    calibrator = TailCalibrator(**params)
    got = calibrator.prequential(raw, block=block)
    assert got.tobytes() == expected.tobytes()
    assert _same_state(calibrator, reference)


def test_prequential_continues_a_learned_state_and_calls_mix() -> None:
    raw = np.log1p(np.abs(_RNG.standard_t(3, size=3000)))
    reference, calibrator = TailCalibrator(min_count=300), TailCalibrator(min_count=300)
    reference.learn(raw[:500])  # learned in one batch first
    calibrator.load_state_dict(reference.state_dict())
    expected = _per_score(raw[500:], reference)
    got = np.concatenate(
        [calibrator.prequential(raw[500:1700]), calibrator.prequential(raw[1700:])]
    )
    assert got.tobytes() == expected.tobytes()
    assert _same_state(calibrator, reference)


def _foreign_counts() -> np.ndarray:
    counts = np.abs(_RNG.normal(size=258)) * 10.0
    counts[5], counts[9] = -3.0, np.nan
    return counts


@pytest.mark.parametrize(
    "state",
    [
        {"counts": _foreign_counts(), "total": 2000.0},
        {"counts": np.ones(258), "total": float("nan")},
        {"counts": np.ones(258), "total": -5.0},
        {"counts": np.ones(258), "total": float("inf")},
    ],
    ids=["negative and NaN counts", "NaN total", "negative total", "infinite total"],
)
def test_a_foreign_state_falls_back_to_one_score_at_a_time(state: dict[str, Any]) -> None:
    # a state that is not a histogram gives no sorted cdf to search; still the same scores
    raw = np.abs(_RNG.normal(size=800))
    reference, calibrator = TailCalibrator(min_count=10), TailCalibrator(min_count=10)
    reference.load_state_dict(state)
    calibrator.load_state_dict(state)
    expected = _per_score(raw, reference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = calibrator.prequential(raw)
    assert got.tobytes() == expected.tobytes()
    assert _same_state(calibrator, reference)
