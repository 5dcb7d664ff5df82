"""ConsoleAlertSink prints event text literally: no markup, no escape sequence (issue 10)."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from foreshock.pipelines.sinks.alerts import ConsoleAlertSink, printable
from foreshock.schemas.alert import AlertEvent

EVIL = "[red]x[/red]\x1b[2J"


def _printed(**fields: str) -> str:
    console = Console(file=io.StringIO(), width=300, color_system=None)
    event = {"dedup_key": "inc-1", "action": "trigger", "summary": "s", "source": "db"}
    event.update(fields)
    ConsoleAlertSink(console).send(AlertEvent(timestamp=0.0, **event))  # type: ignore[arg-type]
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_markup_and_escapes_in_an_event_are_printed_as_text() -> None:
    out = _printed(source=EVIL, summary="title \x1b]0;owned\x07 changed", dedup_key=EVIL)
    assert "\x1b" not in out and "\x07" not in out
    assert out.count("[red]x[/red]") == 2
    assert "title  changed" in out  # the whole OSC sequence is gone, payload included


def test_an_event_is_one_line() -> None:
    assert _printed(summary="line one\nline two\r\n").count("\n") == 1


@given(st.text())
def test_printable_leaves_no_control_character(text: str) -> None:
    out = printable(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert printable(out) == out
