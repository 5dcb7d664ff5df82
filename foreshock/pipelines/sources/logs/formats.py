"""Log line formats: a raw line → (timestamp, level, content) for the lab's servers.

Header parsers (one line each, ``None`` when the line is not in that format):

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

Multi-line entries are assembled by :class:`LineParser` (one per stream):

- PostgreSQL ``DETAIL:``/``HINT:``/``STATEMENT:``/``CONTEXT:``/``QUERY:``/``LOCATION:``
  lines and tab-indented continuation lines are **attached to the previous record** as
  attributes (``detail``, ``hint``, ``statement``, …), so the record's content (and its
  template) stays the primary message; one that follows no record is dropped.
- A MariaDB slow-log entry (``# Time:``/``# User@Host:``/``# Query_time:`` …,
  ``SET timestamp=…;``, the query) becomes **one** record, level ``warning``, content
  ``slow query: Query_time=<s> Lock_time=<s> Rows_sent=<n> Rows_examined=<n> <query>``
  where the query has its literals replaced by ``?`` (see :func:`normalise_query`); the
  values are also in attributes. The timestamp is ``SET timestamp``, else ``# Time:``.

A line in none of its stream's format (a stack trace in an error log) becomes a record
with the previous record's timestamp (arrival time if none) and a guessed level.

Examples
--------
>>> p = parse_redis("12345:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp")
>>> p.timestamp, p.level, p.content
(1795614768.123, 'notice', 'Ready to accept connections tcp')
>>> parse_postgresql("2026-11-25 13:52:48.123 UTC [1234] FATAL:  sorry, too many clients "
...                  "already").level
'fatal'
>>> sniff(["2026-11-25 13:52:48 0 [Note] InnoDB: Buffer pool(s) load completed"])
'mariadb'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from foreshock.schemas.errors import ConfigError
from foreshock.schemas.logs import LogRecord

__all__ = [
    "FORMATS",
    "LEVELS",
    "LineParser",
    "Parsed",
    "guess_level",
    "normalise_query",
    "parse_generic",
    "parse_mariadb",
    "parse_postgresql",
    "parse_redis",
    "sniff",
]

LEVELS: tuple[str, ...] = ("debug", "info", "notice", "warning", "error", "fatal")
FORMATS: tuple[str, ...] = ("redis", "mariadb", "mariadb-slow", "postgresql", "generic", "auto")


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


def _zone(text: str | None, default: tzinfo) -> tzinfo:
    if not text or text.upper() in ("UTC", "GMT", "Z"):
        return UTC if text else default
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", text)
    if m is None:
        return default  # a zone abbreviation (CET, EST) is ambiguous
    sign = 1 if m.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))


def _iso(date: str, clock: str, frac: str | None, zone: str | None, tz: tzinfo) -> float | None:
    if len(date) == 6:  # MariaDB's YYMMDD
        y, mo, d = 2000 + int(date[:2]), int(date[2:4]), int(date[4:])
    else:
        y, mo, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    return _epoch(y, mo, d, clock, frac, _zone(zone, tz))


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
    """
    if (sig := _REDIS_SIGNAL.match(line)) is not None:
        attrs = {"pid": sig.group("pid"), "role": "signal-handler"}
        return Parsed(float(sig.group("ts")), "warning", sig.group("msg").strip(), attrs)
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
    ts = _iso(m.group("date"), m.group("t"), m.group("f"), m.group("z"), tz)
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
    ts = _iso(m.group("date"), m.group("t"), m.group("f"), m.group("z"), tz)
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
    ts = _iso(m.group("date"), clock, m.group("f"), m.group("z"), tz)
    msg = m.group("msg").strip()
    lvl = m.group("lvl")
    return Parsed(ts, _WORD_LEVEL[lvl.lower()] if lvl else guess_level(msg), msg)


_PARSERS: dict[str, Callable[[str, tzinfo], Parsed | None]] = {
    "redis": parse_redis,
    "mariadb": parse_mariadb,
    "postgresql": parse_postgresql,
}

# -------------------------------------------------------------------------- sniffing
_SLOW_MARK = re.compile(r"^# (?:Time|User@Host|Query_time):|started with:$|^Time\s+Id\s+Command")


def sniff(lines: Sequence[str]) -> str:
    """The format most of ``lines`` (the first ones of a stream) are in; ``generic`` if none.

    >>> sniff(["# Time: 261125 13:52:48", "# User@Host: app[app] @ localhost []"])
    'mariadb-slow'
    >>> sniff(["hello", "world"])
    'generic'
    """
    sample = [ln for ln in lines if ln.strip()][:50]
    if any(_SLOW_MARK.match(ln) for ln in sample):
        return "mariadb-slow"
    hits = {name: sum(p(ln, UTC) is not None for ln in sample) for name, p in _PARSERS.items()}
    best = max(hits, key=lambda k: hits[k])
    return best if hits[best] else "generic"


