"""Forecasts in OpenSearch (``make services-up``), held to the SQLite store's contract.

A capacity planner must read the same forecasts whichever store the pipeline wrote to, so
each test runs on both backends, or puts the same forecasts in both and compares answers.
Indices live under a prefix unique to this run and are deleted (with their templates) at
the end. Without a server the tests fail, unless ``FORESHOCK_SKIP_INTEGRATION=1``, in which
case they are skipped.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from foreshock.enrichers.stores.base import ReportStore
from foreshock.enrichers.stores.opensearch import OpenSearchReportStore
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.schemas.forecast import Forecast

RUN_PREFIX = f"fs-itfc-{uuid.uuid4().hex[:8]}"
_indices = itertools.count()
T0 = 1_700_000_000.123456


def forecast(resource: str = "db-1", made_at: float = T0, **overrides: Any) -> Forecast:
    fields: dict[str, Any] = {
        "resource": resource,
        "metric": "node_filesystem_used_bytes",
        "made_at": made_at,
        "model": "linear",
        "horizon_s": 7200.0,
        "timestamps": [made_at + 3600.0, made_at + 7200.0],
        "point": [10.5, 20.25],
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


def corpus() -> list[Forecast]:
    """Three series, some with several forecasts and two models."""
    return [
        forecast("db-1", T0),
        forecast("db-1", T0 + 300.0),
        forecast("db-1", T0 + 300.0, model="ets"),
        forecast("db-2", T0 - 600.0),
        forecast("db-1", T0 - 60.0, metric="redis_memory_used_bytes", limit=None),
        forecast("mysql-orders", T0 + 60.0, metric="mysql_global_status_threads_connected"),
        forecast("mysql-orders", T0, metric="mysql_global_status_threads_connected"),
    ]


@pytest.fixture(scope="module")
def client(
    opensearch_client: OpenSearch, delete_prefixed: Callable[[OpenSearch, str], None]
) -> Iterator[OpenSearch]:
    """The shared test client; this module's indices and templates are deleted afterwards."""
    yield opensearch_client
    delete_prefixed(opensearch_client, RUN_PREFIX)


@pytest.fixture
def os_store(client: OpenSearch) -> Iterator[OpenSearchReportStore]:
    with OpenSearchReportStore(client, prefix=f"{RUN_PREFIX}-{next(_indices)}") as store:
        yield store


@pytest.fixture(params=["sqlite", "opensearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStore]:
    """An empty store of each backend: every test using it runs on both."""
    if request.param == "sqlite":
        with SQLiteReportStore(tmp_path / "reports.sqlite") as sqlite_store:
            yield sqlite_store
    else:
        yield request.getfixturevalue("os_store")


def test_is_a_report_store(store: ReportStore) -> None:
    assert isinstance(store, ReportStore)


def test_forecasts_round_trip_exactly(store: ReportStore) -> None:
    f = forecast()
    assert store.put_forecasts([f]) == 1
    assert store.forecasts() == [f]


def test_reputting_is_idempotent_and_changes_replace(store: ReportStore) -> None:
    f = forecast()
    assert store.put_forecasts(iter([f])) == 1
    assert store.put_forecasts([f]) == 0
    changed = f.model_copy(update={"exhaustion_p50": T0 + 5.0e5})
    assert store.put_forecasts([changed]) == 1
    assert store.forecasts(latest_only=False) == [changed]


def test_latest_only_keeps_the_newest_forecast_of_each_series(store: ReportStore) -> None:
    forecasts = corpus()
    assert store.put_forecasts(forecasts) == len(forecasts)
    assert [(f.resource, f.metric, f.made_at, f.model) for f in store.forecasts()] == [
        ("db-1", "node_filesystem_used_bytes", T0 + 300.0, "ets"),
        ("db-1", "redis_memory_used_bytes", T0 - 60.0, "linear"),
        ("db-2", "node_filesystem_used_bytes", T0 - 600.0, "linear"),
        ("mysql-orders", "mysql_global_status_threads_connected", T0 + 60.0, "linear"),
    ]


@pytest.mark.parametrize(
    ("resource", "metric"),
    [
        (None, None),
        ("db-1", None),
        (None, "node_filesystem_used_bytes"),
        ("db-1", "redis_memory_used_bytes"),
        ("mysql-orders", None),
        ("nope", None),
    ],
)
@pytest.mark.parametrize("latest_only", [True, False])
def test_both_stores_answer_alike(
    os_store: OpenSearchReportStore,
    tmp_path: Path,
    resource: str | None,
    metric: str | None,
    latest_only: bool,
) -> None:
    with SQLiteReportStore(tmp_path / "reports.sqlite") as sqlite_store:
        sqlite_store.put_forecasts(corpus())
        os_store.put_forecasts(corpus())
        expected = sqlite_store.forecasts(resource, metric, latest_only=latest_only)
    assert os_store.forecasts(resource, metric, latest_only=latest_only) == expected


def test_latest_only_pages_through_many_series(os_store: OpenSearchReportStore) -> None:
    """More series than one aggregation page (1000): none is lost, none repeated."""
    forecasts = [
        forecast(f"host-{i:04d}", T0 + dt, exhaustion_p50=T0 + dt + i)
        for i in range(1500)
        for dt in (0.0, 60.0)
    ]
    assert os_store.put_forecasts(forecasts) == 3000
    latest = os_store.forecasts()
    assert [f.resource for f in latest] == [f"host-{i:04d}" for i in range(1500)]
    assert {f.made_at for f in latest} == {T0 + 60.0}
    assert len(os_store.forecasts(latest_only=False)) == 3000
