"""The detection benchmark runs end to end and reports well-formed numbers (no timings)."""

from __future__ import annotations

import math

import pytest

from foreshock.bench.detect import run_detect_bench


def test_tiny_bench_reports_every_tier() -> None:
    calls: list[tuple[str, float]] = []
    out = run_detect_bench(
        series=200, samples=50, river_series=2, seed=1, progress=lambda s, f: calls.append((s, f))
    )
    assert set(out) == {"fleet", "fleet_novelty", "river_hst", "deep", "ratio"}
    keys = {"samples_per_s", "bytes_per_series", "series", "samples"}
    assert set(out["fleet"]) == keys
    assert set(out["fleet_novelty"]) == keys
    assert set(out["river_hst"]) == keys
    assert set(out["deep"]) == keys
    assert (out["fleet"]["series"], out["fleet"]["samples"]) == (200, 50)
    assert (out["river_hst"]["series"], out["river_hst"]["samples"]) == (2, 50)
    assert (out["deep"]["series"], out["deep"]["samples"]) == (2, 50)
    for tier in ("fleet", "fleet_novelty", "river_hst", "deep"):
        for key in ("samples_per_s", "bytes_per_series"):
            value = out[tier][key]
            assert isinstance(value, float)
            assert math.isfinite(value)
            assert value > 0.0
    assert math.isfinite(out["ratio"]) and out["ratio"] > 0.0
    assert out["ratio"] == pytest.approx(
        out["fleet"]["samples_per_s"] / out["river_hst"]["samples_per_s"]
    )
    # the fleet tier keeps a few dozen floats per series; a fitted River model far more
    assert out["fleet"]["bytes_per_series"] < 1024
    assert out["fleet_novelty"]["bytes_per_series"] < 1024  # the envelope: two floats more
    assert out["river_hst"]["bytes_per_series"] > out["fleet"]["bytes_per_series"]
    # progress reaches the end of each stage, in order
    assert calls[-1] == ("deep", 1.0)
    assert ("fleet", 1.0) in calls
    assert calls.index(("fleet", 1.0)) < calls.index(("fleet_novelty", 1.0))
    assert calls.index(("fleet_novelty", 1.0)) < calls.index(("river_hst", 1.0)) < len(calls) - 1


def test_river_series_is_capped_at_series() -> None:
    out = run_detect_bench(series=3, samples=5, river_series=10)
    assert out["river_hst"]["series"] == 3


def test_invalid_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        run_detect_bench(series=0, samples=5, river_series=1)