# -------------------------------------------------------------------------- slow queries
_SQL_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"")
_SQL_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b|\b0x[0-9a-fA-F]+\b")
_SQL_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")


def normalise_query(sql: str, limit: int = 400) -> str:
    """A query's shape: literals → ``?``, lists collapsed, whitespace squeezed, no ``;``.

    >>> normalise_query("SELECT * FROM t\\n WHERE id IN (1, 2, 3) AND name = 'x';")
    'SELECT * FROM t WHERE id IN (?) AND name = ?'
    """
    s = _SQL_STRING.sub("?", sql)
    s = _SQL_NUMBER.sub("?", s)
    s = _SQL_LIST.sub("(?)", s)
    s = " ".join(s.split()).rstrip(";").rstrip()
    return s if len(s) <= limit else s[:limit] + " …"


_SLOW_PAIRS = re.compile(r"(\w+):\s+(\S+)")
_SLOW_BANNER = re.compile(r"(?:started with:$|^Tcp port:|^Time\s+Id\s+Command\s+Argument)")
_SLOW_TIME = re.compile(
    r"^# Time:\s+(?P<date>\d{6}|\d{4}-\d{2}-\d{2})(?:T|\s+)(?P<t>\d{1,2}:\d{2}:\d{2})"
    r"(?:\.(?P<f>\d+))?(?P<z>Z|[+-]\d{2}:\d{2})?"
)
_SLOW_SET_TS = re.compile(r"^SET timestamp=(\d+(?:\.\d+)?);\s*$", re.I)
_SLOW_USE = re.compile(r"^use (\S+);\s*$", re.I)
_SLOW_KEYS = ("Query_time", "Lock_time", "Rows_sent", "Rows_examined")


@dataclass
class _SlowEntry:
    time: float | None = None
    set_ts: float | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    query: list[str] = field(default_factory=list)
    has_set: bool = False


