"""SQLite + FTS5 report store: the embedded backend of :class:`~.base.ReportStore`.

One database file holds four tables:

- ``reports``: one row per report id, the report as JSON plus the columns queries need;
- ``reports_fts``: an FTS5 index (same rowid) over the title, summary, root-cause resource,
  failure mode, causal chain, evidence (resource and metric names), checks and remediations;
  Porter stemming, so *eviction* finds *evicted*;
- ``incidents``: one row per incident id, the incident as JSON;
- ``forecasts``: one row per forecast, keyed by ``(resource, metric, model, made_at)``
  (the identity :func:`.opensearch.forecast_id` digests), the forecast as JSON.

Search ranks with BM25, weighting the title and root-cause resource highest. User text is
never parsed as FTS5 syntax: each whitespace-separated word is quoted (``foo-bar`` becomes the
phrase ``"foo bar"``, ``AND``/``OR``/``NEAR`` are plain words, quotes and colons are dropped),
the last word also matches as a prefix while it is being typed, and all words must match;
when no report matches all of them, reports matching any of their letter/digit runs are
returned instead, still best first.

The database runs in WAL mode, so readers (``foreshock reports``) do not block the pipeline
that writes, and it can be reopened by another process at any time.

Examples
--------
>>> from foreshock.schemas.report import RootCauseReport
>>> store = SQLiteReportStore(":memory:")
>>> report = RootCauseReport(
...     id="inc-7-v1", incident_id="inc-7", created_at=100.0,
...     title="Redis memory exhaustion on redis-cache",
...     summary="redis-cache evicted keys at maxmemory; checkout latency rose.",
...     root_cause_resource="redis-cache", failure_mode="memory_exhaustion")
>>> store.put(report), store.put(report)
(True, False)
>>> [(h.report_id, h.snippet) for h in store.search("eviction")]
[('inc-7-v1', 'redis-cache **evicted** keys at maxmemory; checkout latency rose.')]
>>> store.get("inc-7").title
'Redis memory exhaustion on redis-cache'
>>> store.search('"AND foo-bar: NEAR(')
[]
>>> store.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from foreshock.enrichers.stores.base import SearchHit, StoreError
from foreshock.enrichers.stores.opensearch_query import search_words
from foreshock.schemas.closing import Closing
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport

__all__ = ["SCHEMA_VERSION", "SQLiteReportStore", "fts_query"]

#: Bumped when the table layout changes; stored in ``PRAGMA user_version``.
SCHEMA_VERSION = 2

#: FTS columns, in index order, with their BM25 weights (higher = a match there counts more).
_FTS_COLUMNS: tuple[tuple[str, float], ...] = (
    ("title", 4.0),
    ("summary", 2.0),
    ("resource", 4.0),
    ("failure_mode", 2.0),
    ("causal_chain", 1.0),
    ("evidence", 1.0),
    ("checks", 0.5),
    ("remediations", 0.5),
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reports (
    rowid       INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    created_at  REAL NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_incident ON reports (incident_id, created_at);
CREATE INDEX IF NOT EXISTS reports_by_created ON reports (created_at);
CREATE VIRTUAL TABLE IF NOT EXISTS reports_fts USING fts5 (
    {", ".join(name for name, _ in _FTS_COLUMNS)},
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TABLE IF NOT EXISTS incidents (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    body       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forecasts (
    resource TEXT NOT NULL,
    metric   TEXT NOT NULL,
    model    TEXT NOT NULL,
    made_at  REAL NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (resource, metric, model, made_at)
);
CREATE INDEX IF NOT EXISTS forecasts_by_metric ON forecasts (metric, resource, made_at);
PRAGMA user_version = {SCHEMA_VERSION};
"""

_BM25 = f"bm25(reports_fts, {', '.join(str(w) for _, w in _FTS_COLUMNS)})"


