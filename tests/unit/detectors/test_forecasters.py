"""Forecasters: planted structure recovered, calibrated intervals and exhaustion, selection."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from foreshock.detectors.forecasters import registry
from foreshock.detectors.forecasters.base import FloatArray, Forecaster, Prediction
from foreshock.detectors.forecasters.exhaustion import first_crossing, time_to_exhaustion
from foreshock.detectors.forecasters.linear_trend import LinearTrend
from foreshock.detectors.forecasters.selection import forecast_series, select_model
from foreshock.schemas.errors import SchemaError

HOUR = 3600.0
DAY = 86_400.0
STEP = 300.0


def _seasonal(days: int = 7, noise: float = 0.1, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    t = HOUR * np.arange(24 * days, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return t, 10.0 + 2.0 * np.sin(2 * np.pi * t / DAY) + rng.normal(0.0, noise, t.size)


def _ramp(
    seed: int, days: float = 3.0, slope_per_day: float = 1.0, noise: float = 0.3
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """History and next day of a noisy 5-minute linear ramp."""
    rng = np.random.default_rng(seed)
    n_hist, n_fut = int(days * DAY / STEP), int(DAY / STEP)
    t = STEP * np.arange(n_hist + n_fut, dtype=np.float64)
    y = slope_per_day * t / DAY + rng.normal(0.0, noise, t.size)
    return t[:n_hist], y[:n_hist], t[n_hist:], y[n_hist:]


def _mae(p: Prediction, truth: FloatArray) -> float:
    return float(np.mean(np.abs(p.point - truth)))


# --- each model recovers a planted structure -------------------------------------------


@pytest.mark.parametrize("name", ["seasonal_naive", "ets", "arima", "prophet"])
def test_seasonal_models_recover_daily_season(name: str) -> None:
    t, y = _seasonal()
    model = registry.create(name)
    model.fit(t, y)
    t_f = t[-1] + HOUR * np.arange(1, 25)
    truth = 10.0 + 2.0 * np.sin(2 * np.pi * t_f / DAY)
    assert _mae(model.predict(t_f), truth) < 0.3  # amplitude 2, noise 0.1


@pytest.mark.parametrize("name", ["linear", "ets", "arima", "prophet"])
def test_trend_models_recover_ramp(name: str) -> None:
    t, y, t_f, _ = _ramp(seed=1, noise=0.05)
    model = registry.create(name)
    model.fit(t, y)
    truth = t_f / DAY  # 1 per day: from 3 to 4
    assert _mae(model.predict(t_f), truth) < 0.1


def test_seasonal_naive_without_two_days_is_naive() -> None:
    t, y = _seasonal(days=1)
    model = registry.create("seasonal_naive")
    model.fit(t, y)
    p = model.predict(t[-1] + HOUR * np.arange(1, 4))
    assert np.all(p.point == y[-1])
    assert np.all(np.diff(p.upper80 - p.lower80) > 0)  # widens with sqrt(steps)


# --- intervals and exhaustion are calibrated on noisy ramps ----------------------------


def test_linear_80_interval_coverage_on_noisy_ramps() -> None:
    inside80, inside95 = [], []
    for seed in range(150):
        t, y, t_f, y_f = _ramp(seed, noise=0.3 + 0.01 * (seed % 20))
        model = LinearTrend(n_paths=0)
        model.fit(t, y)
        p = model.predict(t_f)
        inside80.append(np.mean((p.lower80 <= y_f) & (y_f <= p.upper80)))
        inside95.append(np.mean((p.lower95 <= y_f) & (y_f <= p.upper95)))
    assert 0.7 <= np.mean(inside80) <= 0.9
    assert 0.9 <= np.mean(inside95) <= 0.99


def test_linear_slope_uncertainty_widens_intervals_with_horizon() -> None:
    t, y, t_f, _ = _ramp(seed=3, days=0.25)
    model = LinearTrend(n_paths=0)
    model.fit(t, y)
    width = model.predict(t_f).upper80 - model.predict(t_f).lower80
    assert width[-1] > 1.5 * width[0]  # short history: the slope is uncertain


def _true_crossing(t_f: FloatArray, y_f: FloatArray, limit: float) -> float:
    return float(first_crossing(t_f, y_f, limit, "growth")[0])


@pytest.mark.parametrize("noise", [0.05, 0.3])
def test_exhaustion_of_ramp_falls_in_its_80_interval(noise: float) -> None:
    """Over seeds, the true first crossing lies in [p10, p90] about 80% of the time."""
    inside = below = 0
    seeds = 120
    for seed in range(seeds):
        t, y, _, y_f = _ramp(seed, days=2.0, slope_per_day=4.0, noise=noise)
        limit = 10.0  # the ramp is at 8 at the origin: crossing ~12 h later
        f = forecast_series("h", "disk", t, y, DAY, limit, "growth", candidates=["linear"])
        truth = _true_crossing(np.asarray(f.timestamps), y_f[: len(f.timestamps)], limit)
        assert f.exhaustion_p10 is not None and f.exhaustion_p90 is not None
        assert f.exhaustion_p10 <= f.exhaustion_p50 <= f.exhaustion_p90  # type: ignore[operator]
        inside += f.exhaustion_p10 <= truth <= f.exhaustion_p90
        below += truth < f.exhaustion_p10
    assert 0.65 <= inside / seeds <= 0.95
    assert below / seeds <= 0.2


def test_quantile_crossing_exhaustion_without_samples() -> None:
    """Without paths, p10/p50/p90 are the crossings of upper80/point/lower80 (growth)."""
    inside = 0
    for seed in range(60):
        t, y, t_f, y_f = _ramp(seed, days=2.0, slope_per_day=4.0, noise=0.05)
        model = LinearTrend(n_paths=0)
        model.fit(t, y)
        p = model.predict(t_f)
        ex = time_to_exhaustion(t_f, p, 10.0, "growth")
        assert ex.p10 is not None and ex.p50 is not None and ex.p90 is not None
        assert ex.p10 <= ex.p50 <= ex.p90
        inside += ex.p10 <= _true_crossing(t_f, y_f, 10.0) <= ex.p90
    assert 0.65 <= inside / 60 <= 0.97


def test_drop_danger_and_out_of_horizon() -> None:
    t = STEP * np.arange(864, dtype=np.float64)
    free = 100.0 - 10.0 * t / DAY  # 10 per day: empty at day 10, 7 days after the origin
    f = forecast_series("h", "free", t, free, 8 * DAY, 0.0, "drop", candidates=["linear"])
    assert f.exhaustion_p50 == pytest.approx(10 * DAY)
    assert f.exhaustion_p10 == pytest.approx(10 * DAY)  # no noise: no uncertainty
    f = forecast_series("h", "free", t, free, DAY, 0.0, "drop", candidates=["linear"])
    assert f.exhaustion_p10 is None and f.exhaustion_p50 is None and f.exhaustion_p90 is None
    f = forecast_series("h", "free", t, free, DAY, None, "drop", candidates=["linear"])
    assert f.limit is None and f.exhaustion_p50 is None


# --- selection -------------------------------------------------------------------------


def test_selection_picks_seasonal_on_seasonal_and_linear_on_ramp() -> None:
    t, y = _seasonal(noise=0.2)
    sel = select_model(t, y, ["seasonal_naive", "linear"], horizon=24, ensemble=0)
    assert sel.model == "seasonal_naive"
    assert sel.error is not None and sel.error < sel.errors["linear"]
    t, y, _, _ = _ramp(seed=0, slope_per_day=5.0)
    sel = select_model(t, y, ["seasonal_naive", "linear"], horizon=288, ensemble=0)
    assert sel.model == "linear"


def test_selection_can_choose_a_combination() -> None:
    t, y = _seasonal(noise=0.5)
    sel = select_model(t, y, ["seasonal_naive", "linear", "ets"], horizon=24)
    assert set(sel.errors) >= {"seasonal_naive", "linear", "ets"}
    assert len(sel.errors) == 4  # plus the mean of the best two
    assert sel.error == min(sel.errors.values())


def test_selection_on_too_short_history_falls_back_unscored() -> None:
    t = HOUR * np.arange(10, dtype=np.float64)
    sel = select_model(t, np.arange(10.0), ["linear", "seasonal_naive"], horizon=24)
    assert sel.model == "linear" and sel.error is None


def test_a_history_shorter_than_two_horizons_is_backtested_on_three_origins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from foreshock.detectors.forecasters import selection

    origins: list[int] = []
    real = selection.point_forecast

    def spy(name: str, t: FloatArray, *args: object, **kw: object) -> FloatArray:
        origins.append(t.size)
        return real(name, t, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(selection, "point_forecast", spy)
    t = 300.0 * np.arange(144, dtype=np.float64)  # 12 hours of 5-minute points
    y = 0.5 * np.arange(144.0) + np.sin(np.arange(144.0))
    sel = select_model(t, y, ["linear"], horizon=288, ensemble=0)
    # the backtest horizon is (144 - 20) // 2 = 62 points, origins a third of it apart; at a
    # third of the full horizon (96) apart, only one origin fitted
    assert origins == [82, 62, 42] and sel.error is not None


def test_forecast_series_fills_the_record() -> None:
    t, y = _seasonal()
    f = forecast_series("host-1", "cpu", t, y, 6 * HOUR, 100.0, "growth", made_at=123.0)
    assert f.made_at == 123.0 and f.horizon_s == 6 * HOUR
    assert f.timestamps == [t[-1] + HOUR * k for k in range(1, 7)]
    for name in ("point", "lower80", "upper80", "lower95", "upper95"):
        assert len(getattr(f, name)) == 6
    assert f.backtest_error is not None and f.exhaustion_p90 is None


# --- contract --------------------------------------------------------------------------


@pytest.mark.parametrize("name", registry.names())
def test_irregular_timestamps_and_nans(name: str) -> None:
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 3 * DAY, 600))
    y = 5.0 + np.sin(2 * np.pi * t / DAY) + 0.2 * t / DAY + rng.normal(0.0, 0.1, t.size)
    y[rng.choice(t.size, 40, replace=False)] = np.nan
    order = rng.permutation(t.size)  # unsorted input too
    model = registry.create(name)
    model.fit(t[order], y[order])
    p = model.predict(t[-1] + np.array([100.0, 2_000.0, 3 * HOUR, DAY]))
    bounds = np.stack([p.lower95, p.lower80, p.upper80, p.upper95])
    assert np.all(np.isfinite(bounds)) and np.all(np.isfinite(p.point))
    assert np.all(np.diff(bounds, axis=0) >= -1e-9)  # nested intervals
    assert np.all((p.lower95 <= p.point) & (p.point <= p.upper95))
    assert abs(p.point[0] - y[np.isfinite(y)][-1]) < 1.0


@pytest.mark.parametrize("name", registry.names())
def test_hyperparameters_stored_unchanged_and_protocol(name: str) -> None:
    cls = registry.resolve(name)
    params = {
        k: v.default
        for k, v in inspect.signature(cls).parameters.items()
        if v.default is not inspect.Parameter.empty
    }
    model = cls(**params)
    assert isinstance(model, Forecaster)
    for k, v in params.items():
        assert getattr(model, k) == v


def test_fit_rejects_too_little_data() -> None:
    with pytest.raises(SchemaError):
        LinearTrend().fit(np.array([0.0, 1.0]), np.array([np.nan, 1.0]))


def _shifted(after: int, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Three days around 34 with a daily wave, then a drop to about 1 for ``after`` points."""
    rng = np.random.default_rng(seed)
    n = int(3 * DAY / STEP)
    t = STEP * np.arange(n + after, dtype=np.float64)
    y = 34.0 + 2.0 * np.sin(2 * np.pi * t / DAY) + rng.normal(0.0, 0.5, t.size)
    y[n:] = 1.0 + rng.normal(0.0, 0.1, after)
    return t, y


