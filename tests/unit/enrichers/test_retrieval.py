"""Knowledge retrieval: the evidence an incident carries finds the failure mode behind it."""

from __future__ import annotations

import pytest

from foreshock.enrichers.retrieval import KnowledgeIndex
from foreshock.evaluate.knowledge import Pair, score_pairs
from foreshock.packs.knowledge import load_knowledge


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex(load_knowledge())


def test_metric_symptoms_with_their_direction_pick_the_failure_mode(index: KnowledgeIndex) -> None:
    hits = index.search(
        kind="postgresql",
        symptoms=[('pg_stat_activity_count{state="idle in transaction"}', "up")],
    )
    assert hits[0].mode.id == "postgresql.idle_in_transaction"
    assert any("pg_stat_activity_count" in m for m in hits[0].matched)


def test_the_direction_matters(index: KnowledgeIndex) -> None:
    """Memory going down on a redis is not memory exhaustion."""
    up = index.search(kind="redis", symptoms=[("redis_memory_used_bytes", "up")], k=1)
    down = index.search(kind="redis", symptoms=[("redis_memory_used_bytes", "down")], k=5)
    assert up[0].mode.id == "redis.memory_exhaustion"
    assert "redis.memory_exhaustion" not in [h.mode.id for h in down[:1]]


def test_a_characteristic_log_line_outweighs_a_shared_metric(index: KnowledgeIndex) -> None:
    hits = index.search(
        kind="mysql",
        symptoms=[("mysql_global_status_threads_connected", "up")],
        logs=["Lock wait timeout exceeded; try restarting transaction"],
    )
    assert hits[0].mode.id == "mysql.lock_contention"
    assert any(m.startswith("log:") for m in hits[0].matched)


def test_free_text_alone_finds_a_mode_across_kinds(index: KnowledgeIndex) -> None:
    hits = index.search(text="kafka consumer group lag keeps growing, consumers fall behind")
    assert hits[0].mode.kind == "kafka"
    assert "lag" in hits[0].mode.id


def test_the_kind_filter_keeps_to_that_middleware(index: KnowledgeIndex) -> None:
    hits = index.search(kind="opensearch", text="disk full", k=5)
    assert hits and {h.mode.kind for h in hits} == {"opensearch"}


def test_no_evidence_gives_no_hits(index: KnowledgeIndex) -> None:
    assert index.search(kind="redis") == []


def test_scoring_counts_recall_at_1_and_3_and_lists_misses(index: KnowledgeIndex) -> None:
    right = Pair(
        "r", "redis", [("redis_memory_used_bytes", "up")], [], "redis.memory_exhaustion", "a"
    )
    wrong = Pair("r", "redis", [("redis_memory_used_bytes", "up")], [], "redis.unreachable", "b")
    s = score_pairs([right, wrong], index)
    assert (s["pairs"], s["recall_at_1"]) == (2, 0.5)
    assert [m["source"] for m in s["misses"]] == ["b"]
    assert s["misses"][0]["found"][0] == "redis.memory_exhaustion"
