"""Time to exhaustion: the runway table, durations and exhaustion in words."""

from __future__ import annotations

from foreshock.capacity.runway import exhaustion_label, runway_table
from foreshock.capacity.units import format_duration, guess_unit
from foreshock.schemas.forecast import Forecast

DAY = 86400.0


def test_runway_table_lists_soonest_exhaustion_first(demo: tuple) -> None:
    forecasts, _ = demo
    rows = runway_table(list(reversed(forecasts))).splitlines()[2:]
    resources = [row.split(" | ")[0].strip("| ") for row in rows]
    assert resources == ["db-1", "redis-cache", "mysql-orders", "pg-main"]
    assert "500 GiB" in rows[0] and "> 7 d" in rows[-1]


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
