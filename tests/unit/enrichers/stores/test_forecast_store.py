"""Forecasts in the SQLite store: what a capacity planner reads back is what was written."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from foreshock.enrichers.stores.base import ReportStore
from foreshock.enrichers.stores.sqlite import SCHEMA_VERSION, SQLiteReportStore
from foreshock.schemas.forecast import Forecast

T0 = 1_700_000_000.123456


def forecast(resource: str = "db-1", made_at: float = T0, **overrides: Any) -> Forecast:
    fields: dict[str, Any] = {
        "resource": resource,
        "metric": "node_filesystem_used_bytes",
        "made_at": made_at,
        "model": "linear",
        "horizon_s": 7200.0,
        "timestamps": [made_at + 3600.0, made_at + 7200.0],
        "point": [10.0, 20.0],
        "lower80": [8.0, 15.0],
        "upper80": [12.0, 25.0],
        "lower95": [7.0, 12.0],
        "upper95": [13.0, 28.0],
        "limit": 100.0,
        "backtest_error": 0.05,
        "exhaustion_p10": made_at + 3.0e5,
        "exhaustion_p50": made_at + 4.0e5,
        "exhaustion_p90": None,
    }
    return Forecast(**(fields | overrides))


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with SQLiteReportStore(tmp_path / "reports.sqlite") as s:
        yield s


def test_is_still_a_report_store(store: SQLiteReportStore) -> None:
    assert isinstance(store, ReportStore)


def test_forecasts_round_trip_exactly(store: SQLiteReportStore) -> None:
    f = forecast()
    assert store.put_forecasts([f]) == 1
    assert store.forecasts() == [f]


def test_reputting_is_idempotent_and_changes_replace(store: SQLiteReportStore) -> None:
    f = forecast()
    assert store.put_forecasts(iter([f])) == 1
    assert store.put_forecasts([f]) == 0
    changed = f.model_copy(update={"exhaustion_p50": T0 + 5.0e5})
    assert store.put_forecasts([changed]) == 1
    assert store.forecasts(latest_only=False) == [changed]
    assert store.put_forecasts([]) == 0


def test_latest_only_keeps_the_newest_forecast_of_each_series(store: SQLiteReportStore) -> None:
    old, new = forecast(made_at=T0), forecast(made_at=T0 + 300.0)
    other = forecast("db-2", made_at=T0 - 600.0)
    redis = forecast(metric="redis_memory_used_bytes", made_at=T0 - 60.0)
    store.put_forecasts([new, other, old, redis])
    assert store.forecasts() == [new, redis, other]
    assert store.forecasts(latest_only=False) == [new, old, redis, other]


def test_filters_by_resource_and_metric(store: SQLiteReportStore) -> None:
    disk, redis = forecast(), forecast(metric="redis_memory_used_bytes")
    store.put_forecasts([disk, redis, forecast("db-2")])
    assert store.forecasts("db-1", "redis_memory_used_bytes") == [redis]
    assert [f.resource for f in store.forecasts(metric="node_filesystem_used_bytes")] == [
        "db-1",
        "db-2",
    ]
    assert store.forecasts("db-1") == [disk, redis]
    assert store.forecasts("nope") == []


def test_two_models_of_one_series_are_both_kept(store: SQLiteReportStore) -> None:
    linear, prophet = forecast(), forecast(model="prophet")
    assert store.put_forecasts([prophet, linear]) == 2
    assert store.forecasts(latest_only=False) == [linear, prophet]
    assert store.forecasts() == [linear]  # same made_at: the first model name


def test_forecasts_survive_reopening(tmp_path: Path) -> None:
    db = tmp_path / "reports.sqlite"
    with SQLiteReportStore(db) as s:
        s.put_forecasts([forecast()])
    with SQLiteReportStore(db) as s:
        assert s.forecasts() == [forecast()]


def test_a_store_from_before_forecasts_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "reports.sqlite"
    with SQLiteReportStore(db):
        pass
    with sqlite3.connect(db) as raw:  # as an older foreshock left it: no forecasts table
        raw.execute("DROP TABLE forecasts")
        raw.execute("PRAGMA user_version = 1")
    with SQLiteReportStore(db) as s:
        assert s.forecasts() == []
        assert s.put_forecasts([forecast()]) == 1
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
