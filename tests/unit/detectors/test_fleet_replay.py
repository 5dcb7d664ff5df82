"""RobustBaseline.replay: one series in plain floats, bit for bit what update gives per sample."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from foreshock.detectors.fleet import RobustBaseline


def _per_sample(
    timestamps: np.ndarray, values: np.ndarray, **params: Any
) -> tuple[np.ndarray, RobustBaseline]:
    """The reference: one ``update`` per sample on arrays of length 1."""
    det = RobustBaseline(**params)
    ids = np.zeros(1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow on purpose below
        z = [
            float(det.update(ids, values[i : i + 1], float(timestamps[i]))[0])
            for i in range(values.size)
        ]
    return np.array(z, dtype=np.float64), det


def _same_state(a: RobustBaseline, b: RobustBaseline) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(sa[k].tobytes() == sb[k].tobytes() for k in sa)


_RNG = np.random.default_rng(17)
_N = 3000
_T = np.arange(_N) * 60.0


def _cases() -> list[tuple[str, np.ndarray, np.ndarray, dict[str, Any]]]:
    noisy = 50.0 + 5.0 * np.sin(_T / 3600.0) + _RNG.normal(size=_N)
    holes = noisy.copy()
    holes[::97] = np.nan
    holes[5::211] = 1e9
    holes[7::401] = np.inf
    holes[11::503] = -np.inf
    bad_times = _T.copy()
    bad_times[::50] = np.nan
    bad_times[3::70] = np.inf
    overflow = np.where(_RNG.random(_N) < 0.5, 1e308, -1e308)
    hourly = np.arange(_N) * 3600.0
    return [
        ("noisy", _T, noisy, {}),
        ("flat", _T, np.full(_N, 5.0), {}),
        ("zeros without a floor (0/0)", _T, np.zeros(_N), {"abs_floor": 0.0}),
        ("NaN, inf and spikes", _T, holes, {}),
        ("timestamps not finite", bad_times, noisy, {"season_after": 100}),
        ("timestamps out of order", _RNG.permutation(_T), holes, {}),
        ("overflow", _T, overflow, {}),
        ("seasonal, no adapt", hourly, noisy, {"season_after": 200, "warmup": 3, "adapt": 0}),
        ("integer hyperparameters", _T, noisy, {"level_halflife": 40, "clip": 4, "warmup": 0}),
        (
            "level shift, long regime",
            _T,
            np.where(np.arange(_N) >= _N // 2, 80.0, 50.0) + noisy * 0.01,
            {},
        ),
    ]


@pytest.mark.parametrize(
    ("timestamps", "values", "params"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_replay_is_update_per_sample_bit_for_bit(
    timestamps: np.ndarray, values: np.ndarray, params: dict[str, Any]
) -> None:
    expected, reference = _per_sample(timestamps, values, **params)
    det = RobustBaseline(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # replay itself warns about nothing
        z = np.concatenate(
            [det.replay(timestamps[i : i + 777], values[i : i + 777]) for i in range(0, _N, 777)]
        )
    assert z.tobytes() == expected.tobytes()  # NaN payloads included
    assert _same_state(det, reference)


def test_replay_continues_from_update_and_leaves_other_series_alone() -> None:
    det, ref = RobustBaseline(warmup=5), RobustBaseline(warmup=5)
    ids = np.array([0, 3])
    for t in range(40):  # two series learned together, by the batch contract
        v = np.array([10.0 + t % 3, 100.0 - t % 4])
        det.update(ids, v, 60.0 * t)
        ref.update(ids, v, 60.0 * t)
    ts = np.arange(40, 90, dtype=np.float64) * 60.0
    vs = 100.0 + _RNG.normal(size=50)
    z = det.replay(ts, vs, series=3)
    one = np.array([3])
    expected = [float(ref.update(one, vs[i : i + 1], float(ts[i]))[0]) for i in range(50)]
    assert z.tolist() == expected
    assert _same_state(det, ref)


def test_replay_grows_to_a_new_series_id_and_checks_lengths() -> None:
    det = RobustBaseline()
    assert det.replay(np.array([0.0]), np.array([1.0]), series=40).tolist() == [0.0]
    assert det.n_series > 40 and det.level_of(np.array([40]))[0] == 1.0
    assert det.replay(np.zeros(0), np.zeros(0)).size == 0
    with pytest.raises(ValueError, match="2 timestamps but 1 values"):
        det.replay(np.zeros(2), np.zeros(1))
