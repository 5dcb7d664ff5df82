"""Log line headers: a raw line → (timestamp, level, content) for the lab's servers.

One parser per server's header, one line each, ``None`` when the line is not in that
format:

- ``redis`` (Redis 7): ``12345:M 25 Nov 2026 13:52:48.123 * Ready to accept connections``;
  the role char (``M`` master, ``S`` replica, ``C`` child, ``X`` sentinel) goes into
  ``attributes["role"]``, the level char maps ``.`` debug, ``-`` info, ``*`` notice,
  ``#`` warning.
- ``mariadb`` (MariaDB 10.11 error log; MySQL 8's ``[System] [MY-010116] [Server]`` form
  too): ``2026-11-25 13:52:48 0 [Note] InnoDB: …``; ``[Note]`` notice, ``[Warning]``
  warning, ``[ERROR]`` error.
- ``postgresql`` (log_line_prefix ``'%m [%p] '``):
  ``2026-11-25 13:52:48.123 UTC [1234] LOG:  database system is ready``; ``LOG``/``INFO``
  info, ``NOTICE`` notice, ``WARNING`` warning, ``ERROR`` error, ``FATAL``/``PANIC``
  fatal.
- ``generic``: an ISO-8601-ish timestamp (optionally in brackets) and an optional level
  word (``INFO``, ``WARN``, ``error``, …); a line without a timestamp is taken as "no
  header": arrival time, level guessed from keywords (:func:`guess_level`).

Times without a zone (Redis, MariaDB) are read in ``tz`` (UTC by default).

:data:`HEADER_PARSERS` names the parsers that can say "not mine"; lines are assembled into
records, multi-line entries included, by :class:`~.formats.LineParser`.

Examples
--------
>>> p = parse_redis("12345:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp")
>>> p.timestamp, p.level, p.content
(1795614768.123, 'notice', 'Ready to accept connections tcp')
>>> parse_postgresql("2026-11-25 13:52:48.123 UTC [1234] FATAL:  sorry, too many clients "
...                  "already").level
'fatal'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = [
    "HEADER_PARSERS",
    "Parsed",
    "guess_level",
    "iso_epoch",
    "parse_generic",
    "parse_mariadb",
    "parse_postgresql",
    "parse_redis",
]


@dataclass(frozen=True)
class Parsed:
    """One parsed line: ``timestamp`` is ``None`` when the line carries none."""

    timestamp: float | None
    level: str
    content: str
    attributes: dict[str, str] = field(default_factory=dict)


# -------------------------------------------------------------------------- levels
_WORD_LEVEL = {
    "trace": "debug",
    "debug": "debug",
    "verbose": "info",
    "info": "info",
    "log": "info",
    "note": "notice",
    "notice": "notice",
    "system": "notice",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "severe": "error",
    "crit": "fatal",
    "critical": "fatal",
    "fatal": "fatal",
    "panic": "fatal",
    "emerg": "fatal",
    "alert": "fatal",
}
_GUESS = (
    ("fatal", re.compile(r"\b(?:fatal|panic|emerg(?:ency)?|critical|crash(?:ed)?)\b", re.I)),
    ("error", re.compile(r"\b(?:errors?|exception|fail(?:ed|ure)?|refused|denied)\b", re.I)),
    ("warning", re.compile(r"\bwarn(?:ing)?\b", re.I)),
)


def guess_level(text: str) -> str:
    """Level of a line without one, from its words.

    >>> guess_level("Connection refused"), guess_level("WARNING: low disk"), guess_level("ok")
    ('error', 'warning', 'info')
    """
    for level, rx in _GUESS:
        if rx.search(text):
            return level
    return "info"


# -------------------------------------------------------------------------- time
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}


def _epoch(y: int, mo: int, d: int, clock: str, frac: str | None, tz: tzinfo) -> float | None:
    hh, mm, *rest = (int(x) for x in clock.split(":"))
    try:
        dt = datetime(y, mo, d, hh, mm, rest[0] if rest else 0, tzinfo=tz)
    except ValueError:
        return None
    ts = dt.timestamp()
    return round(ts + float(f"0.{frac}"), 6) if frac else ts


#: Epoch seconds of 9999-12-31 24:00 UTC: no later time is a date
_MAX_EPOCH = 253_402_300_800.0


def _zone(text: str | None, default: tzinfo) -> tzinfo | None:
    """The zone a header names (``default`` if none); ``None`` for an offset that is not
    one (a day or more: ``+99:00``)."""
    if not text or text.upper() in ("UTC", "GMT", "Z"):
        return UTC if text else default
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", text)
    if m is None:
        return default  # a zone abbreviation (CET, EST) is ambiguous
    sign = 1 if m.group(1) == "+" else -1
    offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    if offset >= timedelta(hours=24):
        return None
    return timezone(sign * offset)


def iso_epoch(
    date: str, clock: str, frac: str | None, zone: str | None, tz: tzinfo
) -> float | None:
    """Epoch seconds of a header's date (``YYYY-MM-DD``, or MariaDB's ``YYMMDD``), clock,
    fraction of a second and zone (``tz`` when it names none); ``None`` if no such date.

    >>> iso_epoch("261125", "13:52:48", None, None, UTC)
    1795614768.0
    >>> iso_epoch("2026-11-25", "14:52:48", "5", "+01:00", UTC)
    1795614768.5
    >>> iso_epoch("2026-02-30", "00:00:00", None, None, UTC) is None
    True
    >>> iso_epoch("2026-11-25", "14:52:48", None, "+99:00", UTC) is None  # no such zone
    True
    """
    if len(date) == 6:  # MariaDB's YYMMDD
        y, mo, d = 2000 + int(date[:2]), int(date[2:4]), int(date[4:])
    else:
        y, mo, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    zone_tz = _zone(zone, tz)
    return None if zone_tz is None else _epoch(y, mo, d, clock, frac, zone_tz)


# -------------------------------------------------------------------------- one-line parsers
_REDIS = re.compile(
    r"^(?P<pid>\d+):(?P<role>[XCSM]) (?P<d>\d{1,2}) (?P<mon>[A-Za-z]{3}) (?P<y>\d{4}) "
    r"(?P<t>\d{1,2}:\d{2}:\d{2})(?:\.(?P<f>\d+))? (?P<lvl>[.\-*#]) ?(?P<msg>.*)$"
)
_REDIS_LEVEL = {".": "debug", "-": "info", "*": "notice", "#": "warning"}
# written from a signal handler: epoch seconds instead of a date, always at warning level
_REDIS_SIGNAL = re.compile(r"^(?P<pid>\d+):signal-handler \((?P<ts>\d+)\) (?P<msg>.*)$")


def parse_redis(line: str, tz: tzinfo = UTC) -> Parsed | None:
    """A Redis 7 log line.

    >>> parse_redis("7:S 01 Dec 2026 00:00:01.000 # Connection with master lost.").level
    'warning'
    >>> p = parse_redis("12:signal-handler (1795615589) Received SIGTERM scheduling shutdown...")
    >>> p.timestamp, p.level, p.content
    (1795615589.0, 'warning', 'Received SIGTERM scheduling shutdown...')
    >>> parse_redis("not redis") is None
    True
    >>> parse_redis("12:signal-handler (" + "9" * 400 + ") no date is that late") is None
    True
    """
    if (sig := _REDIS_SIGNAL.match(line)) is not None:
        epoch = float(sig.group("ts"))
        if epoch >= _MAX_EPOCH:  # inf for 309 digits or more
            return None
        attrs = {"pid": sig.group("pid"), "role": "signal-handler"}
        return Parsed(epoch, "warning", sig.group("msg").strip(), attrs)
    m = _REDIS.match(line)
    mon = _MONTHS.get(m.group("mon").lower()) if m else None
    if m is None or mon is None:
        return None
    ts = _epoch(int(m.group("y")), mon, int(m.group("d")), m.group("t"), m.group("f"), tz)
    if ts is None:
        return None
    attrs = {"pid": m.group("pid"), "role": m.group("role")}
    return Parsed(ts, _REDIS_LEVEL[m.group("lvl")], m.group("msg").strip(), attrs)


_MARIADB = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}|\d{6})(?:T|\s+)(?P<t>\d{1,2}:\d{2}:\d{2})(?:\.(?P<f>\d+))?"
    r"(?P<z>Z|[+-]\d{2}:\d{2})?\s+(?:(?P<thread>\d+)\s+)?"
    r"\[(?P<lvl>Note|Warning|ERROR|Error|System|Info)\]\s*"
    r"(?:\[(?P<code>MY-\d+)\]\s*\[(?P<sub>\w+)\]\s*)?(?P<msg>.*)$"
)


def parse_mariadb(line: str, tz: tzinfo = UTC) -> Parsed | None:
    """A MariaDB (or MySQL 8) error-log line.

    >>> p = parse_mariadb("2026-11-25 13:52:50 12 [Warning] Aborted connection 12 to db: "
    ...                   "'shop' user: 'app' host: 'localhost' (Got timeout reading packets)")
    >>> p.level, p.attributes["thread"]
    ('warning', '12')
    """
    m = _MARIADB.match(line)
    if m is None:
        return None
    ts = iso_epoch(m.group("date"), m.group("t"), m.group("f"), m.group("z"), tz)
    if ts is None:
        return None
    attrs = {k: v for k in ("thread", "code", "sub") if (v := m.group(k)) is not None}
    return Parsed(ts, _WORD_LEVEL[m.group("lvl").lower()], m.group("msg").strip(), attrs)


_PG_SEVERITY = {
    "LOG": "info",
    "INFO": "info",
    "NOTICE": "notice",
    "WARNING": "warning",
    "ERROR": "error",
    "FATAL": "fatal",
    "PANIC": "fatal",
}
_PG_CONTINUATION = ("DETAIL", "HINT", "QUERY", "CONTEXT", "STATEMENT", "LOCATION")
_POSTGRES = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<t>\d{2}:\d{2}:\d{2})(?:\.(?P<f>\d+))?"
    r"(?: (?P<z>[A-Za-z]{1,6}|[+-]\d{2}(?::?\d{2})?))? \[(?P<pid>\d+)\][^:]*?\s"
    r"(?P<sev>DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|"
    + "|".join(_PG_CONTINUATION)
    + r"):\s+(?P<msg>.*)$"
)


def parse_postgresql(line: str, tz: tzinfo = UTC) -> Parsed | None:
    """A PostgreSQL line with log_line_prefix ``'%m [%p] '``.

    Continuation lines (``DETAIL:`` …) parse with ``attributes["continuation"]`` set to
    the lower-cased keyword.

    >>> p = parse_postgresql("2026-11-25 13:52:48.123 UTC [1234] STATEMENT:  SELECT 1")
    >>> p.attributes["continuation"], p.content
    ('statement', 'SELECT 1')
    """
    m = _POSTGRES.match(line)
    if m is None:
        return None
    ts = iso_epoch(m.group("date"), m.group("t"), m.group("f"), m.group("z"), tz)
    if ts is None:
        return None
    sev = m.group("sev")
    attrs = {"pid": m.group("pid")}
    if sev in _PG_CONTINUATION:
        attrs["continuation"] = sev.lower()
        level = "info"
    else:
        level = "debug" if sev.startswith("DEBUG") else _PG_SEVERITY[sev]
    return Parsed(ts, level, m.group("msg").strip(), attrs)


_GENERIC = re.compile(
    r"^\[?(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<t>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<f>\d+))?"
    r"\s?(?P<z>Z|[+-]\d{2}:?\d{2}|UTC|GMT)?\]?"
    r"(?:\s+[\[(<]?(?P<lvl>" + "|".join(_WORD_LEVEL) + r")[\])>]?:?(?=\s|$))?\s*(?P<msg>.*)$",
    re.I,
)


def parse_generic(line: str, tz: tzinfo = UTC) -> Parsed:
    """Any line: an ISO-8601-ish timestamp and a level word if present, else guessed.

    >>> p = parse_generic("[2026-11-25 13:52:48,120] WARN [Broker id=1] disk slow")
    >>> p.timestamp, p.level, p.content
    (1795614768.12, 'warning', '[Broker id=1] disk slow')
    >>> parse_generic("connection refused by peer")
    Parsed(timestamp=None, level='error', content='connection refused by peer', attributes={})
    """
    m = _GENERIC.match(line)
    if m is None:
        return Parsed(None, guess_level(line), line.strip())
    clock = m.group("t") if m.group("t").count(":") == 2 else m.group("t") + ":00"
    ts = iso_epoch(m.group("date"), clock, m.group("f"), m.group("z"), tz)
    msg = m.group("msg").strip()
    lvl = m.group("lvl")
    return Parsed(ts, _WORD_LEVEL[lvl.lower()] if lvl else guess_level(msg), msg)


# header parsers that return None for a line not in their format, by format name
HEADER_PARSERS: dict[str, Callable[[str, tzinfo], Parsed | None]] = {
    "redis": parse_redis,
    "mariadb": parse_mariadb,
    "postgresql": parse_postgresql,
}
