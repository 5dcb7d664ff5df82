"""Forecast evaluation on a tiny generated NAB-style corpus."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import foreshock.evaluate.forecast_nab as forecast_nab
from foreshock.detectors.forecasters.selection import Selection
from foreshock.evaluate.forecast_nab import SELECTION, evaluate_forecasts

STEP = 3600.0
N = 24 * 10  # ten days of hourly points
H = 24


def _write(d: Path, name: str, values: np.ndarray) -> None:
    rows = "".join(
        f"{datetime.fromtimestamp(1.6e9 + STEP * i, UTC):%Y-%m-%d %H:%M:%S},{v}\n"
        for i, v in enumerate(values)
    )
    (d / "data" / name).write_text("timestamp,value\n" + rows)


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "data" / "cat").mkdir(parents=True)
    (tmp_path / "data" / "other").mkdir(parents=True)
    (tmp_path / "labels").mkdir()
    rng = np.random.default_rng(0)
    i = np.arange(N)
    _write(
        tmp_path, "cat/seasonal.csv", 10 + 3 * np.sin(2 * np.pi * i / 24) + rng.normal(0, 0.2, N)
    )
    _write(tmp_path, "cat/ramp.csv", 0.5 * i + rng.normal(0, 0.5, N))
    _write(tmp_path, "other/x.csv", rng.normal(0, 1, N))
    labels = {"cat/seasonal.csv": [], "cat/ramp.csv": [], "other/x.csv": []}
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return tmp_path


def test_scores_each_model_and_the_selection(corpus: Path) -> None:
    done: list[tuple[int, int]] = []
    r = evaluate_forecasts(
        corpus,
        "cat",
        ["seasonal_naive", "linear"],
        horizon_points=H,
        origins=3,
        progress=lambda i, n: done.append((i, n)),
    )
    assert r.n_series == 2 and done[-1] == (2, 2)  # only the category's files
    assert r.methods == ["seasonal_naive", "linear", SELECTION]
    seasonal = r.per_series["cat/seasonal.csv"]
    ramp = r.per_series["cat/ramp.csv"]
    assert seasonal["seasonal_naive"]["mase"] < 0.5 * seasonal["linear"]["mase"]
    assert ramp["linear"]["mase"] < 0.5 * ramp["seasonal_naive"]["mase"]
    # the selection finds the right model on both, so it beats each single model
    assert r.choices["cat/seasonal.csv"][0].startswith("seasonal_naive")
    assert r.choices["cat/ramp.csv"] == ["linear"] * 3
    s = r.summary
    assert s[SELECTION]["mase_mean"] < min(s[m]["mase_mean"] for m in r.methods[:-1])
    assert math.isclose(
        s["linear"]["mase_mean"], (seasonal["linear"]["mase"] + ramp["linear"]["mase"]) / 2
    )


def test_selection_sees_only_data_before_the_origin(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[float, int]] = []
    real = forecast_nab.select_model

    def spy(t: np.ndarray, y: np.ndarray, *args: Any, **kwargs: Any) -> Selection:
        seen.append((float(np.max(t)), len(t)))
        return real(t, y, *args, **kwargs)

    monkeypatch.setattr(forecast_nab, "select_model", spy)
    evaluate_forecasts(corpus, "cat", ["seasonal_naive", "linear"], horizon_points=H, origins=2)
    last = 1.6e9 + STEP * (N - 1)
    assert sorted(n for _, n in seen) == [N - 2 * H, N - 2 * H, N - H, N - H]
    assert all(t_max <= last - H * STEP for t_max, _ in seen)


def test_history_and_fit_points_cut_what_is_trained_on_as_the_stage_does(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[tuple[int, float]] = []
    selected: list[tuple[int, int, int | None]] = []
    real_fit, real_select = forecast_nab.fit_predict, forecast_nab.select_model

    def fit_spy(name: str, t: np.ndarray, *a: Any, **kw: Any) -> Any:
        fitted.append((len(t), float(np.median(np.diff(t)))))
        return real_fit(name, t, *a, **kw)

    def select_spy(t: np.ndarray, y: np.ndarray, c: Any, h: int, *a: Any, **kw: Any) -> Any:
        selected.append((len(t), h, kw.get("fit_points")))
        return real_select(t, y, c, h, *a, **kw)

    monkeypatch.setattr(forecast_nab, "fit_predict", fit_spy)
    monkeypatch.setattr(forecast_nab, "select_model", select_spy)
    names = ["seasonal_naive", "linear"]
    r = evaluate_forecasts(corpus, "cat", names, H, origins=2, history_points=96)
    assert set(fitted) == {(96, STEP)} and set(selected) == {(96, H, None)}
    fitted.clear()
    selected.clear()
    coarse = evaluate_forecasts(corpus, "cat", names, H, 2, history_points=96, fit_points=48)
    # the models fit 48 two-hour blocks; the selection gets the 96 points and coarsens
    # them itself (its level-shift check sees every point)
    assert set(fitted) == {(48, 2 * STEP)} and set(selected) == {(96, H, 48)}
    # the ramp is as easy from two-hour blocks: still linear, still far better than naive
    assert coarse.choices["cat/ramp.csv"] == ["linear"] * 2 == r.choices["cat/ramp.csv"]
    ramp = coarse.per_series["cat/ramp.csv"]
    assert ramp["linear"]["mase"] < 0.5 * ramp["seasonal_naive"]["mase"]


def test_reports(corpus: Path) -> None:
    r = evaluate_forecasts(corpus, "cat", ["seasonal_naive", "linear"], horizon_points=H)
    d = r.to_dict()
    json.dumps(d)
    assert d["n_series"] == 2 and set(d["summary"]) == set(r.methods)
    console = Console(record=True, width=120)
    console.print(r.to_table())
    text = console.export_text()
    assert "selection" in text and "MASE mean" in text


def test_short_files_are_skipped(corpus: Path) -> None:
    r = evaluate_forecasts(corpus, "cat", ["linear"], horizon_points=N, origins=1)
    assert (
        r.n_series == 0 and r.summary["linear"]["mase_mean"] != r.summary["linear"]["mase_mean"]
    )  # NaN: nothing scored
