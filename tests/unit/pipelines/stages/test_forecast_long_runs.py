"""The forecast stage on long runs: a refit costs the same after a week as after two days.

Issue 10. What a refit costs is set by the points it is given (the backtest fits every
candidate on the points before each origin) and by how often it runs: the history is two
days of 5-minute means (576 points) however long the run, a refit fits at most
``fit_points`` (144) of them (blocks of 2-4 once the history is longer than 12 hours),
and each series is refitted every ``refit_every`` seconds of event time. The backtest
scores point forecasts only, so it does not compute the intervals and sample paths that
only the final fit needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from foreshock.detectors.forecasters import selection
from foreshock.detectors.forecasters.grid import coarsen
from foreshock.detectors.forecasters.regime import recent_shift
from foreshock.pipelines.stages.forecast import ForecastStage
from foreshock.schemas.metrics import MetricBatch

DISK = 'node_filesystem_avail_bytes{mountpoint="/"}'


def test_refits_get_two_days_of_history_fit_144_points_on_their_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[float, int, float, int]] = []

    def record(resource: str, metric: str, t: Any, y: Any, *args: Any, **kw: Any) -> None:
        seen.append((float(kw["made_at"]), int(t.size), float(t[-1] - t[0]), kw["fit_points"]))

    monkeypatch.setattr(selection, "forecast_series", record)
    stage = ForecastStage({"host-1": "host"})
    for k in range(7 * 1440):  # a week of one-minute scrapes
        t = 60.0 * k
        stage.process(MetricBatch(timestamp=t, resources=["host-1"], metrics=[DISK], values=[1e9]))
        list(stage.tick(t))
    made = [m for m, _, _, _ in seen]
    assert len(seen) == 7 * 96 - 8  # every 15 minutes once 24 points (two hours) are in
    assert set(np.diff(made)) == {900.0}
    assert max(n for _, n, _, _ in seen) == 576  # two days of 5-minute means
    assert all(n == 576 for m, n, _, _ in seen if m >= 2 * 86_400.0 + 300.0)
    assert max(span for _, _, span, _ in seen) <= 2 * 86_400.0
    assert {f for _, _, _, f in seen} == {144}  # of which the models fit 144 at most


def test_a_refit_fits_144_points_of_a_long_history_and_still_sees_a_shift_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted: list[int] = []
    real = selection.point_forecast

    def spy(name: str, t: Any, *args: Any, **kw: Any) -> Any:
        fitted.append(int(t.size))
        return real(name, t, *args, **kw)

    monkeypatch.setattr(selection, "point_forecast", spy)
    t = 300.0 * np.arange(576)  # two days of 5-minute means
    rng = np.random.default_rng(3)
    y = 34.0 + rng.normal(0.0, 0.3, t.size)
    sel = selection.select_model(t, y, ["linear", "ets"], horizon=288, fit_points=144)
    assert fitted and max(fitted) <= 144 and sel.since is None
    # a drop 20 minutes ago (4 points, one 20-minute block): the shift check reads the
    # 5-minute points, so the forecast follows the new level at once
    y[-4:] = 1.0 + rng.normal(0.0, 0.05, 4)
    fc = selection.forecast_series("r", "m", t, y, 86_400.0, None, "growth", fit_points=144)
    assert fc.timestamps[1] - fc.timestamps[0] == 300.0  # the grid keeps the 5-minute step
    assert max(abs(p - 1.0) for p in fc.point) < 1.0
    coarse_only = selection.forecast_series("r", "m", *coarsen(t, y, 144), 86_400.0, None, "growth")
    assert max(abs(p - 1.0) for p in coarse_only.point) > 5.0  # blocks alone would miss it


def _shift_by_loop(y: Any, reference: int, min_run: int = 3, k: float = 8.0) -> int | None:
    """:func:`recent_shift` as it was written first, one run length after another."""
    n = int(y.size)
    for run in range(min(reference // 3, n - reference), min_run - 1, -1):
        base = y[n - run - reference : n - run]
        med = float(np.median(base))
        steps = np.abs(np.diff(base))
        steps = steps[steps > 0]
        scale = max(
            1.4826 * float(np.median(np.abs(base - med))),
            float(steps.min()) if steps.size else 0.0,
            1e-6 * max(abs(med), 1.0),
        )
        z = (y[n - run :] - med) / scale
        if bool(np.all(z > k)) or bool(np.all(z < -k)):
            return n - run
    return None


def test_the_vectorised_level_shift_search_finds_exactly_what_the_loop_found() -> None:
    rng = np.random.default_rng(7)
    found = 0
    for trial in range(400):
        n = int(rng.integers(290, 600))
        y = 100.0 + rng.normal(size=n) * (0.0 if trial % 7 == 0 else 1.0)
        if trial % 3 == 0:
            y = np.round(y)  # an integer gauge
        if trial % 2 == 0:  # a jump somewhere in the last hundred points
            y[n - int(rng.integers(1, 100)) :] += float(rng.choice([-50.0, 3.0, 50.0]))
        expected = _shift_by_loop(y, 288)
        found += expected is not None
        assert recent_shift(y, reference=288) == expected
    assert found > 50


def test_the_backtest_point_forecasts_equal_the_full_predictions() -> None:
    rng = np.random.default_rng(3)
    t = 300.0 * np.arange(576)
    y = 50.0 + 0.01 * np.arange(576) + 5.0 * np.sin(2 * np.pi * t / 86_400.0)
    y += rng.normal(0.0, 0.5, t.size)
    future = t[-1] + 300.0 * np.arange(1, 289)
    for name in ("seasonal_naive", "linear", "ets", "linear+ets"):
        fast = selection.point_forecast(name, t, y, future)
        assert np.array_equal(fast, selection.fit_predict(name, t, y, future).point), name
