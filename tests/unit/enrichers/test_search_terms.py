"""Search terms: a repeated word is searched once, and at most MAX_WORDS distinct words,
in the SQLite and the OpenSearch store alike (issue 10)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foreshock.enrichers.stores.opensearch_query import MAX_WORDS, search_query, search_words
from foreshock.enrichers.stores.sqlite import SQLiteReportStore, fts_query
from foreshock.schemas.report import RootCauseReport


def _phrases(query: dict[str, Any] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    clauses = query["bool"].get("must") or query["bool"]["should"]
    return [(c["multi_match"]["query"], c["multi_match"]["type"]) for c in clauses]


@pytest.fixture
def store() -> Iterator[SQLiteReportStore]:
    s = SQLiteReportStore(":memory:")
    s.put(
        RootCauseReport(
            id="r-1",
            incident_id="inc-1",
            created_at=1.0,
            title="Redis memory exhaustion on redis-cache",
            summary="redis-cache evicted keys at maxmemory",
            root_cause_resource="redis-cache",
        )
    )
    s.put(
        RootCauseReport(
            id="r-2",
            incident_id="inc-2",
            created_at=2.0,
            title="Kafka consumer lag on orders",
            summary="orders-consumer fell behind",
            root_cause_resource="kafka-orders",
        )
    )
    yield s
    s.close()


def test_a_word_repeated_2000_times_is_one_term() -> None:
    text = " ".join(["redis"] * 2000) + " "
    assert fts_query(text) == '"redis"'
    assert _phrases(search_query(text)) == [("redis", "phrase")]
    # the word being typed is kept as a prefix too
    assert fts_query("redis " * 1999 + "redis") == '"redis" AND "redis"*'


def test_at_most_max_words_distinct_words_are_searched() -> None:
    text = " ".join(f"w{i}" for i in range(3 * MAX_WORDS))
    words, last_is_prefix, left_out = search_words(text)
    assert len(words) == MAX_WORDS and left_out == 2 * MAX_WORDS and not last_is_prefix
    assert fts_query(text).count('"') == 2 * MAX_WORDS
    assert len(_phrases(search_query(text))) == MAX_WORDS
    assert len(_phrases(search_query(text, any_word=True))) == MAX_WORDS


def test_sqlite_search_of_a_repeated_word_is_quick_and_finds_the_same(
    store: SQLiteReportStore,
) -> None:
    # before: over 120 s for 2,000 copies (the FTS5 query had 2,000 terms)
    started = time.perf_counter()
    hits = store.search(" ".join(["redis"] * 2000))
    assert time.perf_counter() - started < 5.0
    assert [h.report_id for h in hits] == [h.report_id for h in store.search("redis")] == ["r-1"]


@given(
    st.lists(st.sampled_from(["redis", "cache", "kafka", "ord", "r-c", "x"]), max_size=12),
    st.booleans(),
)
def test_repeats_change_no_result(words: list[str], trailing_space: bool) -> None:
    text = " ".join(words) + (" " if trailing_space else "")
    twice = " ".join(words + words) + (" " if trailing_space else "")
    with SQLiteReportStore(":memory:") as s:
        s.put(
            RootCauseReport(
                id="r-1",
                incident_id="inc-1",
                created_at=1.0,
                title="Redis memory exhaustion on redis-cache",
                summary="orders x kafka",
                root_cause_resource="redis-cache",
            )
        )
        assert [h.report_id for h in s.search(text)] == [h.report_id for h in s.search(twice)]


@given(st.text(max_size=300), st.booleans())
def test_both_stores_search_the_same_words(text: str, any_word: bool) -> None:
    words, last_is_prefix, _ = search_words(text, any_word=any_word)
    fts = fts_query(text, any_word=any_word)
    phrases = _phrases(search_query(text, any_word=any_word))
    assert [p for p, _ in phrases] == [" ".join(w) for w in words]
    assert [t for _, t in phrases].count("phrase_prefix") == int(last_is_prefix)
    assert fts.count('"') == 2 * len(words) and fts.endswith("*") == last_is_prefix
    assert len(words) <= MAX_WORDS
