"""Alert and dead-letter sinks: one page per incident, and no input dropped silently."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from foreshock.pipelines.sinks.alerts import (
    AlertSink,
    ConsoleAlertSink,
    FanoutAlertSink,
    JsonlAlertSink,
)
from foreshock.pipelines.sinks.dead_letters import DeadLetterSink, JsonlDeadLetterSink
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.dead_letter import DeadLetter


def event(dedup_key: str = "inc-1", action: str = "trigger", **overrides: Any) -> AlertEvent:
    fields: dict[str, Any] = {
        "dedup_key": dedup_key,
        "action": action,
        "timestamp": 100.0,
        "summary": "Redis memory exhaustion on redis-cache",
        "source": "redis-cache",
    }
    fields.update(overrides)
    return AlertEvent(**fields)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200, color_system=None)


def printed(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


# --- JsonlAlertSink ----------------------------------------------------------------------


def test_jsonl_sink_writes_one_json_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    sink = JsonlAlertSink(path)

    assert sink.send(event("inc-1", report_id="inc-1-v1")) is True
    assert sink.send(event("inc-2")) is True

    written = lines(path)
    assert [(r["dedup_key"], r["action"]) for r in written] == [
        ("inc-1", "trigger"),
        ("inc-2", "trigger"),
    ]
    assert AlertEvent.model_validate(written[0]) == event("inc-1", report_id="inc-1-v1")


def test_jsonl_sink_never_triggers_the_same_incident_twice(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlAlertSink(path)

    assert sink.send(event()) is True
    assert sink.send(event(timestamp=160.0, summary="re-emitted")) is False

    assert len(lines(path)) == 1


def test_jsonl_sink_resolves_a_triggered_incident_once(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlAlertSink(path)

    assert sink.send(event(action="trigger")) is True
    assert sink.send(event(action="resolve")) is True
    assert sink.send(event(action="resolve")) is False

    assert [r["action"] for r in lines(path)] == ["trigger", "resolve"]


def test_jsonl_sink_dedup_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    JsonlAlertSink(path).send(event("inc-1"))

    restarted = JsonlAlertSink(path)  # a new process replays the same incident
    assert restarted.send(event("inc-1")) is False
    assert restarted.send(event("inc-2")) is True

    assert [r["dedup_key"] for r in lines(path)] == ["inc-1", "inc-2"]


def test_jsonl_sink_recovers_from_a_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    JsonlAlertSink(path).send(event("inc-1"))
    with path.open("a") as f:
        f.write('{"dedup_key": "inc-2", "act')  # crashed mid-write

    restarted = JsonlAlertSink(path)
    assert restarted.send(event("inc-1")) is False
    assert restarted.send(event("inc-3")) is True

    last = path.read_text().splitlines()[-1]
    assert AlertEvent.model_validate_json(last) == event("inc-3")


def test_jsonl_sink_is_an_alert_sink(tmp_path: Path) -> None:
    assert isinstance(JsonlAlertSink(tmp_path / "a.jsonl"), AlertSink)


# --- ConsoleAlertSink --------------------------------------------------------------------


def test_console_sink_prints_one_line_naming_incident_resource_and_summary() -> None:
    console = quiet_console()
    sink = ConsoleAlertSink(console)

    sent = event("inc-7", report_id="inc-7-v1", severity="warning", summary="Memory full")
    assert sink.send(sent) is True

    out = printed(console)
    assert out.count("\n") == 1
    for text in ("TRIGGER", "warning", "redis-cache", "Memory full", "inc-7-v1"):
        assert text in out


def test_console_sink_prints_each_page_once() -> None:
    console = quiet_console()
    sink = ConsoleAlertSink(console)

    sink.send(event())
    assert sink.send(event()) is False
    sink.send(event(action="resolve"))

    out = printed(console)
    assert out.count("TRIGGER") == 1
    assert out.count("RESOLVE") == 1


def test_console_sink_prints_event_text_literally() -> None:
    console = quiet_console()

    ConsoleAlertSink(console).send(event(summary="pool [bold]exhausted[/bold] on db[1]"))

    assert "pool [bold]exhausted[/bold] on db[1]" in printed(console)


# --- FanoutAlertSink ---------------------------------------------------------------------


def test_fanout_sends_to_every_sink(tmp_path: Path) -> None:
    console = quiet_console()
    path = tmp_path / "alerts.jsonl"
    sink = FanoutAlertSink(JsonlAlertSink(path), ConsoleAlertSink(console))

    assert sink.send(event()) is True

    assert len(lines(path)) == 1
    assert "redis-cache" in printed(console)


def test_fanout_delivers_to_a_sink_that_has_not_seen_the_event(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    JsonlAlertSink(path).send(event())  # an earlier run paged already
    console = quiet_console()
    sink = FanoutAlertSink(JsonlAlertSink(path), ConsoleAlertSink(console))

    assert sink.send(event()) is True  # the console of this run had not shown it

    assert len(lines(path)) == 1
    assert "TRIGGER" in printed(console)
    assert sink.send(event()) is False


def test_empty_fanout_delivers_nothing() -> None:
    assert FanoutAlertSink().send(event()) is False


# --- JsonlDeadLetterSink -----------------------------------------------------------------


def letter(reason: str, payload: str = "x") -> DeadLetter:
    return DeadLetter(source="metrics.csv:3", reason=reason, payload=payload)


def test_dead_letters_are_counted_by_reason() -> None:
    sink = JsonlDeadLetterSink(None)
    for reason in ["non-numeric value", "unknown resource", "non-numeric value"]:
        sink.send(letter(reason))

    assert sink.counts() == {"non-numeric value": 2, "unknown resource": 1}
    assert sink.total == 3
    assert isinstance(sink, DeadLetterSink)


def test_an_empty_dead_letter_sink_counts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    sink = JsonlDeadLetterSink(path)

    assert sink.counts() == {}
    assert sink.total == 0
    assert not path.exists()


def test_dead_letters_are_appended_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "out" / "dead.jsonl"
    sink = JsonlDeadLetterSink(path)
    sink.send(letter("non-numeric value", "a,b,c"))
    sink.send(letter("unknown resource", 'x,"y"'))

    stored = [DeadLetter.model_validate(r) for r in lines(path)]
    assert stored == [letter("non-numeric value", "a,b,c"), letter("unknown resource", 'x,"y"')]


def test_dead_letter_file_keeps_earlier_runs_and_counts_cover_this_run(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    JsonlDeadLetterSink(path).send(letter("unknown resource"))

    sink = JsonlDeadLetterSink(path)
    sink.send(letter("non-numeric value"))

    assert len(lines(path)) == 2
    assert sink.counts() == {"non-numeric value": 1}


def test_memory_only_dead_letter_sink_keeps_recent_letters() -> None:
    sink = JsonlDeadLetterSink(None, keep=2)
    for i in range(3):
        sink.send(letter("bad", payload=str(i)))

    assert [d.payload for d in sink.letters] == ["1", "2"]
    assert sink.total == 3
