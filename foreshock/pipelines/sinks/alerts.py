"""Alert sinks: where :class:`~foreshock.schemas.alert.AlertEvent` records go to reach a person.

Every sink pages at most once per ``(dedup_key, action)``: an incident is triggered once and
resolved once, however often the pipeline re-emits the event (retries, replays after a
restart). :class:`JsonlAlertSink` keeps that promise across processes by re-reading its
file on open; :class:`ConsoleAlertSink` keeps it for the life of the process.

Examples
--------
>>> import io
>>> from rich.console import Console
>>> from foreshock.schemas.alert import AlertEvent
>>> console = Console(file=io.StringIO(), width=100, color_system=None)
>>> sink = FanoutAlertSink(ConsoleAlertSink(console))
>>> event = AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0,
...                    summary="Redis memory exhaustion", source="redis-cache")
>>> sink.send(event), sink.send(event)
(True, False)
>>> print(console.file.getvalue().rstrip())
TRIGGER  critical  redis-cache  Redis memory exhaustion  [inc-1]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson
from rich.console import Console
from rich.text import Text

from foreshock.schemas.alert import AlertEvent

__all__ = [
    "AlertSink",
    "ConsoleAlertSink",
    "FanoutAlertSink",
    "JsonlAlertSink",
    "alert_key",
    "printable",
]

_ACTION_STYLE = {"trigger": "bold red", "acknowledge": "bold yellow", "resolve": "bold green"}
_SEVERITY_STYLE = {"critical": "red", "error": "red", "warning": "yellow", "info": "cyan"}
# terminal escape sequences (CSI, OSC up to its terminator, other two-character escapes)
# and control characters: event text is data and must not drive the terminal
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def alert_key(event: AlertEvent) -> tuple[str, str]:
    """What makes two alert events the same page: ``(dedup_key, action)``, an update
    (a same-key trigger of revision n) ``(dedup_key, "trigger#n")``.

    Examples
    --------
    >>> e = AlertEvent(dedup_key="inc-1", action="resolve", timestamp=0.0, summary="", source="x")
    >>> alert_key(e), alert_key(e.model_copy(update={"action": "trigger", "revision": 2}))
    (('inc-1', 'resolve'), ('inc-1', 'trigger#2'))
    """
    return (event.dedup_key, _identity(event.action, event.revision))


def _identity(action: str, revision: int) -> str:
    return f"{action}#{revision}" if revision else action


@runtime_checkable
class AlertSink(Protocol):
    """Delivers alert events; ``send`` returns ``False`` when the event was a duplicate.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> isinstance(ConsoleAlertSink(Console(file=io.StringIO())), AlertSink)
    True
    """

    def send(self, event: AlertEvent) -> bool:
        """Deliver ``event`` unless its ``(dedup_key, action)`` was already delivered."""
        ...


class JsonlAlertSink:
    """Appends one JSON line per alert event to a file, never the same page twice.

    The file is read on open, so an incident triggered by an earlier run is not triggered
    again after a restart. A line cut short by a crash is ignored, and the next event
    starts on a fresh line.

    Parameters
    ----------
    path
        JSON Lines file; created (with its parent directories) on the first event.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from foreshock.schemas.alert import AlertEvent
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "alerts.jsonl"
    >>> event = AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0,
    ...                    summary="Redis memory exhaustion", source="redis-cache")
    >>> JsonlAlertSink(path).send(event)
    True
    >>> JsonlAlertSink(path).send(event)      # a restarted pipeline re-emits it
    False
    >>> len(path.read_text().splitlines())
    1
    >>> tmp.cleanup()
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._sent: set[tuple[str, str]] = set()
        self._needs_newline = False
        if self.path.exists():
            data = self.path.read_bytes()
            self._needs_newline = bool(data) and not data.endswith(b"\n")
            for line in data.splitlines():
                key = _key_of_line(line)
                if key is not None:
                    self._sent.add(key)

    def send(self, event: AlertEvent) -> bool:
        """Append ``event`` as one JSON line; ``False`` (nothing written) if already sent."""
        key = alert_key(event)
        if key in self._sent:
            return False
        line = event.model_dump_json().encode() + b"\n"
        if self._needs_newline:
            line = b"\n" + line
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as f:
            f.write(line)
        self._needs_newline = False
        self._sent.add(key)
        return True

    def __repr__(self) -> str:
        return f"JsonlAlertSink({str(self.path)!r})"


