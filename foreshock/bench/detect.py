"""Detection benchmark: fleet tier vs River HalfSpaceTrees, per CPU core, on one stream.

One synthetic fleet stream (``samples`` scrapes of ``series`` series: diurnal sine, noise,
a few spikes) is generated with numpy. Then, on that same stream:

- the fleet tier runs exactly as the pipeline runs it: one
  :meth:`~foreshock.pipelines.stages.detect.DetectStage.process` per scrape (a
  :class:`~foreshock.schemas.metrics.MetricBatch` of every series): series-id lookup, counter
  rates, the robust baseline, calibration and the episode decision; its bytes per series
  count every array of learned state and the series index;
- the same stage with the fleet detector's breakout gate on (``novelty=True``, what
  ``foreshock score`` and ``foreshock eval nab`` score with): row ``fleet_novelty``;
- River's ``MinMaxScaler() | HalfSpaceTrees()`` with default settings runs on the first
  ``river_series`` series, one model per series, prequentially (``score_one`` then
  ``learn_one`` per sample);
- the deep tier (:class:`~foreshock.detectors.breakout.BreakoutDetector`, ``detector:
  deep``) runs on the same ``river_series`` series, one ``update`` per scrape.

Only detection is timed (:func:`time.process_time`, CPU seconds of this process; the
work is single-threaded, so this is per core). Data generation, model construction and
progress callbacks are not timed.

Caveat: River's HST builds its trees on the first ``learn_one`` (about 20 ms per model
with default settings, the cost of several hundred samples) and scores 0 without walking
them until its first window (``window_size=250``) is full. Both are timed, as a stream
pays them, but on short runs the first dominates: with ``samples=200`` River's rate is
well below its steady state and the ratio is overstated; use ``samples >= 1000`` for
steady-state figures.

Examples
--------
>>> out = run_detect_bench(series=50, samples=20, river_series=2)
>>> sorted(out)
['deep', 'fleet', 'fleet_novelty', 'ratio', 'river_hst']
>>> out["fleet"]["series"], out["river_hst"]["series"], out["river_hst"]["samples"]
(50, 2, 20)
"""

from __future__ import annotations

import math

# dumps only, to measure a River model's size; nothing is ever loaded (bandit B403)
import pickle  # nosec B403
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from river import anomaly, compose, preprocessing

from foreshock.detectors.base import FloatArray
from foreshock.detectors.breakout import BreakoutDetector
from foreshock.detectors.fleet import RobustBaseline
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.schemas.metrics import MetricBatch

__all__ = ["run_detect_bench"]

_STEP_S = 300.0  # seconds between scrapes
_DAY_S = 86_400.0
_SPIKE_RATE = 1e-4  # planted spikes per sample
_PROGRESS_EVERY = 0.1  # report progress every 10% of a stage


def _stream(series: int, samples: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Values ``(samples, series)`` and timestamps ``(samples,)`` of a synthetic fleet."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples, dtype=np.float64) * _STEP_S
    level = rng.lognormal(mean=3.0, sigma=1.0, size=series)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=series)
    daily = np.sin(2.0 * np.pi * t[:, None] / _DAY_S + phase[None, :])
    values = level * (1.0 + 0.3 * daily + 0.05 * rng.standard_normal((samples, series)))
    n_spikes = max(3, round(_SPIKE_RATE * series * samples))
    rows = rng.integers(0, samples, size=n_spikes)
    cols = rng.integers(0, series, size=n_spikes)
    values[rows, cols] += level[cols] * rng.uniform(0.5, 2.0, size=n_spikes)
    return np.ascontiguousarray(values), t


def _stage_bytes(stage: DetectStage) -> int:
    """Learned state of the detect stage: numpy arrays plus the series-id index."""
    index = sys.getsizeof(stage._ids) + sum(sys.getsizeof(k) for k in stage._ids)
    lists = sum(sys.getsizeof(x) for x in (stage._keys, stage._counter, stage._bad, stage._role))
    return stage.state_bytes() + index + lists


