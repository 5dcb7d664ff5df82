"""SQLiteReportStore: what an analyst searching reports, and the pipeline writing them, sees."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from foreshock.enrichers.stores.base import ReportStore, StoreError
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.schemas.errors import ForeshockError
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import EvidenceRow, RootCauseReport


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
        "evidence": [
            EvidenceRow(
                resource="redis-cache",
                metric="redis_evicted_keys_total",
                onset=90.0,
                direction="up",
                value=40.0,
                baseline=0.5,
                score=0.99,
            )
        ],
        "remediations": ["Raise maxmemory or shorten key TTLs."],
    }
    fields.update(overrides)
    return RootCauseReport(**fields)


def kafka_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "id": "inc-2-v1",
        "incident_id": "inc-2",
        "created_at": 200.0,
        "title": "Kafka consumer lag on orders",
        "summary": "orders-consumer fell behind on kafka-orders; lag grew for ten minutes.",
        "root_cause_resource": "kafka-orders",
        "failure_mode": "consumer_lag",
        "remediations": ["Add consumers; check redis memory on the cache they call."],
    }
    fields.update(overrides)
    return RootCauseReport(**fields)


@pytest.fixture
def store() -> Iterator[SQLiteReportStore]:
    with SQLiteReportStore(":memory:") as s:
        yield s


def ids(hits: list[Any]) -> list[str]:
    return [h.report_id for h in hits]


def test_is_a_report_store(store: SQLiteReportStore) -> None:
    assert isinstance(store, ReportStore)


def test_finds_a_report_by_words_of_its_summary(store: SQLiteReportStore) -> None:
    store.put(redis_report())
    store.put(kafka_report())

    hits = store.search("checkout latency")

    assert ids(hits) == ["inc-1-v1"]
    assert hits[0].incident_id == "inc-1"
    assert hits[0].title == "Redis memory exhaustion on redis-cache"
    assert hits[0].created_at == 100.0
    assert hits[0].score > 0


def test_finds_a_report_by_resource_name(store: SQLiteReportStore) -> None:
    store.put(redis_report())
    store.put(kafka_report())

    assert ids(store.search("kafka-orders")) == ["inc-2-v1"]
    assert ids(store.search("redis-cache")) == ["inc-1-v1"]


def test_finds_a_report_by_metric_name_and_stemmed_words(store: SQLiteReportStore) -> None:
    store.put(redis_report(summary="Memory full."))  # "evicted" now only in evidence/chain
    store.put(kafka_report())

    assert ids(store.search("redis_evicted_keys_total")) == ["inc-1-v1"]
    assert ids(store.search("eviction")) == ["inc-1-v1"]


def test_words_that_match_nothing_find_nothing(store: SQLiteReportStore) -> None:
    store.put(redis_report())

    assert store.search("postgresql replication") == []


def test_snippet_highlights_the_matched_word(store: SQLiteReportStore) -> None:
    store.put(redis_report())

    (hit,) = store.search("checkout")

    assert "**checkout**" in hit.snippet


def test_more_relevant_report_ranks_first(store: SQLiteReportStore) -> None:
    # Both reports mention redis memory; only one is about it. Insertion order and recency
    # (the kafka report is newer) both favour the wrong one for the first query.
    store.put(kafka_report())
    store.put(redis_report())

    assert ids(store.search("redis memory")) == ["inc-1-v1", "inc-2-v1"]
    assert ids(store.search("consumers memory")) == ["inc-2-v1"]
    hits = store.search("redis memory")
    assert hits[0].score > hits[1].score


def test_limit_caps_the_number_of_hits(store: SQLiteReportStore) -> None:
    for i in range(5):
        store.put(redis_report(id=f"inc-{i}-v1", incident_id=f"inc-{i}"))

    assert len(store.search("redis", limit=3)) == 3
    assert store.search("redis", limit=0) == []


def test_last_word_matches_as_a_prefix_while_typing(store: SQLiteReportStore) -> None:
    store.put(redis_report())
    store.put(kafka_report())

    assert ids(store.search("checkout lat")) == ["inc-1-v1"]
    assert ids(store.search("kafk")) == ["inc-2-v1"]


def test_when_not_every_word_matches_reports_matching_some_are_returned(
    store: SQLiteReportStore,
) -> None:
    store.put(redis_report())
    store.put(kafka_report())

    assert ids(store.search("checkout zookeeper")) == ["inc-1-v1"]


def test_reputting_a_report_is_idempotent(store: SQLiteReportStore) -> None:
    report = redis_report()

    assert store.put(report) is True
    assert store.put(report) is False
    assert store.put(report.model_copy()) is False

    assert ids(store.search("redis")) == ["inc-1-v1"]
    assert [r.id for r in store.recent(10)] == ["inc-1-v1"]


def test_reputting_changed_content_replaces_the_report(store: SQLiteReportStore) -> None:
    store.put(redis_report())

    changed = redis_report(summary="Fragmentation made redis-cache swap.", title="Redis swap")
    assert store.put(changed) is True

    assert store.search("latency") == []  # only the old summary said it
    assert ids(store.search("fragmentation")) == ["inc-1-v1"]
    assert ids(store.search("redis")) == ["inc-1-v1"]
    assert store.get("inc-1-v1") == changed


@pytest.mark.parametrize(
    "query",
    [
        "foo-bar",
        '"',
        '"""',
        "'",
        "AND",
        "OR",
        "NOT",
        "redis AND",
        "NEAR(redis memory)",
        "redis:memory",
        "title:redis",
        "*",
        "redis*",
        "^redis",
        "(",
        "{redis cache}:memory",
        "-",
        "+redis -memory",
        "\\",
        "\x00",
        "",
        "   ",
        "日本語 ünïcödé",
        "a" * 5000,
    ],
)
def test_hostile_queries_do_not_raise(store: SQLiteReportStore, query: str) -> None:
    store.put(redis_report())

    hits = store.search(query)

    assert isinstance(hits, list)


