"""Header parsers and multi-line assembly on real-looking lines of the lab's servers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from foreshock.pipelines.sources.logs.formats import LineParser, normalise_query, sniff
from foreshock.pipelines.sources.logs.headers import (
    parse_generic,
    parse_mariadb,
    parse_postgresql,
    parse_redis,
)
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.logs import LogRecord

T0 = datetime(2026, 11, 25, 13, 52, 48, tzinfo=UTC).timestamp()

REDIS = [
    "1:C 25 Nov 2026 13:52:48.000 * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "1:C 25 Nov 2026 13:52:48.001 # Warning: no config file specified, using the default config.",
    "1:M 25 Nov 2026 13:52:48.002 * monotonic clock: POSIX clock_gettime",
    "1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp",
    "1:M 25 Nov 2026 13:52:49.500 - Accepted 127.0.0.1:51234",
    "1:M 25 Nov 2026 13:52:50.000 . Client closed connection id=5 addr=127.0.0.1:51234",
    "20:C 25 Nov 2026 13:57:48.020 * DB saved on disk",
]
MARIADB = [
    "2026-11-25 13:52:48 0 [Note] Starting MariaDB 10.11.6-MariaDB-log as process 1",
    "2026-11-25 13:52:48 0 [Note] InnoDB: Buffer pool(s) load completed at 261125 13:52:48",
    "2026-11-25 13:53:10 5 [Warning] Aborted connection 5 to db: 'shop' user: 'app' "
    "host: 'localhost' (Got an error reading communication packets)",
    "2026-11-25 13:54:00 0 [ERROR] InnoDB: Unable to lock ./ibdata1 error: 11",
]
POSTGRES = [
    "2026-11-25 13:52:48.123 UTC [1] LOG:  starting PostgreSQL 15.5 on x86_64-pc-linux-gnu",
    "2026-11-25 13:52:48.200 UTC [1] LOG:  database system is ready to accept connections",
    '2026-11-25 13:53:01.001 UTC [88] ERROR:  duplicate key value violates unique constraint "pk"',
    "2026-11-25 13:53:01.001 UTC [88] DETAIL:  Key (id)=(42) already exists.",
    "2026-11-25 13:53:01.001 UTC [88] STATEMENT:  INSERT INTO orders (id, total)",
    "\t\tVALUES (42, 10.5);",
    "2026-11-25 13:53:02.000 UTC [90] FATAL:  sorry, too many clients already",
    "2026-11-25 13:53:03.000 UTC [91] WARNING:  there is no transaction in progress",
]
SLOW = [
    "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (MariaDB Server). started with:",
    "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock",
    "Time\t\t    Id Command\tArgument",
    "# Time: 261125 13:52:48",
    "# User@Host: app[app] @ localhost [127.0.0.1]",
    "# Thread_id: 31  Schema: shop  QC_hit: No",
    "# Query_time: 3.000201  Lock_time: 0.000045  Rows_sent: 1  Rows_examined: 0",
    "# Rows_affected: 0  Bytes_sent: 64",
    "use shop;",
    "SET timestamp=1795614768;",
    "SELECT SLEEP(3);",
    "# User@Host: app[app] @ localhost [127.0.0.1]",
    "# Thread_id: 32  Schema: shop  QC_hit: No",
    "# Query_time: 2.5  Lock_time: 0.1  Rows_sent: 10  Rows_examined: 250000",
    "SET timestamp=1795614770;",
    "SELECT o.id, o.total FROM orders o",
    "  WHERE o.customer = 'alice' AND o.id IN (1, 2, 3)",
    "  ORDER BY o.total DESC;",
]


def test_redis_lines_give_time_level_and_content() -> None:
    parsed = [parse_redis(line) for line in REDIS]
    assert all(p is not None for p in parsed)
    ready = parsed[3]
    assert ready is not None
    assert ready.timestamp == pytest.approx(T0 + 0.123)
    assert (ready.level, ready.content) == ("notice", "Ready to accept connections tcp")
    assert [p.level for p in parsed if p] == [
        "notice",
        "warning",
        "notice",
        "notice",
        "info",
        "debug",
        "notice",
    ]
    assert parsed[6] is not None and parsed[6].attributes == {"pid": "20", "role": "C"}


def test_mariadb_error_log_levels_and_mysql8_form() -> None:
    levels = [(p.level, p.timestamp) for p in map(parse_mariadb, MARIADB) if p]
    assert levels == [
        ("notice", T0),
        ("notice", T0),
        ("warning", T0 + 22),
        ("error", T0 + 72),
    ]
    p = parse_mariadb(
        "2026-11-25T13:52:48.500000Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: "
        "ready for connections."
    )
    assert p is not None
    assert p.timestamp == pytest.approx(T0 + 0.5)
    assert p.content == "/usr/sbin/mysqld: ready for connections."
    assert p.attributes["code"] == "MY-010931"
    assert parse_mariadb(REDIS[0]) is None


def test_postgresql_levels_and_zones() -> None:
    p = parse_postgresql(POSTGRES[6])
    assert p is not None
    assert (p.level, p.content, p.attributes["pid"]) == (
        "fatal",
        "sorry, too many clients already",
        "90",
    )
    assert p.timestamp == pytest.approx(T0 + 14)
    offset = parse_postgresql("2026-11-25 14:52:48.000 +01 [7] LOG:  checkpoint starting: time")
    assert offset is not None and offset.timestamp == pytest.approx(T0)
    assert parse_postgresql(MARIADB[0]) is None


def test_postgresql_continuations_attach_to_their_record() -> None:
    parser = LineParser("postgresql", "pg-1")
    records = parser.feed(POSTGRES, now=0.0) + parser.flush(now=0.0)
    assert [r.level for r in records] == ["info", "info", "error", "fatal", "warning"]
    err = records[2]
    assert err.message == 'duplicate key value violates unique constraint "pk"'
    assert err.attributes["detail"] == "Key (id)=(42) already exists."
    assert err.attributes["statement"] == "INSERT INTO orders (id, total) VALUES (42, 10.5);"
    assert all(r.resource == "pg-1" for r in records)


def test_postgresql_continuation_without_a_record_is_dropped() -> None:
    parser = LineParser("postgresql", "pg-1")
    assert parser.feed([POSTGRES[3]], now=0.0) + parser.flush(0.0) == []
    assert parser.dropped == 1


def test_slow_log_entries_become_one_record_each() -> None:
    parser = LineParser("mariadb-slow", "db-1")
    records = parser.feed(SLOW, now=0.0)
    assert len(records) == 2  # each completed by its query's ';', no flush needed
    first, second = records
    assert first.timestamp == 1795614768.0 and first.level == "warning"
    assert first.message == (
        "slow query: Query_time=3.000201 Lock_time=0.000045 Rows_sent=1 Rows_examined=0 "
        "SELECT SLEEP(?)"
    )
    assert first.attributes["schema"] == "shop"
    assert first.attributes["user_host"] == "app[app] @ localhost [127.0.0.1]"
    assert second.message.endswith(
        "SELECT o.id, o.total FROM orders o WHERE o.customer = ? AND o.id IN (?) "
        "ORDER BY o.total DESC"
    )
    assert second.attributes["rows_examined"] == "250000"


def test_slow_log_entry_without_set_timestamp_uses_time_line_and_waits_for_flush() -> None:
    parser = LineParser("mariadb-slow", "db-1")
    lines = ["# Time: 261125 13:52:48", "# Query_time: 1.2  Lock_time: 0.0", "SELECT 1"]
    assert parser.feed(lines, now=5.0) == []
    [r] = parser.flush(now=5.0)
    assert r.timestamp == T0 and r.message.endswith("SELECT ?")


def test_generic_and_headerless_lines() -> None:
    kafka = parse_generic("[2026-11-25 13:52:48,123] INFO [KafkaServer id=1] started (kafka)")
    assert (kafka.timestamp, kafka.level) == (pytest.approx(T0 + 0.123), "info")
    iso = parse_generic("2026-11-25T13:52:48.500Z error: upstream timed out")
    assert (iso.timestamp, iso.level, iso.content) == (
        pytest.approx(T0 + 0.5),
        "error",
        "upstream timed out",
    )
    bare = parse_generic("java.net.ConnectException: Connection refused")
    assert bare.timestamp is None and bare.level == "error"


def test_headerless_line_in_a_formatted_file_gets_the_previous_time() -> None:
    parser = LineParser("mariadb", "db-1")
    records = parser.feed(
        [
            MARIADB[0],
            "Version: '10.11.6-MariaDB-log'  socket: '/run/mysqld/mysqld.sock'  port: 3306",
        ],
        now=999.0,
    )
    assert [r.timestamp for r in records] == [T0, T0]
    plain = LineParser("generic", "app").feed(["something happened"], now=999.0)
    assert plain[0].timestamp == 999.0


@pytest.mark.parametrize(
    ("lines", "expected"),
    [(REDIS, "redis"), (MARIADB, "mariadb"), (POSTGRES, "postgresql"), (SLOW, "mariadb-slow")],
)
def test_auto_sniffs_each_format(lines: list[str], expected: str) -> None:
    assert sniff(lines) == expected
    parser = LineParser("auto", "r")
    records: list[LogRecord] = parser.feed(lines, now=0.0) + parser.flush(0.0)
    assert parser.format == expected and records


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown log format 'syslog'"):
        LineParser("syslog", "r")


def test_normalise_query_keeps_the_shape() -> None:
    assert normalise_query("UPDATE t SET a = 'it''s', b = 0x1F WHERE id = 7;") == (
        "UPDATE t SET a = ?, b = ? WHERE id = ?"
    )


def test_lines_before_the_first_header_take_the_next_time() -> None:
    parser = LineParser("redis", "cache")
    records = parser.feed(
        [
            "# redis: started by lab.sh at 2026-11-25T13:52:40+00:00",
            "1:C 25 Nov 2026 13:52:48.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            "1:signal-handler (1795614800) Received SIGTERM scheduling shutdown...",
        ],
        now=2e9,  # arrival much later: a backlog read at start
    )
    assert [(r.timestamp, r.level) for r in records] == [
        (T0, "info"),
        (T0, "warning"),
        (1795614800.0, "warning"),
    ]
    waiting = LineParser("postgresql", "pg")
    assert waiting.feed(["server starting"], now=5.0) == []
    assert [r.timestamp for r in waiting.flush(now=5.0)] == [5.0]  # no header came: arrival


def test_a_slow_log_with_only_its_banner_is_recognised() -> None:
    assert sniff(SLOW[:3]) == "mariadb-slow"
    parser = LineParser("auto", "db")
    assert parser.feed(SLOW[:3], now=0.0) + parser.flush(0.0) == []
