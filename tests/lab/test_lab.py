"""The real-middleware lab: targets up, and each fault visible in Prometheus, then reverted.

Needs `make lab-up`. Each fault test injects the fault, waits (at most 60 s) for the raw
effect the exporters report, reverts it and waits for the lab to be back to normal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from foreshock_lab import LabConfig
from foreshock_lab.faults import inject, injected, query, revert, scalar, targets

EFFECT_TIMEOUT = 60.0
EXPECTED_JOBS = {"app", "mysqld", "node", "postgres", "redis"}


def eventually(
    lab: LabConfig, expr: str, ok: Callable[[float], bool], what: str, timeout: float = 60.0
) -> float:
    """Poll PromQL ``expr`` until ``ok(value)``; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value: float | None = None
    while True:
        value = scalar(lab.prometheus_url, expr)
        if value is not None and ok(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: `{expr}` = {value} after {timeout:.0f}s")
        time.sleep(2.0)


@contextmanager
def fault(lab: LabConfig, name: str) -> Iterator[None]:
    """The fault in place for the block; reverted afterwards even if the block fails."""
    inject(name, lab)
    assert injected(name, lab)
    try:
        yield
    finally:
        revert(name, lab)
    assert not injected(name, lab)


def test_every_target_up(lab: LabConfig) -> None:
    found = targets(lab.prometheus_url)
    assert {t.job for t in found} == EXPECTED_JOBS
    assert [t for t in found if t.health != "up"] == []
    assert scalar(lab.prometheus_url, "count(up == 1)") == len(EXPECTED_JOBS)


def test_app_traffic_reaches_every_server(lab: LabConfig) -> None:
    ops = dict(
        (labels["op"], value)
        for labels, value in query(lab.prometheus_url, "rate(app_requests_total[30s])")
    )
    assert sum(ops.values()) > 10, ops  # ~30 requests/s
    assert all(v > 0 for v in ops.values()), ops
    eventually(lab, "rate(redis_commands_processed_total[30s])", lambda v: v > 5, "redis load")
    eventually(lab, "rate(mysql_global_status_questions[30s])", lambda v: v > 5, "mariadb load")
    eventually(
        lab,
        'sum(rate(pg_stat_database_xact_commit{datname="shop"}[30s]))',
        lambda v: v > 1,
        "postgresql load",
    )


def test_redis_maxmemory_evicts(lab: LabConfig) -> None:
    with fault(lab, "redis_maxmemory"):
        eventually(
            lab, "rate(redis_evicted_keys_total[15s])", lambda v: v > 0, "evictions", EFFECT_TIMEOUT
        )
        limit = scalar(lab.prometheus_url, "redis_memory_max_bytes")
        assert limit is not None and limit < 64 * 2**20
    eventually(lab, "redis_memory_max_bytes", lambda v: v == 64 * 2**20, "maxmemory restored")
    eventually(lab, "increase(redis_evicted_keys_total[15s])", lambda v: v == 0, "no evictions")


def test_mariadb_connections_exhausted(lab: LabConfig) -> None:
    with fault(lab, "mariadb_connections"):
        eventually(
            lab,
            "mysql_global_status_threads_connected - mysql_global_variables_max_connections",
            lambda v: v >= -1,
            "threads_connected at max_connections",
            EFFECT_TIMEOUT,
        )
        eventually(
            lab,
            'increase(app_errors_total{dependency="mariadb"}[15s])',
            lambda v: v > 0,
            "app sees Too many connections",
            EFFECT_TIMEOUT,
        )
    eventually(lab, "mysql_global_status_threads_connected", lambda v: v < 30, "connections freed")
    eventually(
        lab, 'increase(app_errors_total{dependency="mariadb"}[15s])', lambda v: v == 0, "no errors"
    )


def test_mariadb_lock_contention(lab: LabConfig) -> None:
    with fault(lab, "mariadb_lock_contention"):
        eventually(
            lab,
            "mysql_global_status_innodb_row_lock_current_waits",
            lambda v: v > 0,
            "row lock waits",
            EFFECT_TIMEOUT,
        )
        eventually(
            lab,
            "increase(mysql_global_status_innodb_row_lock_waits[30s])",
            lambda v: v > 0,
            "row lock waits counted",
            EFFECT_TIMEOUT,
        )
        eventually(
            lab,
            "increase(mysql_global_status_slow_queries[30s])",
            lambda v: v > 0,
            "waits over long_query_time",
            EFFECT_TIMEOUT,
        )
    eventually(lab, "mysql_global_status_innodb_row_lock_current_waits", lambda v: v == 0, "free")
    eventually(
        lab, "increase(mysql_global_status_innodb_row_lock_waits[15s])", lambda v: v == 0, "free"
    )


IDLE_IN_TX = 'sum(pg_stat_activity_count{datname="shop",state="idle in transaction"})'


def test_postgresql_idle_in_transaction(lab: LabConfig) -> None:
    with fault(lab, "postgresql_idle_in_transaction"):
        eventually(lab, IDLE_IN_TX, lambda v: v >= 25, "idle in transaction", EFFECT_TIMEOUT)
        eventually(
            lab,
            'increase(app_errors_total{dependency="postgresql"}[20s])',
            lambda v: v > 0,
            "app refused by PostgreSQL",
            EFFECT_TIMEOUT,
        )
    eventually(lab, IDLE_IN_TX, lambda v: v == 0, "sessions closed")
    eventually(
        lab,
        'increase(app_errors_total{dependency="postgresql"}[15s])',
        lambda v: v == 0,
        "no errors",
    )


def test_redis_down(lab: LabConfig) -> None:
    with fault(lab, "redis_down"):
        eventually(lab, "redis_up", lambda v: v == 0, "redis_up", EFFECT_TIMEOUT)
        eventually(
            lab,
            'increase(app_errors_total{dependency="redis"}[15s])',
            lambda v: v > 0,
            "app errors",
            EFFECT_TIMEOUT,
        )
        # Every product read misses and goes to MariaDB.
        eventually(
            lab,
            "rate(app_cache_misses_total[15s])"
            ' / on() rate(app_requests_total{op="product_view"}[15s])',
            lambda v: v > 0.95,
            "cache-miss surge",
            EFFECT_TIMEOUT,
        )
    eventually(lab, "redis_up", lambda v: v == 1, "redis back")
    eventually(
        lab, 'increase(app_errors_total{dependency="redis"}[15s])', lambda v: v == 0, "no errors"
    )
    eventually(lab, "rate(app_cache_hits_total[15s])", lambda v: v > 0, "cache hits again")