@pytest.mark.parametrize(
    "query", ['"redis-cache', "redis:memory", "redis AND memory", "NEAR(redis", "redis*"]
)
def test_punctuation_and_operators_are_taken_as_plain_words(
    store: SQLiteReportStore, query: str
) -> None:
    store.put(redis_report())
    store.put(kafka_report(remediations=[]))

    assert ids(store.search(query)) == ["inc-1-v1"]


def test_get_by_report_id(store: SQLiteReportStore) -> None:
    report = redis_report()
    store.put(report)

    assert store.get("inc-1-v1") == report
    assert store.get("nope") is None


def test_get_by_incident_id_returns_its_newest_report(store: SQLiteReportStore) -> None:
    newest = redis_report(id="inc-1-v2", created_at=300.0, title="Redis still out of memory")
    store.put(newest)  # written first: the newest is found by time, not by write order
    store.put(redis_report(id="inc-1-v1", created_at=100.0))
    store.put(kafka_report(created_at=400.0))

    assert store.get("inc-1") == newest


def test_recent_returns_newest_first(store: SQLiteReportStore) -> None:
    store.put(kafka_report(created_at=200.0))
    store.put(redis_report(created_at=300.0))
    store.put(redis_report(id="inc-3-v1", incident_id="inc-3", created_at=100.0))

    assert [r.id for r in store.recent(2)] == ["inc-1-v1", "inc-2-v1"]
    assert [r.id for r in store.recent(10)] == ["inc-1-v1", "inc-2-v1", "inc-3-v1"]


def test_incident_upsert_keeps_the_newest_version(store: SQLiteReportStore) -> None:
    v2 = Incident(id="inc-1", opened_at=0.0, updated_at=20.0, version=2, resources=["a", "b"])
    v1 = Incident(id="inc-1", opened_at=0.0, updated_at=10.0, version=1, resources=["a"])
    v3 = Incident(id="inc-1", opened_at=0.0, updated_at=30.0, version=3, status="resolved")

    store.put_incident(v2)
    store.put_incident(v1)  # late, out-of-order delivery of an older version
    assert store.get_incident("inc-1") == v2

    store.put_incident(v3)
    assert store.get_incident("inc-1") == v3
    store.put_incident(v3)
    assert store.get_incident("inc-1") == v3
    assert store.get_incident("inc-9") is None


def test_everything_persists_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "reports.db"
    incident = Incident(id="inc-1", opened_at=0.0, updated_at=5.0, resources=["redis-cache"])
    with SQLiteReportStore(db) as first:
        first.put(redis_report())
        first.put(kafka_report())
        first.put_incident(incident)

    with SQLiteReportStore(db) as second:
        assert ids(second.search("checkout")) == ["inc-1-v1"]
        assert second.get("inc-2") == kafka_report()
        assert second.get_incident("inc-1") == incident
        assert second.put(redis_report()) is False  # still idempotent after reopen
        assert len(second.search("redis")) == 2


def test_a_second_connection_sees_writes_while_the_first_is_open(tmp_path: Path) -> None:
    db = tmp_path / "reports.db"
    with SQLiteReportStore(db) as writer, SQLiteReportStore(db) as reader:
        writer.put(redis_report())

        assert ids(reader.search("redis-cache")) == ["inc-1-v1"]


def test_unopenable_path_raises_a_foreshock_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing"):
        SQLiteReportStore(tmp_path / "missing" / "reports.db")


def test_a_file_that_is_not_a_database_raises_a_foreshock_error(tmp_path: Path) -> None:
    bogus = tmp_path / "reports.db"
    bogus.write_text("this is not sqlite\n" * 100)

    with pytest.raises(ForeshockError, match="not a database"):
        SQLiteReportStore(bogus)


def test_database_file_is_in_wal_mode_so_readers_do_not_block_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "reports.db"
    SQLiteReportStore(db).close()

    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
