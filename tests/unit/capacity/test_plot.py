"""Forecast pictures: readable PNGs of one series and of the fleet's runway."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from foreshock.capacity.demo import DEMO_MADE_AT
from foreshock.capacity.plot import fleet_runway_plot, plot_forecast
from foreshock.schemas.forecast import Forecast


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def assert_large_png(path: Path) -> None:
    width, height = png_size(path)
    assert width >= 800 and height >= 500, (width, height)


def red_pixels(path: Path) -> int:
    """Pixels of the limit/exhaustion red (#c0392b)."""
    rgb = imread(path)[..., :3]
    target = np.array([0xC0, 0x39, 0x2B]) / 255
    return int(np.sum(np.all(np.abs(rgb - target) < 0.06, axis=-1)))


def test_forecast_png_is_a_large_valid_png(tmp_path: Path, demo: tuple) -> None:
    forecasts, series = demo
    disk = forecasts[0]
    t, y = series[disk.resource, disk.metric]
    path = plot_forecast(t, y, disk, tmp_path / "sub" / "disk.png", unit="bytes")
    assert path == tmp_path / "sub" / "disk.png"
    assert_large_png(path)
    assert path.stat().st_size > 20_000  # a real picture, not an empty canvas


def test_the_limit_and_exhaustion_are_drawn(tmp_path: Path, demo: tuple) -> None:
    forecasts, series = demo
    disk = forecasts[0]
    t, y = series[disk.resource, disk.metric]
    bare = disk.model_copy(
        update={
            "limit": None,
            "exhaustion_p10": None,
            "exhaustion_p50": None,
            "exhaustion_p90": None,
        }
    )
    with_limit = plot_forecast(t, y, disk, tmp_path / "a.png", unit="bytes")
    without = plot_forecast(t, y, bare, tmp_path / "b.png", unit="bytes")
    assert red_pixels(with_limit) > red_pixels(without) + 1000


def test_sparse_forecasts_still_plot(tmp_path: Path) -> None:
    """No history, no intervals, no limit, no exhaustion: still a picture, no crash."""
    f = Forecast(
        resource="r",
        metric="m",
        made_at=DEMO_MADE_AT,
        model="naive",
        horizon_s=3600,
        timestamps=[DEMO_MADE_AT + 1800, DEMO_MADE_AT + 3600],
        point=[1.0, 2.0],
    )
    assert_large_png(plot_forecast([], [], f, tmp_path / "x.png"))
    empty = Forecast(resource="r", metric="m", made_at=0.0, model="naive", horizon_s=60.0)
    assert_large_png(plot_forecast([], [], empty, tmp_path / "y.png", unit="bytes"))


def test_fleet_runway_png(tmp_path: Path, demo: tuple) -> None:
    forecasts, _ = demo
    assert_large_png(fleet_runway_plot(forecasts, tmp_path / "fleet.png"))
    assert_large_png(fleet_runway_plot([], tmp_path / "none.png"))
