"""Terminal charts: the asked size, the limit line, history and forecast."""

from __future__ import annotations

import pytest

from foreshock.capacity.chart import terminal_chart
from foreshock.schemas.forecast import Forecast


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
