"""Time to exhaustion of capacity forecasts: how long, in words, and the fleet's runway.

- :func:`time_to_exhaustion`: seconds to p10, p50 and p90 exhaustion;
- :func:`exhaustion_label`: the same in words, for a plot or a terminal;
- :func:`by_runway` and :func:`runway_table`: every series, soonest exhaustion first.

Times are epoch seconds and shown in UTC; time to exhaustion is counted from the forecast's
``made_at``.

Examples
--------
>>> f = Forecast(resource="db-1", metric="disk", made_at=0.0, model="linear",
...              horizon_s=7 * 86400.0, exhaustion_p10=2.5 * 86400,
...              exhaustion_p50=3.2 * 86400, exhaustion_p90=4.1 * 86400)
>>> exhaustion_label(f)
'exhausts in 3.2 d (80%: 2.5–4.1 d)'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from foreshock.capacity.units import (
    duration_scale,
    format_amount,
    format_duration,
    format_value,
    guess_unit,
)
from foreshock.schemas.forecast import Forecast

__all__ = ["by_runway", "exhaustion_label", "runway_table", "time_to_exhaustion"]


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
    scale, unit = duration_scale(p50)
    low = "?" if p10 is None else format_amount(p10 / scale)
    if p90 is None:
        span = f"{low} {unit} – beyond the {horizon} horizon"
    else:
        span = f"{low}–{format_amount(p90 / scale)} {unit}"
    return f"exhausts in {format_amount(p50 / scale)} {unit} (80%: {span})"


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
