"""The file tailer survives what logrotate and restarts do to log files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from foreshock.pipelines.sources.logs.tail import FileTail, LogFiles, LogFileSpec
from foreshock.schemas.errors import ConfigError


def _append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def test_appended_lines_come_once_and_in_order(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\n")
    with FileTail(log) as tail:
        assert tail.read() == ["a", "b"]
        assert tail.read() == []
        _append(log, "c\r\nd\n")
        assert tail.read() == ["c", "d"]


def test_a_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("first\nsec")
    with FileTail(log) as tail:
        assert tail.read() == ["first"]
        _append(log, "ond par")
        assert tail.read() == []
        _append(log, "t\n")
        assert tail.read() == ["second part"]


def test_rename_rotation_finishes_the_old_file_then_follows_the_new(tmp_path: Path) -> None:
    log = tmp_path / "redis.log"
    log.write_text("1\n2\n")
    with FileTail(log) as tail:
        assert tail.read() == ["1", "2"]
        _append(log, "3\n4-last-without-newline")  # written before the rotation, not read
        os.rename(log, tmp_path / "redis.log.1")
        # no new file yet: the server may still write to the old one, so the line waits
        assert tail.read() == ["3"]
        _append(tmp_path / "redis.log.1", "-still")
        log.write_text("5\n")  # logrotate 'create': now the old file's last line is final
        assert tail.read() == ["4-last-without-newline-still", "5"]
        _append(log, "6\n")
        assert tail.read() == ["6"]


def test_rotation_and_new_lines_between_two_reads(tmp_path: Path) -> None:
    log = tmp_path / "redis.log"
    log.write_text("1\n")
    with FileTail(log) as tail:
        assert tail.read() == ["1"]
        _append(log, "2\n")
        os.rename(log, tmp_path / "redis.log.1")
        log.write_text("3\n")
        assert tail.read() == ["2", "3"]


def test_copytruncate_starts_again_from_the_top(tmp_path: Path) -> None:
    log = tmp_path / "pg.log"
    log.write_text("old line one\nold line two\n")
    with FileTail(log) as tail:
        assert len(tail.read()) == 2
        (tmp_path / "pg.log.1").write_bytes(log.read_bytes())  # copy ...
        with log.open("r+") as f:  # ... then truncate in place (same inode)
            f.truncate(0)
        _append(log, "new\n")
        assert tail.read() == ["new"]


def test_a_file_that_appears_later_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with FileTail(log, from_end=True) as tail:
        assert tail.read() == []
        assert tail.read() == []
        log.write_text("hello\nworld\n")
        assert tail.read() == ["hello", "world"]


def test_from_end_skips_what_was_already_there(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("history\n" * 100)
    with FileTail(log, from_end=True) as tail:
        assert tail.read() == []
        _append(log, "fresh\n")
        assert tail.read() == ["fresh"]


def test_restored_position_does_not_read_again(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\npart")
    first = FileTail(log)
    assert first.read() == ["a", "b"]
    saved = first.position().to_dict()  # what a process would persist
    first.close()
    _append(log, "ial\nc\n")  # written while nobody was reading

    second = FileTail(log)
    second.seek(type(first.position()).from_dict(saved))
    assert second.read() == ["partial", "c"]  # the partial line is not lost either
    second.close()


def test_restored_position_of_a_rotated_file_reads_the_new_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\n")
    first = FileTail(log)
    first.read()
    pos = first.position()
    first.close()
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("c\n")
    second = FileTail(log)
    second.seek(pos)
    assert second.read() == ["c"]
    second.close()


def test_very_long_lines_are_cut(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("x" * 25 + "\n")
    with FileTail(log, max_line_bytes=10) as tail:
        assert tail.read() == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/var/log/redis.log", "expected PATH=RESOURCE"),
        ("=redis-1", "expected PATH=RESOURCE"),
        ("/var/log/redis.log=", "no resource"),
        ("/var/log/redis.log=:redis", "no resource"),
        ("/var/log/redis.log=redis-1:syslog", "unknown format 'syslog'"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LogFileSpec.parse(spec)


def test_the_same_file_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="given twice"):
        LogFiles([f"{tmp_path}/a.log=r1", f"{tmp_path}/a.log=r2"])


def test_log_files_bind_each_file_to_its_resource_and_format(tmp_path: Path) -> None:
    redis, pg = tmp_path / "redis.log", tmp_path / "postgresql.log"
    redis.write_text("1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp\n")
    pg.write_text(
        '2026-11-25 13:53:01.001 UTC [88] ERROR:  relation "nope" does not exist\n'
        "2026-11-25 13:53:01.001 UTC [88] STATEMENT:  SELECT * FROM nope;\n"
    )
    files = LogFiles([f"{redis}=redis-cache:redis", f"{pg}=orders-db"], clock=lambda: 0.0)
    first = files.poll()
    assert [(r.resource, r.level) for r in first] == [("redis-cache", "notice")]
    assert files.formats()[str(pg)] == "postgresql"  # sniffed
    second = files.poll()  # postgresql went quiet: its ERROR is released, with STATEMENT
    assert [(r.resource, r.level, r.attributes["statement"]) for r in second] == [
        ("orders-db", "error", "SELECT * FROM nope;")
    ]
    assert second[0].attributes["source"] == str(pg)
    positions = files.positions()
    files.close()

    _append(redis, "1:M 25 Nov 2026 13:57:48.012 * 100 changes in 300 seconds. Saving...\n")
    again = LogFiles([f"{redis}=redis-cache:redis", f"{pg}=orders-db"])
    again.seek(positions)
    assert [r.message for r in again.poll()] == ["100 changes in 300 seconds. Saving..."]
    again.close()
