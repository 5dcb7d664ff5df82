"""Forecast accuracy on NAB series: each model vs the per-series selection.

For every file of one category, the last ``origins`` origins (one horizon apart) cut the
series; each candidate is fitted on the data before the origin and forecasts the next
``horizon_points`` points (one day at 5 minutes), scored by MASE (scale: in-sample
seasonal-naive MAE of the training part) and sMAPE. With ``history_points`` only that
many points before each origin are the training part (the forecast stage keeps two days),
and with ``fit_points`` the models fit at most that many of them, as the stage does
(:func:`~foreshock.detectors.forecasters.grid.coarsen`); the scale stays that of the
training part at its own step, so the scores compare. The **selection** is decided only on
the data before each origin, by :func:`~foreshock.detectors.forecasters.selection.select_model`'s
own rolling-origin backtest inside that training part, and scored the same way. Scores
are averaged over the origins of a file, then the mean and median over files are
reported. NAB's anomaly labels are not used.

Examples
--------
>>> import json, tempfile
>>> import numpy as np
>>> d = Path(tempfile.mkdtemp())
>>> (d / "data" / "cat").mkdir(parents=True)
>>> (d / "labels").mkdir()
>>> rows = "".join(f"2020-01-01 {i // 60:02d}:{i % 60:02d}:00,{i % 7}\\n" for i in range(600))
>>> _ = (d / "data" / "cat" / "f.csv").write_text("timestamp,value\\n" + rows)
>>> _ = (d / "labels" / "combined_windows.json").write_text(json.dumps({"cat/f.csv": []}))
>>> r = evaluate_forecasts(d, "cat", ["seasonal_naive", "linear"], horizon_points=24,
...                        origins=2)
>>> r.methods
['seasonal_naive', 'linear', 'selection']
>>> r.n_series, sorted(r.summary["selection"])
(1, ['mase_mean', 'mase_median', 'smape_mean', 'smape_median'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from foreshock.detectors.forecasters.base import FloatArray
from foreshock.detectors.forecasters.grid import coarsen
from foreshock.detectors.forecasters.selection import (
    MIN_TRAIN_POINTS,
    fit_predict,
    mase,
    mase_scale,
    predict_selection,
    select_model,
    smape,
)
from foreshock.evaluate.nab import load_corpus

__all__ = ["ALL_CANDIDATES", "SELECTION", "ForecastEvalResult", "evaluate_forecasts"]

ALL_CANDIDATES: tuple[str, ...] = ("seasonal_naive", "linear", "ets", "arima", "prophet")
SELECTION = "selection"
_METRICS = ("mase", "smape")


@dataclass
class ForecastEvalResult:
    """Scores per file and method, their mean/median over files, and the choices made.

    ``per_series[file][method]`` holds ``{"mase": ..., "smape": ...}`` averaged over the
    origins; ``summary[method]`` the ``mase_mean``, ``mase_median``, ``smape_mean`` and
    ``smape_median`` over files; ``choices[file]`` the selected model at each origin.
    """

    category: str
    horizon_points: int
    origins: int
    methods: list[str]
    per_series: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_series(self) -> int:
        """Files scored."""
        return len(self.per_series)

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and median of each metric over files, per method."""
        out: dict[str, dict[str, float]] = {}
        for method in self.methods:
            row: dict[str, float] = {}
            for metric in _METRICS:
                vals = np.array([s[method][metric] for s in self.per_series.values()])
                vals = vals[np.isfinite(vals)]
                row[f"{metric}_mean"] = float(np.mean(vals)) if vals.size else float("nan")
                row[f"{metric}_median"] = float(np.median(vals)) if vals.size else float("nan")
            out[method] = row
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data, with the summary."""
        return {**asdict(self), "summary": self.summary, "n_series": self.n_series}

    def to_table(self) -> Table:
        """A rich table: one row per method, mean and median MASE and sMAPE."""
        table = Table(
            title=(
                f"Forecasts — NAB {self.category} ({self.n_series} series, "
                f"{self.origins} origins, horizon {self.horizon_points} points)"
            )
        )
        for name in ("method", "MASE mean", "MASE median", "sMAPE mean", "sMAPE median"):
            table.add_column(name, justify="left" if name == "method" else "right")
        for method, row in self.summary.items():
            table.add_row(
                method,
                f"{row['mase_mean']:.3f}",
                f"{row['mase_median']:.3f}",
                f"{row['smape_mean']:.1f}",
                f"{row['smape_median']:.1f}",
            )
        return table


def evaluate_forecasts(
    data_dir: Path,
    category: str = "realAWSCloudwatch",
    candidates: Sequence[str] = ALL_CANDIDATES,
    horizon_points: int = 288,
    origins: int = 3,
    progress: Callable[[int, int], None] | None = None,
    folds: int = 3,
    spacing: int | None = None,
    ensemble: int = 2,
    always_combine: bool = False,
    history_points: int | None = None,
    fit_points: int | None = None,
) -> ForecastEvalResult:
    """Rolling-origin accuracy of each candidate and of the selection on one category.

    Parameters
    ----------
    data_dir
        A NAB corpus (see :func:`foreshock.evaluate.nab.load_corpus`).
    category
        The folder of ``data/`` whose files are scored.
    candidates
        The models scored, and the ones the selection chooses from.
    horizon_points
        Points forecast after each origin (288: one day at 5 minutes).
    origins
        Origins per file, the latest ones, one horizon apart.
    progress
        Called as ``progress(files_done, files_total)``.
    folds, spacing, ensemble, always_combine
        Passed to :func:`~foreshock.detectors.forecasters.selection.select_model`.
    history_points
        Points before each origin that are trained on (``None``: all of them).
    fit_points
        At most this many points are fitted: coarser means of the training part
        (``None``: every point).
    """
    files = [f for f in load_corpus(data_dir) if f.name.startswith(category.rstrip("/") + "/")]
    result = ForecastEvalResult(category, horizon_points, origins, [*candidates, SELECTION])
    for i, f in enumerate(files):
        t = np.asarray(f.timestamps, dtype=np.float64)
        y = np.asarray(f.values, dtype=np.float64)
        scores, choices = _score_file(
            t,
            y,
            candidates,
            horizon_points,
            origins,
            (folds, spacing, ensemble, always_combine),
            (history_points, fit_points),
        )
        if scores:
            result.per_series[f.name] = scores
            result.choices[f.name] = choices
        if progress is not None:
            progress(i + 1, len(files))
    return result


def _score_file(
    t: FloatArray,
    y: FloatArray,
    candidates: Sequence[str],
    horizon: int,
    origins: int,
    selection: tuple[int, int | None, int, bool],
    window: tuple[int | None, int | None] = (None, None),
) -> tuple[dict[str, dict[str, float]], list[str]]:
    per: dict[str, dict[str, list[float]]] = {
        m: {k: [] for k in _METRICS} for m in [*candidates, SELECTION]
    }
    choices: list[str] = []
    for k in range(origins):
        o = t.size - horizon * (k + 1)
        if o < MIN_TRAIN_POINTS:
            break
        tt, yy, t_test, actual = t[:o], y[:o], t[o : o + horizon], y[o : o + horizon]
        history, fit = window
        if history is not None:
            tt, yy = tt[-history:], yy[-history:]
        scale = mase_scale(tt, yy)
        # with ``fit``, the same day is forecast from fewer, coarser points
        ft, fy = (tt, yy) if fit is None else coarsen(tt, yy, fit)
        points: dict[str, FloatArray] = {}
        for name in candidates:
            points[name] = fit_predict(name, ft, fy, t_test).point
        folds, spacing, ensemble, always = selection
        sel = select_model(
            tt,
            yy,
            candidates,
            horizon,
            folds,
            spacing,
            ensemble,
            always_combine=always,
            fit_points=fit,
        )
        if sel.since is None:  # the members' forecasts are the ones just scored
            points[SELECTION] = np.mean([points[m] for m in sel.members], axis=0)
        else:  # a recent level shift: the selection fits the new regime only
            points[SELECTION] = predict_selection(sel, tt, yy, t_test, fit_points=fit).point
        choices.append(sel.model)
        for name, pred in points.items():
            per[name]["mase"].append(mase(actual, pred, scale))
            per[name]["smape"].append(smape(actual, pred))
    if not choices:
        return {}, []
    return {m: {k: float(np.mean(v)) for k, v in d.items()} for m, d in per.items()}, choices
