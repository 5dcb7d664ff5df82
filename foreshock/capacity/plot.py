"""Pictures of capacity forecasts as PNGs: one series, and the fleet's runway.

- :func:`plot_forecast`: history, forecast, 80%/95% bands, the limit, and when the series
  is expected to reach it (median, with the p10–p90 range shaded);
- :func:`fleet_runway_plot`: every series' time to exhaustion, soonest first, for the
  capacity planner.

The same story as text is in :mod:`foreshock.capacity.chart` (a terminal chart) and
:mod:`foreshock.capacity.runway` (labels and a runway table). Times are epoch seconds and
shown in UTC. Figures are drawn on :class:`matplotlib.figure.Figure` with the Agg renderer,
never through ``pyplot``, so this works in servers, threads and notebooks alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory
from numpy.typing import ArrayLike, NDArray

from foreshock.capacity.chart import terminal_chart
from foreshock.capacity.runway import by_runway, exhaustion_label, time_to_exhaustion
from foreshock.capacity.units import byte_scale, duration_scale, format_duration, format_value
from foreshock.schemas.forecast import Forecast

__all__ = [
    "fleet_runway_plot",
    "plot_forecast",
    "terminal_chart",  # re-exported from foreshock.capacity.chart for the CLI
]

_HISTORY, _FORECAST, _LIMIT, _MUTED = "#1f4e79", "#e07b00", "#c0392b", "#555555"


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
    scale, suffix = byte_scale(magnitude) if unit == "bytes" else (1.0, unit or "")

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
    scale, unit = duration_scale(longest)
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
