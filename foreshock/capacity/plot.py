"""Pictures of capacity forecasts: one series as a PNG or a terminal chart, and the fleet's runway.

- :func:`plot_forecast`: history, forecast, 80%/95% bands, the limit, and when the series
  is expected to reach it (median, with the p10–p90 range shaded), as a PNG;
- :func:`terminal_chart`: the same story in plain unicode text (braille dots, ``░`` for the
  80% band, ``─`` for the limit, ``┊`` where the forecast starts);
- :func:`fleet_runway_plot`, :func:`runway_table` and :func:`by_runway`: every series' time
  to exhaustion, soonest first, for the capacity planner.

Times are epoch seconds and shown in UTC; time to exhaustion is counted from the forecast's
``made_at``. Figures are drawn on :class:`matplotlib.figure.Figure` with the Agg renderer,
never through ``pyplot``, so this works in servers, threads and notebooks alike.

Examples
--------
>>> format_bytes(3 * 2**30)
'3 GiB'
>>> format_duration(3.2 * 86400)
'3.2 d'
>>> f = Forecast(resource="db-1", metric="disk", made_at=0.0, model="linear",
...              horizon_s=7 * 86400.0, exhaustion_p10=2.5 * 86400,
...              exhaustion_p50=3.2 * 86400, exhaustion_p90=4.1 * 86400)
>>> exhaustion_label(f)
'exhausts in 3.2 d (80%: 2.5–4.1 d)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory
from numpy.typing import ArrayLike, NDArray

from foreshock.schemas.forecast import Forecast

__all__ = [
    "by_runway",
    "exhaustion_label",
    "fleet_runway_plot",
    "format_bytes",
    "format_duration",
    "guess_unit",
    "plot_forecast",
    "runway_table",
    "terminal_chart",
    "time_to_exhaustion",
]

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_HISTORY, _FORECAST, _LIMIT, _MUTED = "#1f4e79", "#e07b00", "#c0392b", "#555555"


# --- numbers people read -----------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _byte_scale(magnitude: float) -> tuple[float, str]:
    """The IEC unit in which ``magnitude`` bytes reads as 1 to 1023."""
    power = 0
    while abs(magnitude) >= 1024 and power < len(_BYTE_UNITS) - 1:
        magnitude /= 1024
        power += 1
    return 1024.0**power, _BYTE_UNITS[power]


def format_bytes(value: float) -> str:
    """Bytes with a binary (IEC) unit and three significant digits.

    Examples
    --------
    >>> [format_bytes(v) for v in (0, 512, 1536, 5 * 2**20, 186.3 * 2**30, 2.5 * 2**40)]
    ['0 B', '512 B', '1.5 KiB', '5 MiB', '186 GiB', '2.5 TiB']
    >>> format_bytes(-3 * 2**30)
    '-3 GiB'
    """
    scale, unit = _byte_scale(value)
    return f"{_num(value / scale)} {unit}"


def format_value(value: float, unit: str | None) -> str:
    """``value`` with its unit: bytes human-readable, anything else as a short number.

    Examples
    --------
    >>> format_value(4 * 2**30, "bytes"), format_value(480.0, "connections")
    ('4 GiB', '480 connections')
    >>> format_value(0.25, None)
    '0.25'
    """
    if unit == "bytes":
        return format_bytes(value)
    return f"{_num(value)} {unit}" if unit else _num(value)


def _duration_scale(seconds: float) -> tuple[float, str]:
    if abs(seconds) < 3600:
        return 60.0, "min"
    if abs(seconds) < 2 * 86400:
        return 3600.0, "h"
    return 86400.0, "d"


def format_duration(seconds: float) -> str:
    """A duration in minutes, hours or days, whichever reads best.

    Examples
    --------
    >>> [format_duration(s) for s in (90, 5400, 36 * 3600, 10 * 86400)]
    ['2 min', '1.5 h', '36 h', '10 d']
    """
    scale, unit = _duration_scale(seconds)
    value = seconds / scale
    return f"{value:.0f} {unit}" if unit == "min" else f"{_amount(value)} {unit}"


def _amount(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 9.95 else f"{value:.2g}"


def guess_unit(metric: str) -> str | None:
    """The unit of a metric from its Prometheus-style name (``…_bytes`` → ``"bytes"``).

    Examples
    --------
    >>> guess_unit('node_filesystem_avail_bytes{mountpoint="/"}'), guess_unit("x_ratio")
    ('bytes', None)
    """
    name = metric.split("{", 1)[0]
    return "bytes" if name.endswith("_bytes") else None


# --- time to exhaustion ------------------------------------------------------------------


def time_to_exhaustion(forecast: Forecast) -> tuple[float | None, float | None, float | None]:
    """Seconds from ``made_at`` to exhaustion at p10, p50 and p90 (``None``: not in horizon).

    Examples
    --------
    >>> f = Forecast(resource="r", metric="m", made_at=100.0, model="linear", horizon_s=1e4,
    ...              exhaustion_p10=400.0, exhaustion_p50=700.0)
    >>> time_to_exhaustion(f)
    (300.0, 600.0, None)
    """
    quantiles = (forecast.exhaustion_p10, forecast.exhaustion_p50, forecast.exhaustion_p90)
    p10, p50, p90 = (None if q is None else max(q - forecast.made_at, 0.0) for q in quantiles)
    return p10, p50, p90


def exhaustion_label(forecast: Forecast) -> str:
    """When the series reaches its limit, in words: median and the 80% (p10–p90) range.

    Examples
    --------
    >>> f = Forecast(resource="r", metric="m", made_at=0.0, model="linear",
    ...              horizon_s=7 * 86400.0, exhaustion_p10=36 * 3600.0,
    ...              exhaustion_p50=50 * 3600.0)
    >>> exhaustion_label(f)
    'exhausts in 2.1 d (80%: 1.5 d – beyond the 7 d horizon)'
    >>> exhaustion_label(f.model_copy(update={"exhaustion_p50": None}))
    'no exhaustion within the 7 d horizon'
    """
    p10, p50, p90 = time_to_exhaustion(forecast)
    horizon = format_duration(forecast.horizon_s)
    if p50 is None:
        return f"no exhaustion within the {horizon} horizon"
    if p50 == 0.0:
        return "at or past the limit now"
    scale, unit = _duration_scale(p50)
    low = "?" if p10 is None else _amount(p10 / scale)
    if p90 is None:
        span = f"{low} {unit} – beyond the {horizon} horizon"
    else:
        span = f"{low}–{_amount(p90 / scale)} {unit}"
    return f"exhausts in {_amount(p50 / scale)} {unit} (80%: {span})"


def _runway_key(forecast: Forecast) -> tuple[float, str, str]:
    _, p50, _ = time_to_exhaustion(forecast)
    return (math.inf if p50 is None else p50, forecast.resource, forecast.metric)


def by_runway(forecasts: Iterable[Forecast]) -> list[Forecast]:
    """Forecasts sorted by median time to exhaustion, soonest first; never exhausting last.

    Examples
    --------
    >>> def f(r: str, p50: float | None) -> Forecast:
    ...     return Forecast(resource=r, metric="m", made_at=0.0, model="linear",
    ...                     horizon_s=9.0, exhaustion_p50=p50)
    >>> [x.resource for x in by_runway([f("a", None), f("b", 5.0), f("c", 0.0)])]
    ['c', 'b', 'a']
    """
    return sorted(forecasts, key=_runway_key)


def runway_table(forecasts: Sequence[Forecast]) -> str:
    """A Markdown table of the series, soonest exhaustion first (never exhausting: last).

    Examples
    --------
    >>> f = Forecast(resource="db-1", metric="disk_used_bytes", made_at=0.0, model="linear",
    ...              horizon_s=7 * 86400.0, limit=2**40, exhaustion_p10=86400.0,
    ...              exhaustion_p50=2 * 86400.0, exhaustion_p90=3 * 86400.0)
    >>> print(runway_table([f]))
    | resource | metric | limit | p10 | p50 | p90 | model | made at (UTC) |
    |---|---|---|---|---|---|---|---|
    | db-1 | disk_used_bytes | 1 TiB | 24 h | 2 d | 3 d | linear | 1970-01-01 00:00 |
    """
    lines = [
        "| resource | metric | limit | p10 | p50 | p90 | model | made at (UTC) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in by_runway(forecasts):
        limit = "–" if f.limit is None else format_value(f.limit, guess_unit(f.metric))
        ttes = [
            f"> {format_duration(f.horizon_s)}" if q is None else format_duration(q)
            for q in time_to_exhaustion(f)
        ]
        made = datetime.fromtimestamp(f.made_at, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"| {f.resource} | {f.metric} | {limit} | {' | '.join(ttes)} | ")
        lines[-1] += f"{f.model} | {made} |"
    return "\n".join(lines)


# --- one series as a PNG -----------------------------------------------------------------


def _dates(epoch_s: ArrayLike) -> NDArray[np.float64]:
    """Matplotlib date numbers (days since its ``date.epoch``) of epoch seconds."""
    epoch = float(np.datetime64(str(rcParams["date.epoch"]), "s").astype(np.int64))
    return (np.asarray(epoch_s, dtype=np.float64) - epoch) / 86400.0


def _date(epoch_s: float) -> float:
    return float(_dates([epoch_s])[0])


def _utc_tick(days: float, _: object = None) -> str:
    epoch = float(np.datetime64(str(rcParams["date.epoch"]), "s").astype(np.int64))
    return datetime.fromtimestamp(epoch + days * 86400.0, UTC).strftime("%b %d\n%H:%M")


def plot_forecast(
    history_t: ArrayLike,
    history_y: ArrayLike,
    forecast: Forecast,
    path: Path,
    unit: str | None = None,
    title: str | None = None,
) -> Path:
    """Draw one series' history and forecast to a PNG at ``path`` (1200×650 px).

    History line, forecast line with shaded 80% and 95% bands, the limit as a labelled
    horizontal line, a dotted marker at the median exhaustion time with the p10–p90 range
    shaded and spelled out (``exhausts in 3.2 d (80%: 2.5–4.1 d)``), UTC dates on the time
    axis and the unit on the value axis (bytes in KiB/MiB/GiB/TiB). The subtitle names the
    model, its backtest error and when the forecast was made.

    Parameters
    ----------
    history_t, history_y
        The observed series (epoch seconds, values); may be empty.
    forecast
        What to draw; any of its lists may be empty and any quantile ``None``.
    path
        Where to write the PNG (parent folders are created).
    unit
        ``"bytes"`` for human-readable bytes, any other text to label the axis, or ``None``.
    title
        Figure title; default ``"<resource> · <metric>"``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> f = Forecast(resource="db-1", metric="disk", made_at=3600.0, model="linear",
    ...              horizon_s=7200.0, timestamps=[7200.0, 10800.0], point=[6.0, 8.0],
    ...              lower80=[5.0, 6.0], upper80=[7.0, 10.0], lower95=[4.0, 5.0],
    ...              upper95=[8.0, 11.0], limit=9.0, exhaustion_p10=8000.0,
    ...              exhaustion_p50=9000.0, exhaustion_p90=10000.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     png = plot_forecast([0.0, 3600.0], [2.0, 4.0], f, Path(tmp) / "f.png")
    ...     png.read_bytes()[:4]
    b'\\x89PNG'
    """
    t = np.asarray(history_t, dtype=np.float64)
    y = np.asarray(history_y, dtype=np.float64)
    ft = np.asarray(forecast.timestamps, dtype=np.float64)
    values = [y, *(np.asarray(v, dtype=np.float64) for v in _bands(forecast))]
    if forecast.limit is not None:
        values.append(np.asarray([forecast.limit]))
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    magnitude = float(np.max(np.abs(finite))) if finite.size else 1.0
    scale, suffix = _byte_scale(magnitude) if unit == "bytes" else (1.0, unit or "")

    fig = Figure(figsize=(12, 6.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if t.size:
        ax.plot(_dates(t), y / scale, color=_HISTORY, lw=1.4, label="history")
    if ft.size:
        fd = _dates(ft)
        lower95, upper95, lower80, upper80, point = _bands(forecast)
        if lower95 and upper95:
            ax.fill_between(
                fd, np.divide(lower95, scale), np.divide(upper95, scale),
                color=_FORECAST, alpha=0.15, lw=0, label="95% interval",
            )  # fmt: skip
        if lower80 and upper80:
            ax.fill_between(
                fd, np.divide(lower80, scale), np.divide(upper80, scale),
                color=_FORECAST, alpha=0.32, lw=0, label="80% interval",
            )  # fmt: skip
        if point:
            ax.plot(fd, np.divide(point, scale), color=_FORECAST, lw=2, ls="--",
                    label=f"forecast ({forecast.model})")  # fmt: skip
    ax.axvline(_date(forecast.made_at), color=_MUTED, lw=0.8, ls=":", label="forecast made")
    if forecast.limit is not None:
        limit_text = f"limit {format_value(forecast.limit, unit)}"
        ax.axhline(forecast.limit / scale, color=_LIMIT, lw=1.6, label=limit_text)
        ax.text(0.005, forecast.limit / scale, limit_text, color=_LIMIT, fontsize=10,
                va="bottom", transform=blended_transform_factory(ax.transAxes, ax.transData),
                fontweight="bold")  # fmt: skip
    _mark_exhaustion(ax, forecast)

    ax.xaxis_date(UTC)
    ax.xaxis.set_major_formatter(FuncFormatter(_utc_tick))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"{forecast.metric} ({suffix})" if suffix else forecast.metric)
    if suffix:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} {suffix}"))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=9)  # outside: never hides data
    fig.suptitle(title or f"{forecast.resource} · {forecast.metric}", fontsize=14,
                 fontweight="bold")  # fmt: skip
    ax.set_title(_subtitle(forecast), fontsize=10, color=_MUTED)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _bands(forecast: Forecast) -> tuple[list[float], ...]:
    f = forecast
    return f.lower95, f.upper95, f.lower80, f.upper80, f.point


def _subtitle(forecast: Forecast) -> str:
    error = "n/a" if forecast.backtest_error is None else f"{forecast.backtest_error:.3g}"
    made = datetime.fromtimestamp(forecast.made_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"model: {forecast.model}  ·  backtest error: {error}  ·  made {made}  ·  "
        f"horizon {format_duration(forecast.horizon_s)}"
    )


def _mark_exhaustion(ax: Axes, forecast: Forecast) -> None:
    """Shade p10–p90, mark p50 with a dotted line, and say when in words."""
    p10, p50, p90 = forecast.exhaustion_p10, forecast.exhaustion_p50, forecast.exhaustion_p90
    end = forecast.made_at + forecast.horizon_s
    if p50 is None:
        ax.text(0.99, 0.97, exhaustion_label(forecast), transform=ax.transAxes, ha="right",
                va="top", fontsize=11, color=_MUTED)  # fmt: skip
        return
    ax.axvspan(_date(p10 if p10 is not None else p50), _date(p90 if p90 is not None else end),
               color=_LIMIT, alpha=0.10, lw=0, label="exhaustion p10–p90")  # fmt: skip
    ax.axvline(_date(p50), color=_LIMIT, lw=1.6, ls=(0, (2, 2)), label="exhaustion p50")
    left, right = ax.get_xlim()
    at = _date(p50)
    right_half = (at - left) > 0.6 * (right - left)
    ax.annotate(
        exhaustion_label(forecast),
        xy=(at, 0.97), xycoords=("data", "axes fraction"),
        xytext=(-8 if right_half else 8, 0), textcoords="offset points",
        ha="right" if right_half else "left", va="top", fontsize=11, color=_LIMIT,
        fontweight="bold", bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": _LIMIT},
    )  # fmt: skip


# --- the fleet's runway ------------------------------------------------------------------


def fleet_runway_plot(forecasts: list[Forecast], path: Path) -> Path:
    """Time to exhaustion of every series as horizontal bars, soonest at the top.

    Each bar is the median (p50) time from the forecast to exhaustion, with a whisker from
    p10 to p90 (to the horizon, with an arrow, when p90 lies beyond it); bars are red under
    a day, orange under a week, blue beyond. Series that do not exhaust within their
    horizon are listed last, as a hatched grey bar to the horizon.

    Examples
    --------
    >>> import tempfile
    >>> f = Forecast(resource="db-1", metric="disk", made_at=0.0, model="linear",
    ...              horizon_s=7 * 86400.0, exhaustion_p10=86400.0,
    ...              exhaustion_p50=2 * 86400.0, exhaustion_p90=3 * 86400.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     png = fleet_runway_plot([f, f.model_copy(update={"exhaustion_p50": None})],
    ...                             Path(tmp) / "fleet.png")
    ...     png.read_bytes()[:4]
    b'\\x89PNG'
    """
    ordered = by_runway(forecasts)
    height = max(5.0, 1.6 + 0.5 * len(ordered))
    fig = Figure(figsize=(12, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    fig.suptitle("Capacity runway: time to exhaustion (p50, whiskers p10–p90)", fontsize=14,
                 fontweight="bold")  # fmt: skip
    if not ordered:
        ax.text(0.5, 0.5, "no forecasts", ha="center", va="center", fontsize=14)
        ax.set_axis_off()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
        return path
    longest = max(f.horizon_s for f in ordered)
    scale, unit = _duration_scale(longest)
    for row, f in enumerate(ordered):
        p10, p50, p90 = time_to_exhaustion(f)
        if p50 is None:
            ax.barh(row, f.horizon_s / scale, color="#dddddd", hatch="//", edgecolor="#999999")
            ax.text(f.horizon_s / scale, row, f"  none within {format_duration(f.horizon_s)}",
                    va="center", fontsize=9, color=_MUTED)  # fmt: skip
            continue
        color = _LIMIT if p50 < 86400 else "#e67e22" if p50 < 7 * 86400 else _HISTORY
        low = p50 - (p10 if p10 is not None else p50)
        high = (p90 if p90 is not None else f.horizon_s) - p50
        ax.barh(row, p50 / scale, color=color, alpha=0.85,
                xerr=[[low / scale], [high / scale]], capsize=4,
                error_kw={"ecolor": "#333333", "lw": 1.2})  # fmt: skip
        if p90 is None:
            ax.annotate("", xy=((f.horizon_s + 0.03 * longest) / scale, row),
                        xytext=(f.horizon_s / scale, row),
                        arrowprops={"arrowstyle": "->", "color": "#333333"})  # fmt: skip
        ax.text(p50 / scale, row + 0.32, f" {format_duration(p50)}", va="center",
                fontsize=9, fontweight="bold")  # fmt: skip
    ax.set_yticks(range(len(ordered)), [f"{f.resource} · {f.metric}" for f in ordered])
    ax.invert_yaxis()
    ax.set_xlim(0, longest * 1.25 / scale)
    ax.set_xlabel(f"time to exhaustion from the forecast ({unit})")
    ax.axvline(86400 / scale, color=_LIMIT, lw=0.8, ls=":")
    ax.grid(axis="x", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


# --- terminal ----------------------------------------------------------------------------

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
            scale, suffix = _byte_scale(value)
            text = f"{value / scale:.2g} {suffix}"
        return text
    if value != 0 and not 0.01 <= abs(value) < 1e5:
        return f"{value:.1e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