def fts_query(text: str, *, any_word: bool = False, prefix: bool = True) -> str:
    """Turn free user text into a safe FTS5 query; ``""`` when it has no searchable word.

    Only runs of letters and digits survive, each inside double quotes, so no input can be
    read as FTS5 syntax. By default every whitespace-separated word must match, as a phrase
    of its runs (``redis-cache`` is ``"redis cache"``); with ``any_word`` any single run may
    match. With ``prefix``, the last run also matches as a prefix unless the text ends in
    whitespace (the user has finished typing it).

    Examples
    --------
    >>> fts_query("redis-cache AND memory")
    '"redis cache" AND "and" AND "memory"*'
    >>> fts_query('NEAR(redis:memory "oops ', any_word=True)
    '"near" OR "redis" OR "memory" OR "oops"'
    >>> fts_query('" - :')
    ''

    A repeated word is searched once, and at most
    :data:`~foreshock.enrichers.stores.opensearch_query.MAX_WORDS` distinct words are used
    (an FTS5 query's cost grows with the square of its terms: 2,000 copies of one word took
    minutes), exactly as the OpenSearch store does
    (:func:`~foreshock.enrichers.stores.opensearch_query.search_words`):

    >>> fts_query("oom " * 2000)
    '"oom"'
    >>> fts_query(" ".join(f"w{i}" for i in range(100))).count(" AND ")
    63
    """
    words, last_is_prefix, _ = search_words(text, any_word=any_word, prefix=prefix)
    if not words:
        return ""
    quoted = [f'"{" ".join(runs)}"' for runs in words]
    if last_is_prefix:
        quoted[-1] += "*"
    return (" OR " if any_word else " AND ").join(quoted)