@pytest.mark.parametrize("after", [4, 40])
def test_a_recent_level_shift_forecasts_the_new_level(after: int) -> None:
    # a drop a few points before the origin: the backtest folds all lie in the old regime,
    # yet the forecast must follow the new level (naive while it is short, fitted after)
    t, y = _shifted(after)
    sel = select_model(t, y, ["seasonal_naive", "linear"], horizon=288)
    assert sel.since == t[-after]
    f = forecast_series("asg", "cpu", t, y, DAY, None, "growth", ["seasonal_naive", "linear"])
    assert np.max(np.abs(np.array(f.point) - 1.0)) < 1.0


def test_a_lone_outlier_or_short_blip_is_not_a_new_regime() -> None:
    t, y = _shifted(2)  # two points: an outlier pair, not a regime
    assert select_model(t, y, ["seasonal_naive", "linear"], horizon=288).since is None


def test_non_negative_history_is_not_forecast_below_zero() -> None:
    t = STEP * np.arange(600, dtype=np.float64)
    y = 200.0 - 0.3 * np.arange(600)  # falling: the line crosses zero 67 points ahead
    f = forecast_series("h", "conns", t, y, DAY, None, "growth", ["linear"])
    assert min(f.lower95) == 0.0 and min(f.point) == 0.0 and f.point[0] > 0.0
