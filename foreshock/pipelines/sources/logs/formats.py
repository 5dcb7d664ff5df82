"""Log stream formats: which one a stream is in, and its raw lines → records.

:data:`FORMATS` are the header formats of :mod:`.headers` (``redis``, ``mariadb``,
``postgresql``, ``generic``), MariaDB's slow query log (``mariadb-slow``) and ``auto``,
which decides on a stream's first lines (:func:`sniff`).

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
>>> sniff(["2026-11-25 13:52:48 0 [Note] InnoDB: Buffer pool(s) load completed"])
'mariadb'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from foreshock.pipelines.sources.logs.headers import (
    HEADER_PARSERS,
    Parsed,
    iso_epoch,
    parse_generic,
    parse_postgresql,
)
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.logs import LogRecord

__all__ = [
    "FORMATS",
    "LineParser",
    "normalise_query",
    "sniff",
]

FORMATS: tuple[str, ...] = ("redis", "mariadb", "mariadb-slow", "postgresql", "generic", "auto")


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
    hits = {
        name: sum(p(ln, UTC) is not None for ln in sample) for name, p in HEADER_PARSERS.items()
    }
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
        parser = HEADER_PARSERS.get(self.format)
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
                entry.time = iso_epoch(
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
