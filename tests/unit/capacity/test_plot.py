"""Forecast pictures: readable PNGs, terminal charts of the asked size, readable numbers."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from foreshock.capacity.demo import DEMO_MADE_AT, demo_forecasts
from foreshock.capacity.plot import (
    exhaustion_label,
    fleet_runway_plot,
    format_bytes,
    format_duration,
    guess_unit,
    plot_forecast,
    runway_table,
    terminal_chart,
)
from foreshock.schemas.forecast import Forecast

GiB = 2**30
DAY = 86400.0


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


@pytest.fixture(scope="module")
def demo() -> tuple[list[Forecast], dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]]:
    return demo_forecasts(seed=1)


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


def test_runway_table_lists_soonest_exhaustion_first(demo: tuple) -> None:
    forecasts, _ = demo
    rows = runway_table(list(reversed(forecasts))).splitlines()[2:]
    resources = [row.split(" | ")[0].strip("| ") for row in rows]
    assert resources == ["db-1", "redis-cache", "mysql-orders", "pg-main"]
    assert "500 GiB" in rows[0] and "> 7 d" in rows[-1]


@pytest.mark.parametrize(("width", "height"), [(60, 12), (40, 8), (100, 20), (14, 2)])
def test_terminal_chart_has_the_requested_size(width: int, height: int, demo: tuple) -> None:
    forecasts, series = demo
    disk = forecasts[0]
    chart = terminal_chart(series[disk.resource, disk.metric][1], disk, width, height)
    lines = chart.split("\n")
    assert len(lines) == height
    assert all(len(line) == width for line in lines)


def test_terminal_chart_draws_the_limit_line_between_history_and_forecast(demo: tuple) -> None:
    forecasts, series = demo
    disk = forecasts[0]  # grows past its 500 GiB limit within the horizon
    chart = terminal_chart(series[disk.resource, disk.metric][1], disk, unit="bytes")
    lines = chart.split("\n")
    limit_rows = [i for i, line in enumerate(lines) if "─" * 10 in line]
    assert len(limit_rows) == 1
    row = limit_rows[0]
    assert lines[row].lstrip().startswith("500 GiB ┤")
    assert lines[row].endswith("limit")
    assert 0 < row < len(lines) - 1  # history below the limit, forecast above it
    assert any("\u2800" < ch <= "\u28ff" for ch in chart)  # braille dots
    assert "░" in chart and "┊" in chart


def test_terminal_chart_without_a_limit_has_no_limit_line() -> None:
    f = Forecast(
        resource="r",
        metric="m",
        made_at=0.0,
        model="m",
        horizon_s=2.0,
        timestamps=[1.0, 2.0],
        point=[3.0, 4.0],
    )
    chart = terminal_chart([1.0, 2.0], f, 30, 5)
    assert "─" not in chart and "limit" not in chart
    with pytest.raises(ValueError, match="width"):
        terminal_chart([1.0], f, 5, 5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (10 * 2**20, "10 MiB"),
        (186.3 * GiB, "186 GiB"),
        (1.25 * 2**40, "1.25 TiB"),
        (-2 * GiB, "-2 GiB"),
    ],
)
def test_bytes_are_human_readable(value: float, text: str) -> None:
    assert format_bytes(value) == text


def test_durations_and_exhaustion_read_naturally() -> None:
    assert [format_duration(s) for s in (300, 7200, 3.2 * DAY)] == ["5 min", "2 h", "3.2 d"]
    f = Forecast(
        resource="r",
        metric="m",
        made_at=1000.0,
        model="m",
        horizon_s=7 * DAY,
        exhaustion_p10=1000 + 2.5 * DAY,
        exhaustion_p50=1000 + 3.2 * DAY,
        exhaustion_p90=1000 + 4.1 * DAY,
    )
    assert exhaustion_label(f) == "exhausts in 3.2 d (80%: 2.5–4.1 d)"
    past = f.model_copy(update={"exhaustion_p50": 10.0})
    assert exhaustion_label(past) == "at or past the limit now"
    assert guess_unit("redis_memory_used_bytes") == "bytes"
    assert guess_unit("mysql_global_status_threads_connected") is None