# -------------------------------------------------------------------------- the stream parser
class LineParser:
    """Turns the raw lines of one stream (a file, a resource on Kafka) into records.

    Parameters
    ----------
    format
        One of :data:`FORMATS`; ``auto`` decides on the first lines fed (:func:`sniff`).
    resource
        Resource the records belong to.
    tz
        Zone of header times that carry none.
    attributes
        Added to every record's attributes (e.g. the file it came from).

    Records of multi-line entries wait for the line that ends them (the next entry, or
    for a slow query its ``;``); :meth:`flush` releases what is still waiting, for when a
    stream has gone quiet.

    Examples
    --------
    >>> p = LineParser("postgresql", "pg-1")
    >>> p.feed(["2026-11-25 13:52:48.123 UTC [77] ERROR:  relation \\"nope\\" does not exist",
    ...         "2026-11-25 13:52:48.123 UTC [77] STATEMENT:  SELECT * FROM nope;"], now=0.0)
    []
    >>> [r] = p.flush(now=0.0)
    >>> r.level, r.message, r.attributes["statement"]
    ('error', 'relation "nope" does not exist', 'SELECT * FROM nope;')
    """

    def __init__(
        self,
        format: str,
        resource: str,
        tz: tzinfo = UTC,
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        if format not in FORMATS:
            raise ConfigError(f"unknown log format {format!r} (one of {', '.join(FORMATS)})")
        self.format = format
        self.resource = resource
        self.tz = tz
        self.attributes = dict(attributes or {})
        self.dropped = 0  # continuation lines with no record before them
        self._last_ts: float | None = None
        self._orphans: list[Parsed] = []  # header-less lines before the first time
        self._pending: LogRecord | None = None  # PostgreSQL: waits for DETAIL etc.
        self._last_key: str | None = None
        self._slow: _SlowEntry | None = None

    # ---------------------------------------------------------------- public
    def feed(self, lines: Sequence[str], now: float) -> list[LogRecord]:
        """Records completed by ``lines``; ``now`` is the arrival time."""
        if self.format == "auto":
            if not any(ln.strip() for ln in lines):
                return []
            self.format = sniff(lines)
        out: list[LogRecord] = []
        for line in lines:
            if not line.strip():
                continue
            if self.format == "mariadb-slow":
                out += self._slow_line(line, now)
            elif self.format == "postgresql":
                out += self._pg_line(line, now)
            else:
                out += self._one(line, now)
        return out

    def flush(self, now: float) -> list[LogRecord]:
        """Release records still waiting for continuation lines (or, for lines without a
        header at the start of a stream, for a time)."""
        out = self._release_pending()
        if self._slow is not None and self._slow.query:
            out += self._slow_records(self._slow, now)
            self._slow = None
        out += [self._make(o, now) for o in self._orphans]
        self._orphans = []
        return out

    def _release_pending(self) -> list[LogRecord]:
        if self._pending is None:
            return []
        rec, self._pending = self._pending, None
        return [rec]

    # ---------------------------------------------------------------- helpers
    def _records(self, p: Parsed, now: float) -> list[LogRecord]:
        """``p`` as a record, after any header-less lines that waited for a time."""
        waits = p.timestamp is None and self._last_ts is None and self.format != "generic"
        if waits and len(self._orphans) < 1000:  # at the start of a stream: take the next time
            self._orphans.append(p)
            return []
        if p.timestamp is not None:
            ts = p.timestamp
        else:
            ts = self._last_ts if self._last_ts is not None else now
        out = [self._make(o, ts) for o in self._orphans]
        self._orphans = []
        self._last_ts = ts
        out.append(self._make(p, ts))
        return out

    def _make(self, p: Parsed, ts: float) -> LogRecord:
        return LogRecord(
            timestamp=ts,
            resource=self.resource,
            message=p.content,
            level=p.level,
            attributes={**self.attributes, **p.attributes},
        )

    def _one(self, line: str, now: float) -> list[LogRecord]:
        parser = _PARSERS.get(self.format)
        p = parser(line, self.tz) if parser else None
        return self._records(p or parse_generic(line, self.tz), now)

    def _pg_line(self, line: str, now: float) -> list[LogRecord]:
        p = parse_postgresql(line, self.tz)
        if p is not None and "continuation" in p.attributes:
            self._attach(p.attributes["continuation"], p.content, new=True)
            return []
        if p is None and line[:1] in ("\t", " "):
            self._attach(self._last_key, line.strip(), new=False)
            return []
        out = self._release_pending()
        records = self._records(p or parse_generic(line, self.tz), now)
        if records:
            out += records[:-1]
            self._pending = records[-1]
        self._last_key = None
        return out

    def _attach(self, key: str | None, text: str, new: bool) -> None:
        rec = self._pending
        if rec is None:
            self.dropped += 1
            return
        if key is None:  # a continuation of the message itself
            rec.message = f"{rec.message} {text}"
            return
        old = rec.attributes.get(key)
        sep = " | " if new else " "
        rec.attributes[key] = text if old is None else f"{old}{sep}{text}"
        self._last_key = key

    def _slow_line(self, line: str, now: float) -> list[LogRecord]:
        out: list[LogRecord] = []
        entry = self._slow
        if line.startswith("# "):
            if entry is not None and entry.query:  # a new entry begins
                out += self._slow_records(entry, now)
                entry = self._slow = None
            if entry is None:
                entry = self._slow = _SlowEntry()
            if (m := _SLOW_TIME.match(line)) is not None:
                entry.time = _iso(
                    m.group("date"), m.group("t"), m.group("f"), m.group("z"), self.tz
                )
            elif line.startswith("# User@Host:"):
                entry.attrs["user_host"] = line[len("# User@Host:") :].strip()
            else:
                entry.attrs.update(dict(_SLOW_PAIRS.findall(line)))
            return out
        if entry is None:
            if not _SLOW_BANNER.search(line):
                self.dropped += 1
            return out
        if (m := _SLOW_SET_TS.match(line)) is not None and not entry.has_set:
            entry.set_ts = float(m.group(1))
            entry.has_set = True
        elif (m := _SLOW_USE.match(line)) is not None and not entry.has_set:
            entry.attrs["Schema"] = m.group(1)
        else:
            entry.query.append(line.strip())
            if entry.has_set and line.rstrip().endswith(";"):
                out += self._slow_records(entry, now)
                self._slow = None
        return out

    def _slow_records(self, e: _SlowEntry, now: float) -> list[LogRecord]:
        query = " ".join(e.query)
        stats = " ".join(f"{k}={e.attrs[k]}" for k in _SLOW_KEYS if k in e.attrs)
        content = f"slow query: {stats} {normalise_query(query)}".replace("  ", " ")
        attrs = {k.lower(): v for k, v in e.attrs.items()}
        attrs["query"] = query[:2000]
        ts = e.set_ts if e.set_ts is not None else e.time
        # slower than the server's own long_query_time: worth a warning
        return self._records(Parsed(ts, "warning", content, attrs), now)