def _fleet(
    values: FloatArray,
    t: FloatArray,
    every: int,
    name: str,
    progress: Callable[[str, float], None] | None,
) -> tuple[float, float]:
    """CPU seconds and bytes per series of the detect stage over the whole stream."""
    samples, series = values.shape
    detector = RobustBaseline(novelty=name == "fleet_novelty")
    stage = DetectStage(kinds={}, detector=detector)
    resources = [f"node-{i // 10}" for i in range(series)]
    metrics = [f"metric_{i % 10}" for i in range(series)]
    cpu = 0.0
    for start in range(0, samples, every):
        stop = min(start + every, samples)
        batches = [
            MetricBatch.model_construct(
                timestamp=float(t[i]),
                resources=resources,
                metrics=metrics,
                values=values[i].tolist(),
            )
            for i in range(start, stop)
        ]
        t0 = time.process_time()
        for batch in batches:
            stage.process(batch)
        cpu += time.process_time() - t0
        if progress is not None:
            progress(name, stop / samples)
    return cpu, _stage_bytes(stage) / series


def _rate(points: int, cpu_s: float) -> float:
    return points / max(cpu_s, 1e-9)


def run_detect_bench(
    series: int = 10_000,
    samples: int = 200,
    river_series: int = 20,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Samples per CPU-second and bytes of state per series, fleet tier vs River HST.

    Parameters
    ----------
    series
        Series in the synthetic fleet (all run through the fleet tier).
    samples
        Scrapes of every series.
    river_series
        Leading series run through River HST, one model each (capped at ``series``).
    seed
        Seed of the synthetic stream.
    progress
        Called as ``progress(stage, fraction_done)`` with stage ``"fleet"``,
        ``"fleet_novelty"``, ``"river_hst"`` or ``"deep"``; its own time is not measured.

    Returns
    -------
    dict
        ``{"fleet": {...}, "river_hst": {...}, "ratio": float}`` where each tier reports
        ``samples_per_s`` (per CPU core), ``bytes_per_series``, ``series`` and
        ``samples``, and ``ratio`` is fleet over River samples per second.
    """
    if series < 1 or samples < 1 or river_series < 1:
        raise ValueError("series, samples and river_series must all be at least 1")
    river_n = min(river_series, series)
    values, t = _stream(series, samples, seed)
    every = max(1, math.ceil(samples * _PROGRESS_EVERY))

    # -- fleet tier: every series through the real detect stage, one batch per scrape -----
    fleet_cpu, fleet_bytes = _fleet(values, t, every, "fleet", progress)
    novelty_cpu, novelty_bytes = _fleet(values, t, every, "fleet_novelty", progress)

    # -- River tier: default HST, one model per series, prequential -----------------------
    rows: list[list[float]] = values[:, :river_n].tolist()
    models = [
        compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees())
        for _ in range(river_n)
    ]
    river_cpu = 0.0
    for start in range(0, samples, every):
        stop = min(start + every, samples)
        t0 = time.process_time()
        for row in rows[start:stop]:
            for model, v in zip(models, row, strict=True):
                x = {"value": v}
                model.score_one(x)
                model.learn_one(x)
        river_cpu += time.process_time() - t0
        if progress is not None:
            progress("river_hst", stop / samples)
    river_bytes = sum(len(pickle.dumps(m)) for m in models) / river_n

    # -- deep tier: the breakout detector on the same series, one update per scrape --------
    deep = BreakoutDetector()
    ids = np.arange(river_n, dtype=np.int64)
    deep_values = np.ascontiguousarray(values[:, :river_n])
    deep_cpu = 0.0
    for start in range(0, samples, every):
        stop = min(start + every, samples)
        t0 = time.process_time()
        for i in range(start, stop):
            deep.update(ids, deep_values[i], float(t[i]))
        deep_cpu += time.process_time() - t0
        if progress is not None:
            progress("deep", stop / samples)

    fleet_sps = _rate(series * samples, fleet_cpu)
    river_sps = _rate(river_n * samples, river_cpu)
    return {
        "fleet": {
            "samples_per_s": fleet_sps,
            "bytes_per_series": float(fleet_bytes),
            "series": series,
            "samples": samples,
        },
        "fleet_novelty": {
            "samples_per_s": _rate(series * samples, novelty_cpu),
            "bytes_per_series": float(novelty_bytes),
            "series": series,
            "samples": samples,
        },
        "river_hst": {
            "samples_per_s": river_sps,
            "bytes_per_series": float(river_bytes),
            "series": river_n,
            "samples": samples,
        },
        "deep": {
            "samples_per_s": _rate(river_n * samples, deep_cpu),
            "bytes_per_series": float(deep.state_bytes() / river_n),
            "series": river_n,
            "samples": samples,
        },
        "ratio": fleet_sps / river_sps,
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run_detect_bench(), indent=2))