def _key_of_line(line: bytes) -> tuple[str, str] | None:
    """The ``(dedup_key, action)`` of one stored line; ``None`` if the line is unreadable."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    key, action, revision = record.get("dedup_key"), record.get("action"), record.get("revision")
    if isinstance(key, str) and isinstance(action, str):
        return (key, _identity(action, revision if isinstance(revision, int) else 0))
    return None


class ConsoleAlertSink:
    r"""Prints one compact, coloured line per alert event to a rich console.

    Event text is printed literally: never read as rich markup, and with terminal escape
    sequences and control characters (newlines too: one line per event) removed.
    Duplicates are suppressed for the life of the sink.

    Parameters
    ----------
    console
        Where to print; pass ``Console(stderr=True)`` to keep stdout for data.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> from foreshock.schemas.alert import AlertEvent
    >>> console = Console(file=io.StringIO(), width=100, color_system=None)
    >>> sink = ConsoleAlertSink(console)
    >>> sink.send(AlertEvent(dedup_key="inc-1", action="resolve", timestamp=0.0,
    ...     summary="[red]cleared[/]", source="redis-cache", report_id="inc-1-v2"))
    True
    >>> sink.send(AlertEvent(dedup_key="inc-2", action="trigger", timestamp=0.0,
    ...     summary="disk\x1b[2J full\x1b]0;owned\x07", source="db\x1b[31m-1"))
    True
    >>> print(console.file.getvalue().rstrip())
    RESOLVE  critical  redis-cache  [red]cleared[/]  [inc-1 · report inc-1-v2]
    TRIGGER  critical  db-1  disk full  [inc-2]
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._sent: set[tuple[str, str]] = set()

    def send(self, event: AlertEvent) -> bool:
        """Print ``event`` unless the same ``(dedup_key, action)`` was printed before."""
        key = alert_key(event)
        if key in self._sent:
            return False
        self._sent.add(key)
        self.console.print(_line(event), soft_wrap=True, highlight=False)
        return True


def printable(text: str) -> str:
    r"""``text`` without terminal escape sequences and control characters.

    Examples
    --------
    >>> printable("a\x1b[2Jb\x1b]0;owned\x07c\td\n")
    'abcd'
    """
    return _CONTROL.sub("", _ESCAPE.sub("", text))


def _line(event: AlertEvent) -> Text:
    ref = (
        event.dedup_key
        if event.report_id is None
        else f"{event.dedup_key} · report {event.report_id}"
    )
    return Text.assemble(
        (
            "UPDATE" if event.revision else printable(event.action.upper()),
            _ACTION_STYLE.get(event.action, "bold"),
        ),
        "  ",
        (printable(event.severity), _SEVERITY_STYLE.get(event.severity, "")),
        "  ",
        (printable(event.source), "bold"),
        "  ",
        printable(event.summary),
        "  ",
        (printable(f"[{ref}]"), "dim"),
    )


class FanoutAlertSink:
    """Sends every event to each of several sinks, in order.

    Each sink de-duplicates on its own; :meth:`send` is ``True`` when at least one
    delivered the event.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> from foreshock.schemas.alert import AlertEvent
    >>> quiet = Console(file=io.StringIO())
    >>> sink = FanoutAlertSink(ConsoleAlertSink(quiet), ConsoleAlertSink(quiet))
    >>> e = AlertEvent(dedup_key="i", action="trigger", timestamp=0.0, summary="s", source="x")
    >>> sink.send(e), sink.send(e), len(sink.sinks)
    (True, False, 2)
    """

    def __init__(self, *sinks: AlertSink) -> None:
        self.sinks: tuple[AlertSink, ...] = sinks

    def send(self, event: AlertEvent) -> bool:
        """Send to every sink (none is skipped); ``True`` if any delivered."""
        delivered = [sink.send(event) for sink in self.sinks]
        return any(delivered)

    def close(self) -> None:
        """Close every sink that can be closed (a PagerDuty sink flushes its outbox)."""
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if callable(close):
                close()
