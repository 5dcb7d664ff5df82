"""OpenSearch report store on a real server (``make services-up``), held to the SQLite contract.

An analyst searching reports must get the same reports whichever store the pipeline wrote
to, so the tests put the same reports into a SQLite store and an OpenSearch store and ask
both the same questions. Each test gets its own indices under a prefix unique to this run,
deleted (with their templates) at the end. Without a server the tests fail, unless
``FORESHOCK_SKIP_INTEGRATION=1``, in which case they are skipped.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from typer.testing import CliRunner

from foreshock.cli.reports import reports_app
from foreshock.enrichers.stores.base import ReportStore, SearchHit, StoreError
from foreshock.enrichers.stores.opensearch import OpenSearchReportStore, anomaly_id, search_query
from foreshock.enrichers.stores.opensearch_templates import index_templates
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.pipelines.backends import open_store
from foreshock.pipelines.settings import Settings
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import EvidenceRow, RootCauseReport

RUN_PREFIX = f"fs-it-{uuid.uuid4().hex[:8]}"
_indices = itertools.count()


# --- what the stores hold --------------------------------------------------------------


def evidence(resource: str, metric: str, onset: float = 90.0) -> EvidenceRow:
    return EvidenceRow(
        resource=resource,
        metric=metric,
        onset=onset,
        direction="up",
        value=40.0,
        baseline=0.5,
        score=0.99,
    )


def redis_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "id": "inc-1-v1",
        "incident_id": "inc-1",
        "created_at": 100.0,
        "title": "Redis memory exhaustion on redis-cache",
        "summary": "redis-cache reached maxmemory and evicted keys; checkout latency rose.",
        "root_cause_resource": "redis-cache",
        "failure_mode": "memory_exhaustion",
        "causal_chain": ["redis-cache evicts keys", "checkout misses cache", "checkout slow"],
        "evidence": [evidence("redis-cache", "redis_evicted_keys_total")],
        "remediations": ["Raise maxmemory or shorten key TTLs."],
    }
    return RootCauseReport(**(fields | overrides))


def kafka_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "id": "inc-2-v1",
        "incident_id": "inc-2",
        "created_at": 200.0,
        "title": "Kafka consumer lag on orders",
        "summary": "orders-consumer fell behind on kafka-orders; lag grew for ten minutes.",
        "root_cause_resource": "kafka-orders",
        "failure_mode": "consumer_lag",
        "evidence": [evidence("kafka-orders", "kafka_consumergroup_lag")],
        "remediations": ["Add consumers; check redis memory on the cache they call."],
    }
    return RootCauseReport(**(fields | overrides))


def mysql_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "id": "inc-3-v1",
        "incident_id": "inc-3",
        "created_at": 300.0,
        "title": "MySQL lock contention on mysql-orders",
        "summary": "Long transactions held row locks on mysql-orders; order writes timed out.",
        "root_cause_resource": "mysql-orders",
        "failure_mode": "lock_contention",
        "causal_chain": ["mysql-orders row locks", "orders-api waits", "checkout errors"],
        "evidence": [evidence("mysql-orders", "mysql_global_status_innodb_row_lock_waits")],
        "checks": ["Look for long-running transactions in information_schema.innodb_trx."],
        "remediations": ["Kill the blocking transaction; keep transactions short."],
    }
    return RootCauseReport(**(fields | overrides))


def postgres_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "id": "inc-4-v1",
        "incident_id": "inc-4",
        "created_at": 500.0,
        "title": "PostgreSQL disk filling on pg-main",
        "summary": "WAL files piled up on pg-main behind an inactive replication slot; "
        "the disk will be full in 3.2 days.",
        "root_cause_resource": "pg-main",
        "failure_mode": "disk_exhaustion",
        "evidence": [evidence("pg-main", "pg_replication_slot_wal_bytes", onset=450.0)],
        "checks": ["SELECT slot_name, active FROM pg_replication_slots;"],
        "remediations": ["Drop or reconnect the inactive slot."],
    }
    return RootCauseReport(**(fields | overrides))


def corpus() -> list[RootCauseReport]:
    """Five reports; incident inc-1 has two versions, the newer one written first."""
    return [
        redis_report(
            id="inc-1-v2",
            created_at=400.0,
            title="Redis still out of memory on redis-cache",
            summary="redis-cache kept evicting keys after the first page; latency stayed high.",
        ),
        redis_report(),
        kafka_report(),
        mysql_report(),
        postgres_report(),
    ]


def anomaly(i: int, **overrides: Any) -> Anomaly:
    fields: dict[str, Any] = {
        "resource": f"redis-{i % 50}",
        "metric": "redis_evicted_keys_total",
        "onset": 1_700_000_000.0 + i,
        "detected_at": 1_700_000_060.0 + i,
        "score": 0.99,
        "raw_score": 9.1,
        "direction": "up",
        "value": 40.0,
        "baseline": 0.5,
        "detector": "fleet",
    }
    return Anomaly(**(fields | overrides))


def forecast(i: int) -> Forecast:
    return Forecast(
        resource=f"host-{i}",
        metric="node_filesystem_avail_bytes",
        made_at=1_700_000_000.0,
        model="linear",
        horizon_s=3600.0,
        timestamps=[1_700_000_000.0, 1_700_003_600.0],
        point=[10.0, 5.0],
        limit=0.0,
        exhaustion_p50=1_700_007_200.0,
    )


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.report_id for h in hits]


# --- servers and stores ----------------------------------------------------------------


@pytest.fixture(scope="module")
def client(
    opensearch_client: OpenSearch, delete_prefixed: Callable[[OpenSearch, str], None]
) -> Iterator[OpenSearch]:
    """The shared test client; this module's indices and templates are deleted afterwards."""
    yield opensearch_client
    delete_prefixed(opensearch_client, RUN_PREFIX)