class SQLiteReportStore(Closing):
    """Report and incident store in one SQLite file, with FTS5 full-text search.

    Parameters
    ----------
    path
        Database file (created with its schema if missing) or ``":memory:"``. The parent
        directory must exist.
    highlight
        Markers put around matched words in :attr:`SearchHit.snippet`; Markdown bold by
        default, so snippets read well both as plain text and rendered.
    timeout
        Seconds to wait for another process's write lock before failing.

    Raises
    ------
    StoreError
        The file cannot be opened as a report store (missing directory, not a SQLite
        database, written by a newer foreshock, or SQLite without FTS5).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from foreshock.schemas.incident import Incident
    >>> from foreshock.schemas.report import RootCauseReport
    >>> tmp = tempfile.TemporaryDirectory()
    >>> db = pathlib.Path(tmp.name) / "reports.db"
    >>> with SQLiteReportStore(db) as store:
    ...     store.put(RootCauseReport(id="r1", incident_id="inc-1", created_at=5.0,
    ...         title="Kafka consumer lag", summary="orders-consumer fell behind",
    ...         root_cause_resource="kafka-orders"))
    ...     store.put_incident(Incident(id="inc-1", opened_at=0.0, updated_at=5.0))
    True
    >>> with SQLiteReportStore(db) as store:   # another process, later
    ...     [h.report_id for h in store.search("kafka-orders")], store.get_incident("inc-1").id
    (['r1'], 'inc-1')
    >>> tmp.cleanup()
    """

    def __init__(
        self,
        path: Path | str,
        *,
        highlight: tuple[str, str] = ("**", "**"),
        timeout: float = 5.0,
    ) -> None:
        self.path = path
        self.highlight = highlight
        self.timeout = timeout
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open report store at {path}: {exc}") from exc
        try:
            self._open()
        except sqlite3.Error as exc:
            self._db.close()
            if "fts5" in str(exc).lower():
                raise StoreError(
                    f"cannot open report store at {path}: this Python's SQLite lacks FTS5"
                ) from exc
            raise StoreError(f"cannot open report store at {path}: {exc}") from exc
        except StoreError:
            self._db.close()
            raise

    def _open(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"report store at {self.path} has schema version {version}; this foreshock "
                f"reads up to {SCHEMA_VERSION}: upgrade foreshock"
            )
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from the first read."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- reports -------------------------------------------------------------------------

    def put(self, report: RootCauseReport) -> bool:
        """Store ``report`` by id; ``False`` if identical content was already stored.

        Examples
        --------
        >>> from foreshock.schemas.report import RootCauseReport
        >>> r = RootCauseReport(id="r", incident_id="i", created_at=0.0, title="t",
        ...                     summary="s", root_cause_resource="x")
        >>> with SQLiteReportStore(":memory:") as s:
        ...     s.put(r), s.put(r), s.put(r.model_copy(update={"summary": "new"}))
        (True, False, True)
        """
        body = report.model_dump_json()
        with self._write() as db:
            row = db.execute(
                "SELECT rowid, body FROM reports WHERE id = ?", (report.id,)
            ).fetchone()
            if row is not None and row[1] == body:
                return False
            if row is None:
                rowid = db.execute(
                    "INSERT INTO reports (id, incident_id, created_at, title, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (report.id, report.incident_id, report.created_at, report.title, body),
                ).lastrowid
            else:
                rowid = row[0]
                db.execute(
                    "UPDATE reports SET incident_id = ?, created_at = ?, title = ?, body = ? "
                    "WHERE rowid = ?",
                    (report.incident_id, report.created_at, report.title, body, rowid),
                )
                db.execute("DELETE FROM reports_fts WHERE rowid = ?", (rowid,))
            db.execute(
                # columns and clauses are constants; values are bound parameters (bandit B608)
                f"INSERT INTO reports_fts (rowid, {', '.join(n for n, _ in _FTS_COLUMNS)}) "  # nosec B608
                f"VALUES (?, {', '.join('?' for _ in _FTS_COLUMNS)})",
                (rowid, *_fts_fields(report)),
            )
        return True

    def get(self, report_id: str) -> RootCauseReport | None:
        """The report with this id, else the newest report of the incident with this id."""
        rows = self._read("SELECT body FROM reports WHERE id = ?", (report_id,)) or self._read(
            "SELECT body FROM reports WHERE incident_id = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (report_id,),
        )
        return RootCauseReport.model_validate_json(rows[0][0]) if rows else None

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Reports matching free user text, best first (see the module docstring)."""
        if limit <= 0:
            return []
        hits = self._search(fts_query(text), limit)
        if not hits:
            hits = self._search(fts_query(text, any_word=True), limit)
        return hits

    def _search(self, query: str, limit: int) -> list[SearchHit]:
        if not query:
            return []
        start, end = self.highlight
        rows = self._read(
            # columns and clauses are constants; values are bound parameters (bandit B608)
            f"SELECT r.id, r.incident_id, r.title, r.created_at, -{_BM25}, "  # nosec B608
            "snippet(reports_fts, -1, ?, ?, '…', 16) "
            "FROM reports_fts JOIN reports AS r ON r.rowid = reports_fts.rowid "
            f"WHERE reports_fts MATCH ? ORDER BY {_BM25}, r.created_at DESC LIMIT ?",
            (start, end, query, limit),
        )
        return [
            SearchHit(
                report_id=rid,
                incident_id=iid,
                title=title,
                created_at=at,
                score=score,
                snippet=snippet,
            )
            for rid, iid, title, at, score, snippet in rows
        ]

    def recent(self, limit: int = 10) -> list[RootCauseReport]:
        """The newest ``limit`` reports by ``created_at``, newest first."""
        if limit <= 0:
            return []
        rows = self._read(
            "SELECT body FROM reports ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [RootCauseReport.model_validate_json(body) for (body,) in rows]

    # --- incidents -----------------------------------------------------------------------

    def put_incident(self, incident: Incident) -> None:
        """Upsert by id; kept only if its ``(version, updated_at)`` is not older than stored.

        Examples
        --------
        >>> from foreshock.schemas.incident import Incident
        >>> with SQLiteReportStore(":memory:") as s:
        ...     s.put_incident(Incident(id="i", opened_at=0.0, updated_at=9.0, version=2))
        ...     s.put_incident(Incident(id="i", opened_at=0.0, updated_at=1.0, version=1))
        ...     s.get_incident("i").version
        2
        """
        with self._write() as db:
            db.execute(
                "INSERT INTO incidents (id, version, updated_at, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                "updated_at = excluded.updated_at, body = excluded.body "
                "WHERE excluded.version > incidents.version OR (excluded.version = "
                "incidents.version AND excluded.updated_at >= incidents.updated_at)",
                (incident.id, incident.version, incident.updated_at, incident.model_dump_json()),
            )

    def get_incident(self, incident_id: str) -> Incident | None:
        """The stored incident with this id, or ``None``."""
        rows = self._read("SELECT body FROM incidents WHERE id = ?", (incident_id,))
        return Incident.model_validate_json(rows[0][0]) if rows else None

    # --- forecasts -----------------------------------------------------------------------

    def put_forecasts(self, forecasts: Iterable[Forecast]) -> int:
        """Upsert by ``(resource, metric, model, made_at)``; returns how many were new or changed.

        Examples
        --------
        >>> f = Forecast(resource="db-1", metric="disk", made_at=60.0, model="linear",
        ...              horizon_s=3600.0, limit=100.0, exhaustion_p50=7200.0)
        >>> with SQLiteReportStore(":memory:") as s:
        ...     s.put_forecasts([f]), s.put_forecasts([f]), s.put_forecasts(
        ...         [f.model_copy(update={"exhaustion_p50": 9000.0})])
        (1, 0, 1)
        """
        rows = [(f.resource, f.metric, f.model, f.made_at, f.model_dump_json()) for f in forecasts]
        changed = 0
        with self._write() as db:
            for row in rows:
                changed += db.execute(
                    "INSERT INTO forecasts (resource, metric, model, made_at, body) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resource, metric, model, made_at) "
                    "DO UPDATE SET body = excluded.body WHERE body != excluded.body",
                    row,
                ).rowcount
        return changed

    def forecasts(
        self, resource: str | None = None, metric: str | None = None, latest_only: bool = True
    ) -> list[Forecast]:
        """Stored forecasts, filtered; with ``latest_only`` the newest per (resource, metric).

        Ordered by resource, metric, newest ``made_at`` first, then model; among forecasts
        of one series made at the same time, ``latest_only`` keeps the first model name.

        Examples
        --------
        >>> def f(resource: str, made_at: float) -> Forecast:
        ...     return Forecast(resource=resource, metric="disk", made_at=made_at,
        ...                     model="linear", horizon_s=3600.0)
        >>> with SQLiteReportStore(":memory:") as s:
        ...     s.put_forecasts([f("db-1", 0.0), f("db-1", 60.0), f("db-2", 0.0)])
        ...     [(x.resource, x.made_at) for x in s.forecasts()]
        ...     [x.made_at for x in s.forecasts("db-1", latest_only=False)]
        3
        [('db-1', 60.0), ('db-2', 0.0)]
        [60.0, 0.0]
        """
        where: list[str] = []
        params: list[str] = []
        for column, value in (("resource", resource), ("metric", metric)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        order = "resource, metric, made_at DESC, model"
        if latest_only:
            sql = (
                # columns and clauses are constants; values are bound parameters (bandit B608)
                "SELECT body FROM (SELECT body, resource, metric, made_at, model, row_number() "  # nosec B608
                "OVER (PARTITION BY resource, metric ORDER BY made_at DESC, model) AS n "
                f"FROM forecasts {condition}) WHERE n = 1 ORDER BY {order}"
            )
        else:
            # columns and clauses are constants; values are bound parameters (bandit B608)
            sql = f"SELECT body FROM forecasts {condition} ORDER BY {order}"  # nosec B608
        return [Forecast.model_validate_json(body) for (body,) in self._read(sql, tuple(params))]

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; safe to call twice."""
        self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteReportStore({str(self.path)!r})"


def _fts_fields(report: RootCauseReport) -> tuple[str, ...]:
    """The report's searchable text, one string per FTS column (order of ``_FTS_COLUMNS``).

    Lists are joined on one line, so a snippet reads as one line.
    """
    return (
        report.title,
        report.summary,
        report.root_cause_resource,
        report.failure_mode or "",
        " → ".join(report.causal_chain),
        " | ".join(f"{e.resource} {e.metric}" for e in report.evidence),
        " | ".join(report.checks),
        " | ".join(report.remediations),
    )
