"""A capacity forecast as a plain unicode text chart, for the terminal.

History and forecast as braille dots, ``░`` for the forecast's 80% band, ``─`` for the
limit and ``┊`` where the forecast starts (:func:`terminal_chart`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from foreshock.capacity.units import byte_scale, format_bytes
from foreshock.schemas.forecast import Forecast

__all__ = ["terminal_chart"]

# Braille dot bits by (column, row) inside one character cell of 2×4 dots.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_GUTTER = 10


def terminal_chart(
    history_y: ArrayLike,
    forecast: Forecast,
    width: int = 60,
    height: int = 12,
    *,
    unit: str | None = None,
) -> str:
    """A plain-text chart of history, forecast and limit: ``height`` lines of ``width`` chars.

    The left 10 columns label the top, bottom and limit values; the rest is the plot, with
    history and forecast as braille dots, the forecast's 80% band as ``░``, the limit as a
    ``─`` line and ``┊`` where the forecast starts. History fills the left 60% of the plot
    (its samples evenly spaced), the forecast the rest.

    Examples
    --------
    >>> f = Forecast(resource="r", metric="m", made_at=0.0, model="linear", horizon_s=3.0,
    ...              timestamps=[1.0, 2.0, 3.0], point=[6.0, 7.0, 8.0],
    ...              lower80=[5.5, 6.0, 6.5], upper80=[6.5, 8.0, 9.5], limit=10.0)
    >>> chart = terminal_chart([1.0, 2.0, 3.0, 4.0, 5.0], f, width=30, height=6)
    >>> [len(line) for line in chart.splitlines()]
    [30, 30, 30, 30, 30, 30]
    >>> print(chart)  # doctest: +NORMALIZE_WHITESPACE
        10.0 ┤───────────────limit
             │            ┊░░░⢀⣀⠤⠒
             │            ⠤⠒⠊⠁⠁░░░
             │        ⢀⡀⠤⠒┊
             │    ⣀⠄⠔⠊⠁   ┊
         1.0 ┤⡠⠔⠐⠉        ┊
    """
    if width < _GUTTER + 4 or height < 2:
        raise ValueError(f"terminal chart needs width ≥ {_GUTTER + 4} and height ≥ 2")
    hist = np.asarray(history_y, dtype=np.float64)
    point = np.asarray(forecast.point, dtype=np.float64)
    low80 = np.asarray(forecast.lower80, dtype=np.float64)
    high80 = np.asarray(forecast.upper80, dtype=np.float64)
    limit = forecast.limit
    parts = [hist, point, low80, high80, np.asarray([] if limit is None else [limit])]
    finite = np.concatenate([v[np.isfinite(v)] for v in parts])
    bottom, top = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if top == bottom:
        bottom, top = bottom - 1.0, top + 1.0
    cols, rows = width - _GUTTER, height
    split = round(cols * 0.6) if hist.size and point.size else (cols if hist.size else 0)

    def row_of(value: float) -> float:  # 0 at the top dot row, 4*rows-1 at the bottom
        return (top - value) / (top - bottom) * (4 * rows - 1)

    dots = np.zeros((rows, cols), dtype=np.int64)
    band = np.zeros((rows, cols), dtype=bool)
    _draw(dots, _spread(hist, 0, 2 * split - 1), hist, row_of)
    if point.size:
        xs = _spread(point, 2 * split, 2 * cols - 1)
        _draw(dots, xs, point, row_of)
        if low80.size == point.size and high80.size == point.size:
            for c in range(int(xs[0]) // 2, int(xs[-1]) // 2 + 1):
                x = min(max(2 * c + 0.5, xs[0]), xs[-1])
                lo, hi = np.interp(x, xs, low80), np.interp(x, xs, high80)
                if np.isfinite(lo) and np.isfinite(hi):
                    first, last = int(row_of(hi)) // 4, int(row_of(lo)) // 4
                    band[max(first, 0) : min(last, rows - 1) + 1, c] = True
    limit_row = None if limit is None else min(max(int(row_of(limit)) // 4, 0), rows - 1)

    grid = [[" "] * cols for _ in range(rows)]
    for r in range(rows):
        for c in range(cols):
            if dots[r, c]:
                grid[r][c] = chr(0x2800 + int(dots[r, c]))
            elif r == limit_row:
                grid[r][c] = "─"
            elif band[r, c]:
                grid[r][c] = "░"
            elif 0 < split == c and point.size:
                grid[r][c] = "┊"
    if limit_row is not None and "".join(grid[limit_row][-5:]) == "─" * 5:
        grid[limit_row][-5:] = list("limit")

    labels = {0: top, rows - 1: bottom}
    if limit is not None and limit_row is not None:
        labels[limit_row] = limit
    lines = []
    for r in range(rows):
        gutter = f"{_short(labels[r], unit):>8} ┤" if r in labels else " " * 9 + "│"
        lines.append(gutter + "".join(grid[r]))
    return "\n".join(lines)


def _spread(values: NDArray[np.float64], first: int, last: int) -> NDArray[np.float64]:
    """Dot columns of ``values`` spread evenly from ``first`` to ``last``."""
    if values.size <= 1:
        return np.full(values.size, float(first))
    return np.linspace(first, last, values.size)


def _draw(
    dots: NDArray[np.int64],
    xs: NDArray[np.float64],
    ys: NDArray[np.float64],
    row_of: Callable[[float], float],
) -> None:
    """Set the braille dots of the polyline through ``(xs, ys)``, skipping non-finite ys."""
    rows, cols = dots.shape
    prev: tuple[float, float] | None = None
    for x, y in zip(xs, ys, strict=True):
        if not np.isfinite(y):
            prev = None
            continue
        here = (float(x), row_of(float(y)))
        start = prev or here
        steps = max(int(max(abs(here[0] - start[0]), abs(here[1] - start[1]))), 1)
        for k in range(steps + 1):
            px = round(start[0] + (here[0] - start[0]) * k / steps)
            py = round(start[1] + (here[1] - start[1]) * k / steps)
            if 0 <= px < 2 * cols and 0 <= py < 4 * rows:
                dots[py // 4, px // 2] |= _DOTS[px % 2][py % 4]
        prev = here


def _short(value: float, unit: str | None) -> str:
    """At most 8 characters: bytes human-readable, else a compact number.

    Examples
    --------
    >>> [_short(v, None) for v in (0.0, 277.43, 12345.6, 1.5e9, -0.001)]
    ['0.0', '277.4', '12346', '1.5e9', '-1.0e-3']
    >>> _short(-4.37 * 2**30, "bytes"), _short(1000 * 2**30, "bytes")
    ('-4.4 GiB', '1000 GiB')
    """
    if unit == "bytes":
        text = format_bytes(value)
        if len(text) > 8:
            scale, suffix = byte_scale(value)
            text = f"{value / scale:.2g} {suffix}"
        return text
    if value != 0 and not 0.01 <= abs(value) < 1e5:
        return f"{value:.1e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
