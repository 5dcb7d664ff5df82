"""Data reaches the terminal as plain text, and hostile input costs bounded time (issue 10).

Resource names, report text and log lines may hold rich markup (``[red]x[/red]``) or
terminal escape sequences (``\\x1b[2J`` clears the screen, ``\\x1b]0;…\\x07`` retitles
the window): every command prints them literally, with no escape sequence left. A binary
log file, a search of one word repeated 2,000 times and a ``--limit`` of 1e20 are
answered quickly and clearly.
"""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.cli.render import candidates_table, markdown
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.pipelines.sinks.alerts import ConsoleAlertSink
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.incident import Incident, RootCauseCandidate
from foreshock.schemas.report import EvidenceRow, RootCauseReport

runner = CliRunner()
EVIL = "[red]x[/red]\x1b[2J"  # markup and "clear the screen"
OSC = "\x1b]0;owned\x07"  # "set the window title"
ENV = {"FORESHOCK_STORE_BACKEND": "sqlite", "NO_COLOR": "1", "COLUMNS": "200"}


def _invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env=ENV)
    return res.exit_code, res.output


def _assert_plain(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out, repr(out)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    with SQLiteReportStore(home / "reports.sqlite") as store:
        store.put(
            RootCauseReport(
                id="r-1",
                incident_id="inc-1",
                created_at=100.0,
                title=f"redis down on {EVIL} {OSC}",
                summary=f"redis evicted keys {EVIL}",
                root_cause_resource=EVIL,
                failure_mode="memory_exhaustion",
                evidence=[
                    EvidenceRow(
                        resource=EVIL,
                        metric="redis_evicted_keys_total",
                        onset=90.0,
                        direction="up",
                        value=40.0,
                        baseline=0.5,
                        score=0.99,
                    )
                ],
            )
        )
    return home


# ------------------------------------------------------------------ item 12: plain text
def test_logs_templates_prints_log_text_literally(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"user [bold red]bob logged in\x1b[2J\nwindow {OSC} title\n" * 3)
    code, out = _invoke("logs", "templates", "--input", str(log))
    assert code == 0, out
    _assert_plain(out)
    assert "user [bold red]bob logged in" in out and ";owned title" in out


def test_reports_search_list_and_show_print_report_text_literally(home: Path) -> None:
    for args in (["search", "redis"], ["list"], ["show", "r-1"]):
        code, out = _invoke("reports", *args, "--home", str(home))
        assert code == 0, out
        _assert_plain(out)
        assert "[red]x[/red]" in out, (args, out)


def test_run_rendering_prints_resource_names_literally() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    incident = Incident(
        id="inc-1",
        opened_at=0.0,
        updated_at=0.0,
        resources=[EVIL],
        candidates=[RootCauseCandidate(resource=EVIL, score=1.0, failure_mode=OSC)],
    )
    console.print(candidates_table(incident))
    console.print(markdown(f"# {EVIL}\n\n{OSC} body"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    _assert_plain(out)
    assert "[red]x[/red]" in out


def test_console_alerts_print_event_text_literally() -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=True)
    ConsoleAlertSink(console).send(
        AlertEvent(
            dedup_key="inc-1",
            action="trigger",
            timestamp=0.0,
            summary=f"down {OSC}",
            source=EVIL,
        )
    )
    out = console.file.getvalue()  # type: ignore[attr-defined]
    # the sink's own colours are escape sequences: none may come from the event's text
    assert "\x1b[2J" not in out and "\x1b]" not in out and "\x07" not in out, repr(out)
    assert "[red]x[/red]" in out


# ------------------------------------------------------------------ item 10: bounded cost
def test_logs_templates_reads_a_binary_file_in_time_linear_in_its_size(tmp_path: Path) -> None:
    # before: 4 MB of binary took 36 s (a template per line, each compared with the rest)
    binary = tmp_path / "core.bin"
    binary.write_bytes(random.Random(0).randbytes(2_000_000))
    started = time.perf_counter()
    code, out = _invoke("logs", "templates", "--input", str(binary), "--json")
    assert code == 0, out
    assert time.perf_counter() - started < 30.0
    mined = json.loads(out)
    assert mined["n_templates"] <= 10  # before: 12,383 templates for 4 MB
    assert mined["templates"][0]["count"] >= 0.99 * mined["lines"]


def test_logs_templates_reads_a_file_without_line_breaks(tmp_path: Path) -> None:
    flat = tmp_path / "flat.log"
    flat.write_bytes(b"2024-01-31 12:00:00 INFO " + b"a." * 2_000_000)
    started = time.perf_counter()
    code, out = _invoke("logs", "templates", "--input", str(flat), "--json")
    assert code == 0, out
    assert time.perf_counter() - started < 10.0
    assert '"lines": 1' in out


def test_search_of_a_word_repeated_2000_times_is_quick(home: Path) -> None:
    # before: over 120 s (an FTS5 query of 2,000 terms)
    started = time.perf_counter()
    code, out = _invoke("reports", "search", *(["redis"] * 2000), "--home", str(home))
    assert code == 0, out
    assert time.perf_counter() - started < 10.0
    assert "r-1" in out


def test_search_says_when_words_are_left_out(home: Path) -> None:
    res = runner.invoke(
        app,
        ["reports", "search", *[f"w{i}" for i in range(100)], "--home", str(home)],
        env=ENV,
    )
    assert res.exit_code == 0
    assert "first 64 distinct words; 36 more left out" in res.output
    code, out = _invoke("reports", "search", "--help")
    assert code == 0
    assert "64 distinct words" in out


@pytest.mark.parametrize("command", ["search redis", "list"])
@pytest.mark.parametrize("limit", ["100000000000000000000", "0", "-3", "10001"])
def test_a_limit_out_of_range_is_a_clear_usage_error(home: Path, command: str, limit: str) -> None:
    # before: --limit 1e20 raised OverflowError from SQLite
    res = runner.invoke(
        app, ["reports", *command.split(), "--limit", limit, "--home", str(home)], env=ENV
    )
    assert res.exit_code == 2, res.output
    assert "Invalid value for '--limit'" in res.output
    assert not isinstance(res.exception, OverflowError)
