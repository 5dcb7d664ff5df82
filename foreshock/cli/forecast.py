"""``foreshock forecast``: capacity forecasts and time to exhaustion, for capacity planners."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import console, parse_duration, plain, print_json

__all__ = ["forecast"]


def forecast(
    replay: Annotated[
        Path, typer.Option(help="Replay folder to forecast from (its end is 'now').")
    ],
    resource: Annotated[str | None, typer.Option(help="Only this resource.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Only this metric (base name or full).")
    ] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead: 7d, 36h, 90m.")] = "7d",
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of the first series here.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Capacity forecasts with 80/95% intervals and time-to-exhaustion, soonest first.

    Example:  foreshock forecast --replay /tmp/r --horizon 7d --plot runway.png
    """
    from foreshock.capacity.replay import forecast_replay

    rows = forecast_replay(replay, parse_duration(horizon), resource, metric)
    if as_json:
        print_json({"forecasts": [r.forecast.model_dump() for r in rows]})
    else:
        from rich.table import Table

        from foreshock.cli.render import literal
        from foreshock.enrichers.narrator import clock

        t = Table(title=f"capacity forecasts ({plain(horizon)} horizon), soonest exhaustion first")
        for c in (
            "resource",
            "metric",
            "model",
            "backtest MASE",
            "exhausts (p50)",
            "80% interval",
            "at",
        ):
            t.add_column(c, overflow="fold")
        for r in rows:
            f = r.forecast
            if f.exhaustion_p50 is None:
                when, iv, at = "not within horizon", "—", "—"
            else:
                when = _human(f.exhaustion_p50 - f.made_at)
                lo = _human((f.exhaustion_p10 or f.exhaustion_p50) - f.made_at)
                hi = _human(f.exhaustion_p90 - f.made_at) if f.exhaustion_p90 else "beyond"
                iv, at = f"{lo} – {hi}", clock(f.exhaustion_p50)
            t.add_row(
                literal(f.resource),
                literal(f.metric),
                literal(f.model),
                f"{f.backtest_error:.2f}" if f.backtest_error is not None else "—",
                when,
                iv,
                at,
            )
        console.print(t)
        if rows:
            try:
                from foreshock.capacity.chart import terminal_chart

                first = rows[0]
                console.print(literal(f"{first.forecast.resource} {first.forecast.metric}:"))
                console.print(
                    literal(terminal_chart(first.history_y, first.forecast, unit=first.unit))
                )
            except ImportError:  # pragma: no cover - plotting optional
                pass
    if plot is not None and rows:
        from foreshock.capacity.plot import plot_forecast

        first = rows[0]
        plot_forecast(first.history_t, first.history_y, first.forecast, plot, unit=first.unit)
        if not as_json:
            console.print(f"plot: [cyan]{plain(plot)}[/cyan]")


def _human(seconds: float) -> str:
    """3.2 d / 5.5 h / 40 min."""
    if seconds >= 86400 * 1.5:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{max(seconds, 0) / 60:.0f} min"
