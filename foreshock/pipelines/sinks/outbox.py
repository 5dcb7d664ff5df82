"""A durable outbox for pages: written before sending, delivered at least once, in order.

Every outgoing event is committed to a SQLite table (``<home>/outbox.sqlite``) before any
attempt to send it, so a crash, a ``kill -9`` or a receiver that is down loses nothing: a
restarted pipeline opens the same outbox and goes on delivering. Events are identified by
``(dedup_key, action)``; putting one again is a no-op (the pipeline re-emits events after
a restart: they are not paged twice). Per ``dedup_key`` they are delivered strictly in
order: an event waits while an older one of the same key is pending. A failed attempt is
retried after a bounded back-off (``BACKOFF_S``, then its last value); a permanent failure
(the receiver refused the event as invalid) is kept with its reason and never retried.

Examples
--------
>>> box = Outbox(":memory:")
>>> box.put("inc-1", "trigger", {"summary": "x"}, now=0.0), box.put("inc-1", "trigger", {})
(True, False)
>>> box.put("inc-1", "resolve", {"summary": "x"}, now=1.0)
True
>>> [(e.dedup_key, e.action) for e in box.due(now=5.0)]  # the resolve waits its trigger
[('inc-1', 'trigger')]
>>> box.failed_attempt(box.due(5.0)[0], "HTTP 500", now=5.0)
>>> box.due(now=5.5), [e.action for e in box.due(now=6.0)]
([], ['trigger'])
>>> box.delivered(box.due(6.0)[0], now=6.0)
>>> [e.action for e in box.due(now=6.0)], box.counts()
(['resolve'], {'delivered': 1, 'pending': 1})
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BACKOFF_S", "Outbox", "OutboxEvent"]

#: seconds before the 1st, 2nd, ... retry of an event; then the last value, for ever
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    dest       TEXT NOT NULL,                     -- which sink: pagerduty, webhook, ...
    dedup_key  TEXT NOT NULL,
    action     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at REAL NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL,
    last_error TEXT,
    done_at    REAL,
    UNIQUE (dest, dedup_key, action)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (dest, state, dedup_key, seq);
"""


@dataclass(frozen=True)
class OutboxEvent:
    """One stored event."""

    seq: int
    dedup_key: str
    action: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    """Durable, ordered, at-least-once delivery queue (see the module doc).

    Parameters
    ----------
    path
        The SQLite file (``":memory:"`` for a throwaway one). Safe to use from several
        threads of one process.
    backoff
        Seconds before each retry (:data:`BACKOFF_S`).
    dest
        The destination this outbox serves: sinks share one file, each its own events.
    """

    def __init__(
        self, path: Path | str, backoff: tuple[float, ...] = BACKOFF_S, dest: str = "pagerduty"
    ) -> None:
        self.backoff = backoff
        self.dest = dest
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # committed means on disk
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def put(
        self, dedup_key: str, action: str, body: dict[str, Any], now: float | None = None
    ) -> bool:
        """Store an event to send; ``False`` (nothing stored) if that key and action is in
        the outbox already, whatever its state."""
        t = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox (dest, dedup_key, action, body, created_at, "
                "next_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.dest, dedup_key, action, json.dumps(body), t, t),
            )
            return cur.rowcount == 1

    def due(self, now: float | None = None, limit: int = 100) -> list[OutboxEvent]:
        """Events to try now: for each key, its oldest pending event, if its time came."""
        t = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT o.seq, o.dedup_key, o.action, o.body, o.attempts FROM outbox o "
                "WHERE o.dest = ? AND o.state = 'pending' AND o.next_at <= ? AND o.seq = ("
                "  SELECT MIN(seq) FROM outbox p WHERE p.dest = o.dest "
                "  AND p.dedup_key = o.dedup_key AND p.state = 'pending') "
                "ORDER BY o.seq LIMIT ?",
                (self.dest, t, limit),
            ).fetchall()
        return [OutboxEvent(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def delivered(self, event: OutboxEvent, now: float | None = None) -> None:
        """Mark ``event`` delivered: it is never sent again."""
        self._done(event, "delivered", None, now)

    def failed_for_good(self, event: OutboxEvent, reason: str, now: float | None = None) -> None:
        """Mark ``event`` refused for good (the receiver said it is invalid), with why.
        Later events of its key may go (the key's order is kept among deliverable ones)."""
        self._done(event, "failed", reason, now)

    def failed_attempt(self, event: OutboxEvent, reason: str, now: float | None = None) -> None:
        """Record a failed attempt: retried after the next back-off step."""
        t = time.time() if now is None else now
        wait = self.backoff[min(event.attempts, len(self.backoff) - 1)]
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                "WHERE seq = ?",
                (t + wait, reason, event.seq),
            )

    def _done(self, event: OutboxEvent, state: str, reason: str | None, now: float | None) -> None:
        t = time.time() if now is None else now
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
                "done_at = ? WHERE seq = ?",
                (state, reason, t, event.seq),
            )

    def next_due(self) -> float | None:
        """When the next pending event may be tried (``None``: nothing pending)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_at) FROM outbox WHERE dest = ? AND state = 'pending'",
                (self.dest,),
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Events by state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM outbox WHERE dest = ? GROUP BY state ORDER BY state",
                (self.dest,),
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