def fresh_prefix() -> str:
    return f"{RUN_PREFIX}-{next(_indices)}"


@pytest.fixture
def os_store(client: OpenSearch) -> Iterator[OpenSearchReportStore]:
    """An empty OpenSearch store with its own indices."""
    with OpenSearchReportStore(client, prefix=fresh_prefix()) as store:
        yield store


@pytest.fixture(params=["sqlite", "opensearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStore]:
    """An empty store of each backend: every test using it runs on both."""
    if request.param == "sqlite":
        with SQLiteReportStore(tmp_path / "reports.sqlite") as sqlite_store:
            yield sqlite_store
    else:
        yield request.getfixturevalue("os_store")


@pytest.fixture(scope="module")
def both(
    client: OpenSearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SQLiteReportStore, OpenSearchReportStore]]:
    """The corpus, put into one store of each backend."""
    db = tmp_path_factory.mktemp("contract") / "reports.sqlite"
    with (
        SQLiteReportStore(db) as sqlite_store,
        OpenSearchReportStore(client, prefix=fresh_prefix()) as opensearch_store,
    ):
        for report in corpus():
            assert sqlite_store.put(report) is True
            assert opensearch_store.put(report) is True
        yield sqlite_store, opensearch_store


# --- the contract: same questions, same answers ----------------------------------------

#: query → (the reports it must find, the best hit); both stores must give exactly these.
QUERIES: dict[str, tuple[set[str], str | None]] = {
    # resource names, as phrases of their parts
    "redis-cache": ({"inc-1-v1", "inc-1-v2"}, None),
    "kafka-orders": ({"inc-2-v1"}, "inc-2-v1"),
    "pg-main": ({"inc-4-v1"}, "inc-4-v1"),
    "mysql-orders": ({"inc-3-v1"}, "inc-3-v1"),
    # words of summaries, titles, checks, remediations
    "checkout latency": ({"inc-1-v1", "inc-1-v2"}, "inc-1-v1"),
    "replication slot": ({"inc-4-v1"}, "inc-4-v1"),
    "innodb_trx": ({"inc-3-v1"}, "inc-3-v1"),
    "redis memory": ({"inc-1-v1", "inc-1-v2", "inc-2-v1"}, None),
    "consumers memory": ({"inc-2-v1"}, "inc-2-v1"),
    # metric names: evidence only
    "kafka_consumergroup_lag": ({"inc-2-v1"}, "inc-2-v1"),
    "redis_evicted_keys_total": ({"inc-1-v1", "inc-1-v2"}, None),
    # stemming: eviction → evicted / evicting / evicts
    "eviction": ({"inc-1-v1", "inc-1-v2"}, None),
    "locking transaction": ({"inc-3-v1"}, "inc-3-v1"),
    "exhaustion": ({"inc-1-v1", "inc-1-v2", "inc-4-v1"}, None),
    # partial last word while typing; a finished word is not a prefix
    "kafk": ({"inc-2-v1"}, "inc-2-v1"),
    "checkout lat": ({"inc-1-v1", "inc-1-v2"}, "inc-1-v1"),
    "replic": ({"inc-4-v1"}, "inc-4-v1"),
    "inactive sl": ({"inc-4-v1"}, "inc-4-v1"),
    "lat ": (set(), None),
    # not every word matches: any-word fallback, still best first
    "checkout zookeeper": ({"inc-1-v1", "inc-1-v2", "inc-3-v1"}, None),
    "zookeeper pg": ({"inc-4-v1"}, "inc-4-v1"),
    # unknown words find nothing
    "zookeeper": (set(), None),
    "postgresql replication lagging kafka zookeeper": ({"inc-2-v1", "inc-4-v1"}, None),
    # hostile input: operators and punctuation are plain words or separators
    'foo-bar "AND :': ({"inc-1-v1"}, "inc-1-v1"),
    "redis AND memory": ({"inc-1-v1"}, "inc-1-v1"),  # "and" is a word the report has
    '"redis-cache': ({"inc-1-v1", "inc-1-v2"}, None),
    "title:redis": ({"inc-1-v1", "inc-1-v2", "inc-2-v1"}, None),  # no "title": any word
    "NEAR(redis": ({"inc-1-v1", "inc-1-v2", "inc-2-v1"}, None),
    "pg-main*": ({"inc-4-v1"}, "inc-4-v1"),
    "{pg-main}:^disk~2 OR /.*/": (
        {"inc-1-v1", "inc-1-v2", "inc-2-v1", "inc-3-v1", "inc-4-v1"},  # "or" matches all
        "inc-4-v1",
    ),
    "+redis -memory": ({"inc-1-v1", "inc-1-v2", "inc-2-v1"}, None),
    "\\": (set(), None),
    "\x00": (set(), None),
    "": (set(), None),
    "   ": (set(), None),
    "日本語 ünïcödé": (set(), None),
    "a" * 5000: (set(), None),
    " ".join(["redis"] * 300): ({"inc-1-v1", "inc-1-v2", "inc-2-v1"}, None),
}


@pytest.mark.parametrize("query", list(QUERIES), ids=lambda q: repr(q[:40]))
def test_both_stores_find_the_same_reports(
    both: tuple[SQLiteReportStore, OpenSearchReportStore], query: str
) -> None:
    sqlite_store, opensearch_store = both
    expected, best = QUERIES[query]

    sqlite_hits = sqlite_store.search(query)
    opensearch_hits = opensearch_store.search(query)

    assert set(ids(sqlite_hits)) == expected
    assert set(ids(opensearch_hits)) == expected
    if best is not None:
        assert ids(sqlite_hits)[0] == ids(opensearch_hits)[0] == best


@pytest.mark.parametrize("query", ["redis memory", "checkout", "pg-main", "eviction"])
def test_both_stores_rank_alike_and_fill_hits_alike(
    both: tuple[SQLiteReportStore, OpenSearchReportStore], query: str
) -> None:
    sqlite_store, opensearch_store = both

    sqlite_hits = sqlite_store.search(query)
    opensearch_hits = opensearch_store.search(query)

    assert ids(opensearch_hits) == ids(sqlite_hits)
    for s, o in zip(sqlite_hits, opensearch_hits, strict=True):
        assert (o.incident_id, o.title, o.created_at) == (s.incident_id, s.title, s.created_at)
        assert o.score > 0
    scores = [h.score for h in opensearch_hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", [*QUERIES, "slot", "transactions", "first page", "3"])
def test_snippets_are_the_sqlite_stores_snippets(
    both: tuple[SQLiteReportStore, OpenSearchReportStore], query: str
) -> None:
    sqlite_store, opensearch_store = both

    expected = {h.report_id: h.snippet for h in sqlite_store.search(query)}
    found = {h.report_id: h.snippet for h in opensearch_store.search(query)}

    assert found == expected


def test_snippets_mark_matches_and_cut_long_text_with_an_ellipsis(
    both: tuple[SQLiteReportStore, OpenSearchReportStore],
) -> None:
    _, opensearch_store = both

    assert opensearch_store.search("checkout latency")[0].snippet == (
        "redis-cache reached maxmemory and evicted keys; **checkout** **latency** rose."
    )
    assert opensearch_store.search("pg-main")[0].snippet == (
        "WAL files piled up on **pg-main** behind an inactive replication slot; the disk will be…"
    )


def test_get_recent_and_limit_agree(
    both: tuple[SQLiteReportStore, OpenSearchReportStore],
) -> None:
    sqlite_store, opensearch_store = both

    for key in ("inc-1", "inc-1-v1", "inc-2", "inc-4-v1", "nope", ""):
        assert opensearch_store.get(key) == sqlite_store.get(key), key
    assert opensearch_store.get("inc-1") is not None
    assert opensearch_store.get("inc-1").id == "inc-1-v2"  # type: ignore[union-attr]
    assert [r.id for r in opensearch_store.recent(3)] == [r.id for r in sqlite_store.recent(3)]
    assert [r.id for r in opensearch_store.recent(100)] == [
        "inc-4-v1",
        "inc-1-v2",
        "inc-3-v1",
        "inc-2-v1",
        "inc-1-v1",
    ]
    assert len(opensearch_store.search("redis", limit=2)) == 2
    assert opensearch_store.search("redis", limit=0) == []
    assert opensearch_store.recent(0) == []


# --- behaviour each store must have on its own -----------------------------------------


def test_is_a_report_store(store: ReportStore) -> None:
    assert isinstance(store, ReportStore)


def test_reputting_a_report_is_idempotent(store: ReportStore) -> None:
    report = redis_report()

    assert store.put(report) is True
    assert store.put(report) is False
    assert store.put(report.model_copy(deep=True)) is False

    assert ids(store.search("redis")) == ["inc-1-v1"]
    assert [r.id for r in store.recent(10)] == ["inc-1-v1"]


def test_reputting_changed_content_replaces_the_report(store: ReportStore) -> None:
    store.put(redis_report())

    changed = redis_report(summary="Fragmentation made redis-cache swap.", title="Redis swap")
    assert store.put(changed) is True

    assert store.search("latency") == []  # only the old summary said it
    assert ids(store.search("fragmentation")) == ["inc-1-v1"]
    assert store.get("inc-1-v1") == changed


def test_get_by_incident_id_returns_its_newest_report(store: ReportStore) -> None:
    newest = redis_report(id="inc-1-v2", created_at=300.0, title="Redis still out of memory")
    store.put(newest)  # written first: the newest is found by time, not by write order
    store.put(redis_report(id="inc-1-v1", created_at=100.0))
    store.put(kafka_report(created_at=400.0))

    assert store.get("inc-1") == newest
    assert store.get("inc-1-v1") == redis_report(id="inc-1-v1", created_at=100.0)
    assert store.get("inc-9") is None


def test_reports_created_at_the_same_time_list_newest_written_first(store: ReportStore) -> None:
    store.put(redis_report(created_at=100.0))
    store.put(kafka_report(created_at=100.0))
    store.put(mysql_report(created_at=50.0))

    assert [r.id for r in store.recent(10)] == ["inc-2-v1", "inc-1-v1", "inc-3-v1"]


def test_incident_upsert_keeps_the_newest_version(store: ReportStore) -> None:
    v2 = Incident(id="inc-1", opened_at=0.0, updated_at=20.0, version=2, resources=["a", "b"])
    v1 = Incident(id="inc-1", opened_at=0.0, updated_at=10.0, version=1, resources=["a"])
    v2_later = v2.model_copy(update={"updated_at": 25.0, "resources": ["a", "b", "c"]})
    v2_stale = v2.model_copy(update={"updated_at": 15.0, "resources": ["z"]})
    v3 = Incident(id="inc-1", opened_at=0.0, updated_at=30.0, version=3, status="resolved")

    store.put_incident(v2)
    store.put_incident(v1)  # late, out-of-order delivery of an older version
    assert store.get_incident("inc-1") == v2
    store.put_incident(v2_later)  # same version, later update: kept
    assert store.get_incident("inc-1") == v2_later
    store.put_incident(v2_stale)
    assert store.get_incident("inc-1") == v2_later

    store.put_incident(v3)
    store.put_incident(v3)
    assert store.get_incident("inc-1") == v3
    assert store.get_incident("inc-9") is None


def test_incidents_round_trip_with_their_anomalies(store: ReportStore) -> None:
    from foreshock.schemas.incident import RootCauseCandidate

    incident = Incident(
        id="inc-5",
        opened_at=1.0,
        updated_at=2.5,
        resources=["redis-cache", "checkout"],
        anomalies=[anomaly(1), anomaly(2, state="closed", unit="/s")],
        candidates=[RootCauseCandidate(resource="redis-cache", score=0.9, failure_mode="oom")],
    )

    store.put_incident(incident)

    assert store.get_incident("inc-5") == incident


def test_real_epoch_times_round_trip_exactly(store: ReportStore) -> None:
    # Epoch seconds are ~1.7e9: OpenSearch's date parsing must see them in plain notation.
    now = 1_714_000_000.123456
    report = redis_report(created_at=now, evidence=[evidence("redis-cache", "m", now - 60.5)])
    incident = Incident(id="inc-1", opened_at=now - 600.25, updated_at=now, anomalies=[anomaly(0)])

    assert store.put(report) is True
    store.put_incident(incident)

    assert store.get("inc-1-v1") == report
    assert store.get("inc-1") == report
    assert store.get_incident("inc-1") == incident
    assert store.put(report) is False
    assert [h.created_at for h in store.search("redis")] == [now]


def test_absurdly_long_words_are_stored_and_searchable(store: ReportStore) -> None:
    blob = "x" * 50_000
    store.put(redis_report(summary=f"dump {blob} ends; checkout latency rose"))

    assert ids(store.search("checkout latency")) == ["inc-1-v1"]
    assert store.get("inc-1-v1") is not None


# --- OpenSearch only -------------------------------------------------------------------


def test_templates_give_the_reports_index_explicit_types(
    client: OpenSearch, os_store: OpenSearchReportStore
) -> None:
    index = os_store.indices["reports"]
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]

    assert props["id"]["type"] == props["incident_id"]["type"] == "keyword"
    assert props["failure_mode"]["type"] == props["root_cause_resource"]["type"] == "keyword"
    assert props["created_at"] == {"type": "date", "format": "epoch_second"}
    assert props["summary"]["type"] == "text"
    assert props["summary"]["analyzer"] == "foreshock_english"
    assert props["evidence"]["properties"]["metric"]["type"] == "keyword"
    mappings = client.indices.get_mapping(index=index)[index]["mappings"]
    assert mappings["dynamic"] == "false"
    analyzed = client.indices.analyze(
        index=index, body={"field": "summary", "text": "Evictions of redis_evicted_keys"}
    )
    assert [t["token"] for t in analyzed["tokens"]] == ["evict", "of", "redi", "evict", "kei"]
    for kind in ("anomalies", "forecasts", "incidents"):
        name = os_store.indices[kind]  # type: ignore[index]
        assert client.indices.get_mapping(index=name)[name]["mappings"]["dynamic"] == "false"


def test_ensuring_templates_again_changes_nothing(
    client: OpenSearch, os_store: OpenSearchReportStore
) -> None:
    from foreshock.enrichers.stores.opensearch_templates import ensure_indices, ensure_templates

    os_store.put(redis_report())

    assert ensure_templates(client, os_store.prefix) == []
    assert ensure_indices(client, os_store.prefix) == []
    again = OpenSearchReportStore(client, prefix=os_store.prefix)
    assert ids(again.search("redis")) == ["inc-1-v1"]
    assert set(index_templates(os_store.prefix)) == set(os_store.indices.values())


def test_an_index_made_without_the_template_is_refused(client: OpenSearch) -> None:
    prefix = fresh_prefix()
    client.index(index=f"{prefix}-reports", body={"title": "dynamic mapping"}, refresh=True)

    with pytest.raises(StoreError, match="not created from foreshock's reports template"):
        OpenSearchReportStore(client, prefix=prefix)


def test_bulk_anomalies_get_deterministic_ids(
    client: OpenSearch, os_store: OpenSearchReportStore
) -> None:
    anomalies = [anomaly(i) for i in range(300)]
    index = os_store.indices["anomalies"]

    assert os_store.put_anomalies(anomalies) == 300
    assert client.count(index=index)["count"] == 300
    assert os_store.put_anomalies(anomalies) == 0  # replayed: nothing new
    closed = [a.model_copy(update={"state": "closed"}) for a in anomalies[:10]]
    assert os_store.put_anomalies(closed) == 10  # the episode's record is updated in place
    assert client.count(index=index)["count"] == 300

    doc = client.get(index=index, id=anomaly_id(anomalies[0]))["_source"]
    assert Anomaly.model_validate(doc) == closed[0]
    found = client.search(index=index, body={"query": {"term": {"resource": "redis-7"}}, "size": 0})
    assert found["hits"]["total"]["value"] == 6


def test_bulk_forecasts_and_reports_are_idempotent(
    client: OpenSearch, os_store: OpenSearchReportStore
) -> None:
    forecasts = [forecast(i) for i in range(20)]

    assert os_store.put_forecasts(forecasts) == 20
    assert os_store.put_forecasts(forecasts) == 0
    assert client.count(index=os_store.indices["forecasts"])["count"] == 20

    assert os_store.put_reports(corpus()) == 5
    assert os_store.put_reports(corpus()) == 0
    assert os_store.put(redis_report()) is False
    assert ids(os_store.search("kafka-orders")) == ["inc-2-v1"]
    assert os_store.get("inc-1") is not None
    assert os_store.get("inc-1").id == "inc-1-v2"  # type: ignore[union-attr]


@pytest.mark.parametrize("refresh", [None, "wait_for"])
def test_a_put_is_searchable_as_soon_as_it_returns(client: OpenSearch, refresh: str | None) -> None:
    options: dict[str, Any] = {} if refresh is None else {"refresh": refresh}
    with OpenSearchReportStore(client, prefix=fresh_prefix(), **options) as store:
        store.put(kafka_report())
        store.put_incident(Incident(id="inc-2", opened_at=0.0, updated_at=1.0))

        assert ids(store.search("kafka-orders")) == ["inc-2-v1"]
        assert [r.id for r in store.recent(1)] == ["inc-2-v1"]
        assert store.get("inc-2") == kafka_report()


def test_unreachable_server_raises_a_store_error_with_a_hint() -> None:
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9.*make services-up"):
        OpenSearchReportStore.connect("http://127.0.0.1:9")
    settings = Settings.load(
        env={
            "FORESHOCK_STORE_BACKEND": "opensearch",
            "FORESHOCK_OPENSEARCH_URL": "http://127.0.0.1:9",
        },
        config=None,
    )
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9.*make services-up"):
        open_store(settings, Path("unused"))


def test_the_factory_opens_the_configured_backend(client: OpenSearch, tmp_path: Path) -> None:
    prefix = fresh_prefix()
    env = {"FORESHOCK_STORE_BACKEND": "opensearch", "FORESHOCK_OPENSEARCH_INDEX_PREFIX": prefix}
    opened = open_store(Settings.load(env=env, config=None), tmp_path)
    try:
        assert isinstance(opened, OpenSearchReportStore)
        assert opened.prefix == prefix
    finally:
        opened.close()
    embedded = open_store(Settings.load(env={}, config=None), tmp_path / "home")
    try:
        assert isinstance(embedded, SQLiteReportStore)
    finally:
        embedded.close()


def test_reports_cli_prints_the_same_on_both_backends(client: OpenSearch, tmp_path: Path) -> None:
    commands = [
        ["search", "kafk"],
        ["search", "replication", "slot"],
        ["search", "redis", "memory", "--limit", "2"],
        ["search", "zookeeper"],
        ["show", "inc-1"],
        ["list", "--limit", "3"],
    ]
    outputs: dict[str, list[str]] = {}
    for backend in ("sqlite", "opensearch"):
        env = {
            "FORESHOCK_STORE_BACKEND": backend,
            "FORESHOCK_OPENSEARCH_INDEX_PREFIX": fresh_prefix(),
            "FORESHOCK_OPENSEARCH_URL": Settings.load().opensearch_url,
            "COLUMNS": "200",
        }
        home = tmp_path / backend
        with closing(open_store(Settings.load(env=env, config=None), home)) as writer:
            for report in corpus():
                writer.put(report)
        runner = CliRunner(env=env)
        outputs[backend] = []
        for command in commands:
            result = runner.invoke(reports_app, [*command, "--home", str(home)])
            assert result.exit_code == 0, result.output
            outputs[backend].append(result.output)

    assert outputs["opensearch"] == outputs["sqlite"]
    kafk, replication, redis, nothing, show, listed = outputs["opensearch"]
    assert "Kafka consumer lag on orders" in kafk and "inc-2-v1" in kafk
    assert "**replication** **slot**" in replication
    assert "inc-1-v1" in redis and "inc-1-v2" in redis and "inc-2-v1" not in redis
    assert "no matching report" in nothing
    assert "Redis still out of memory" in show
    assert listed.index("inc-4-v1") < listed.index("inc-1-v2") < listed.index("inc-3-v1")


def test_reports_cli_without_a_sqlite_store_says_how_to_make_one(tmp_path: Path) -> None:
    runner = CliRunner(env={"FORESHOCK_STORE_BACKEND": "sqlite"})

    result = runner.invoke(reports_app, ["list", "--home", str(tmp_path / "none")])

    assert result.exit_code != 0
    assert "no report store at" in str(result.exception)


def test_search_query_never_passes_syntax_through() -> None:
    query = search_query('title:"x" OR (y) AND z*', any_word=True)

    assert query is not None
    texts = [c["multi_match"]["query"] for c in query["bool"]["should"]]
    assert texts == ["title", "x", "or", "y", "and", "z"]
    assert all(set(t) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ") for t in texts)


def test_bulk_throughput(client: OpenSearch, os_store: OpenSearchReportStore) -> None:
    """~5,000 documents per kind; prints documents/s (see the report of this change)."""
    n = 5_000
    reports = [
        redis_report(id=f"inc-{i}-v1", incident_id=f"inc-{i}", created_at=float(i))
        for i in range(n)
    ]
    anomalies = [anomaly(i) for i in range(n)]

    start = time.perf_counter()
    assert os_store.put_reports(reports) == n
    reports_s = n / (time.perf_counter() - start)
    start = time.perf_counter()
    assert os_store.put_anomalies(anomalies) == n
    anomalies_s = n / (time.perf_counter() - start)

    print(f"\nbulk: {reports_s:,.0f} reports/s, {anomalies_s:,.0f} anomalies/s")
    assert client.count(index=os_store.indices["reports"])["count"] == n
    assert len(os_store.search("redis", limit=50)) == 50


def test_dashboards_objects_match_the_reports_template() -> None:
    """The saved objects analysts import name fields the template really maps (no server)."""
    path = Path(__file__).parents[2] / "infra" / "opensearch" / "dashboards.ndjson"
    objects = {o["type"]: o for o in map(json.loads, path.read_text().splitlines())}
    mapping = index_templates("foreshock")["foreshock-reports"]["template"]["mappings"]
    props = mapping["properties"]

    pattern = objects["index-pattern"]
    assert pattern["attributes"]["title"] == "foreshock-reports*"
    assert props[pattern["attributes"]["timeFieldName"]]["type"] == "date"
    listed = {f["name"]: f for f in json.loads(pattern["attributes"]["fields"])}
    for name in ("title", "summary", "root_cause_resource", "failure_mode", "created_at"):
        assert listed[name]["esTypes"] == [props[name]["type"]]
    search = objects["search"]
    assert search["attributes"]["title"] == "foreshock root-cause reports"
    assert search["attributes"]["columns"] == ["title", "root_cause_resource", "failure_mode"]
    vis = json.loads(objects["visualization"]["attributes"]["visState"])
    (terms,) = [a for a in vis["aggs"] if a["type"] == "terms"]
    assert props[terms["params"]["field"]]["type"] == "keyword"
    for saved in (search, objects["visualization"]):
        assert [r["id"] for r in saved["references"]] == [pattern["id"]]


# --- the LLM enricher's reports ----------------------------------------------------------


def enriched_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "summary": "redis-cache ran out of memory: keys with no expiry filled maxmemory.",
        "enriched_by": "local-model",
        "confidence": 0.8,
        "would_change": ["evictions without memory growth"],
    }
    return redis_report(**(fields | overrides))


def test_an_enriched_report_is_searchable_in_both_stores(store: ReportStore) -> None:
    store.put(enriched_report())
    store.put(kafka_report())

    assert ids(store.search("expiry")) == ["inc-1-v1"]
    got = store.get("inc-1-v1")
    assert got is not None and (got.enriched_by, got.confidence) == ("local-model", 0.8)


def test_analysts_filter_reports_by_writer_failure_mode_and_confidence(
    client: OpenSearch, os_store: OpenSearchReportStore
) -> None:
    os_store.put(enriched_report())
    os_store.put(kafka_report())  # the narrator's
    os_store.put(enriched_report(id="inc-3-v1", incident_id="inc-3", confidence=0.3))
    client.indices.refresh(index=os_store.indices["reports"])  # type: ignore[index]

    def matching(*filters: dict[str, Any]) -> list[str]:
        body = {"query": {"bool": {"filter": list(filters)}}, "sort": [{"id": "asc"}]}
        res = client.search(index=os_store.indices["reports"], body=body)  # type: ignore[index]
        return [h["_source"]["id"] for h in res["hits"]["hits"]]

    assert matching({"term": {"enriched_by": "local-model"}}) == ["inc-1-v1", "inc-3-v1"]
    assert matching({"term": {"enriched_by": "narrator"}}) == ["inc-2-v1"]
    assert matching(
        {"term": {"failure_mode": "memory_exhaustion"}}, {"range": {"confidence": {"gte": 0.5}}}
    ) == ["inc-1-v1"]


def test_an_index_of_the_previous_mapping_version_gains_the_new_fields(
    client: OpenSearch,
) -> None:
    """Upgrading foreshock keeps the reports already indexed and adds the LLM fields."""
    prefix = fresh_prefix()
    name = f"{prefix}-reports"
    body = copy.deepcopy(index_templates(prefix)[name]["template"])  # as version 1 made it:
    for field in ("enriched_by", "enrichment_note", "confidence", "would_change"):
        del body["mappings"]["properties"][field]
    body["mappings"]["_meta"]["foreshock_version"] = 1
    client.indices.create(index=name, body=body)
    with OpenSearchReportStore(client, prefix=prefix) as store:
        store.put(enriched_report())
        mapping = client.indices.get_mapping(index=name)[name]["mappings"]
        assert mapping["_meta"]["foreshock_version"] >= 2
        assert mapping["properties"]["enriched_by"]["type"] == "keyword"
        assert mapping["properties"]["confidence"]["type"] == "double"
        assert ids(store.search("expiry")) == ["inc-1-v1"]
