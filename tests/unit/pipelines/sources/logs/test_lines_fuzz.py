"""Whatever a log file holds, the header parsers and LineParser raise nothing, take time
bounded per byte, and account for every line (issue 10)."""

from __future__ import annotations

import math
import time
from datetime import UTC, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from foreshock.pipelines.sources.logs.formats import FORMATS, LineParser
from foreshock.pipelines.sources.logs.headers import (
    HEADER_PARSERS,
    Parsed,
    parse_generic,
    parse_postgresql,
)

# real headers, so that the fuzzed bodies reach the parsers' inner fields
HEADERS = [
    "",
    "1:M 25 Nov 2026 13:52:48.123 * ",
    "12:signal-handler (1795615589) ",
    "2026-11-25 13:52:48 0 [Note] ",
    "2026-11-25 13:52:48 5 [Warning] [MY-010116] [Server] ",
    "2026-11-25 13:52:48.123 UTC [77] ERROR:  ",
    "2026-11-25 13:52:48.123 UTC [77] DETAIL:  ",
    "[2026-11-25 13:52:48,120] WARN ",
    "2026-11-25T13:52:48Z error: ",
    "# Time: 2026-11-25T13:52:48.123456Z",
    "# Query_time: 1.5  Lock_time: 0.1 Rows_sent: 1  Rows_examined: 9",
    "SET timestamp=1795614768;",
    "\t",
]
# pieces repeated into long runs: the shapes that make regexes backtrack
PIECES = ["a", "a.", "a1", "1", ":", " ", "[", "]", "[a", "=", "-", "\ufffd", "\x00", "\x1b[2J"]


@st.composite
def log_line(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(HEADERS))
    body = draw(st.text(max_size=80))
    run = draw(st.sampled_from(PIECES)) * draw(st.integers(0, 3000))
    tail = draw(st.text(max_size=20))
    return head + body + run + tail


@st.composite
def byte_line(draw: st.DrawFn) -> str:
    """Raw bytes as a source decodes them (UTF-8, undecodable bytes replaced)."""
    head = draw(st.sampled_from(HEADERS)).encode()
    raw = draw(st.binary(max_size=400)) * draw(st.integers(1, 20))
    return (head + raw).replace(b"\n", b" ").decode("utf-8", "replace").rstrip("\r")


LINES = log_line() | byte_line() | st.text(max_size=200)
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=2),  # per example; the per-byte bound is asserted below
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: a generous bound per byte (the quadratic regexes this guards against took ~100 µs/byte
#: on 16 kB lines), in this thread's CPU time: a backtracking regex burns CPU, while wall
#: time also counts the moments a loaded machine runs something else (a 83-byte call read
#: 0.40 s of wall time with two evaluations beside the unit tests on 2 cores)
SECONDS_PER_BYTE = 20e-6
SECONDS_PER_CALL = 0.25


def _within(started: float, text: str) -> None:
    spent = time.thread_time() - started
    assert spent < SECONDS_PER_CALL + SECONDS_PER_BYTE * len(text.encode()), (spent, len(text))


def _check(p: Parsed | None) -> None:
    if p is None:
        return
    assert isinstance(p.content, str)
    assert p.timestamp is None or math.isfinite(p.timestamp)
    assert p.level in {"debug", "info", "notice", "warning", "error", "fatal"}


@FUZZ
@given(line=LINES)
@example(line="2026-11-25 13:52:48+99:00 zone past a day")
@example(line="2026-11-25 13:52:48.1 -25 [1] LOG:  zone past a day")
@example(line="12:signal-handler (" + "9" * 400 + ") a time past any date")
def test_header_parsers_raise_nothing(line: str) -> None:
    for parse in (*HEADER_PARSERS.values(), parse_generic):
        started = time.thread_time()
        _check(parse(line, UTC))
        _within(started, line)


@FUZZ
@given(lines=st.lists(LINES, max_size=12), fmt=st.sampled_from(FORMATS))
def test_line_parser_accounts_for_every_line(lines: list[str], fmt: str) -> None:
    parser = LineParser(fmt, "db-1")
    started = time.thread_time()
    records = parser.feed(lines, now=1000.0) + parser.flush(now=1000.0)
    _within(started, "".join(lines))
    assert all(r.resource == "db-1" and isinstance(r.message, str) for r in records)
    assert all(math.isfinite(r.timestamp) for r in records)
    shown = [ln for ln in lines if ln.strip()]
    final = parser.format
    if final in ("redis", "mariadb", "generic"):
        assert len(records) == len(shown)  # one line, one record
    elif final == "postgresql":
        continuations = sum(
            1
            for ln in shown
            if ((p := parse_postgresql(ln)) is not None and "continuation" in p.attributes)
            or (p is None and ln[:1] in ("\t", " "))
        )
        assert len(records) == len(shown) - continuations
        assert parser.dropped <= continuations
    else:  # mariadb-slow: entries of several lines; a line is a record, a part, or dropped
        assert len(records) + parser.dropped <= len(shown)


@pytest.mark.parametrize("fmt", ["generic", "redis", "mariadb", "postgresql", "auto"])
def test_a_megabyte_line_costs_time_linear_in_its_size(fmt: str) -> None:
    line = "2026-11-25 13:52:48.123 UTC [77] ERROR:  " + "a." * 500_000
    parser = LineParser(fmt, "db-1")
    started = time.thread_time()
    records = parser.feed([line], now=0.0) + parser.flush(now=0.0)
    _within(started, line)
    assert len(records) == 1
