"""Silences (maintenance windows): matchers on resource, kind and failure mode, in time.

The Alertmanager model: a silence matches a page when every matcher it has matches (the
page's root-cause resource, that resource's kind, the failure mode) and the page is sent
between its start and end (wall-clock time: a silence is about what is sent now). A
silenced page is not sent; the anomalies, the incident and its report are still recorded,
and the report says which silence held the page. Silences live in
``<home>/silences.sqlite``, so ``foreshock silence add`` in one shell silences the
pipeline running in another.

Examples
--------
>>> store = SilenceStore(":memory:")
>>> s = store.add(resource="redis-cache", duration_s=7200, reason="upgrade", now=0.0)
>>> s.id, [x.id for x in store.active(now=60.0)], store.active(now=7300.0)
('s-1', ['s-1'], [])
>>> from foreshock.schemas.alert import AlertEvent
>>> page = AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0, summary="x",
...                   source="redis-cache", details={"failure_mode": "memory_exhaustion"})
>>> Silencer(store, {"redis-cache": "redis"}).match(page, now=60.0).reason
'upgrade'
>>> store.remove("s-1"), Silencer(store, {}).match(page, now=60.0)
(True, None)
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.errors import ConfigError

__all__ = ["Silence", "SilenceStore", "Silencer"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    n             INTEGER PRIMARY KEY AUTOINCREMENT,
    resource      TEXT,
    kind          TEXT,
    failure_mode  TEXT,
    starts_at     REAL NOT NULL,
    ends_at       REAL NOT NULL,
    reason        TEXT NOT NULL,
    removed_at    REAL
);
"""


@dataclass(frozen=True)
class Silence:
    """One silence: its matchers (``None`` matches anything), window and reason."""

    id: str
    resource: str | None
    kind: str | None
    failure_mode: str | None
    starts_at: float
    ends_at: float
    reason: str

    def matches(self, resource: str, kind: str | None, failure_mode: str | None) -> bool:
        """Every matcher this silence has matches."""
        return (
            (self.resource is None or self.resource == resource)
            and (self.kind is None or self.kind == kind)
            and (self.failure_mode is None or self.failure_mode == failure_mode)
        )

    def describe(self) -> str:
        """``s-1 (resource=redis-cache, until 2026-12-06 14:00 UTC): upgrade``."""
        on = [
            f"{k}={v}"
            for k, v in (
                ("resource", self.resource),
                ("kind", self.kind),
                ("failure_mode", self.failure_mode),
            )
            if v
        ]
        if math.isinf(self.ends_at):
            until = "until removed"
        else:
            until = "until " + datetime.fromtimestamp(self.ends_at, tz=UTC).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
        return f"{self.id} ({', '.join(on)}, {until}): {self.reason}"


class SilenceStore:
    """Silences in a SQLite file (see the module doc)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def add(
        self,
        duration_s: float,
        reason: str,
        resource: str | None = None,
        kind: str | None = None,
        failure_mode: str | None = None,
        now: float | None = None,
    ) -> Silence:
        """Silence matching pages from now for ``duration_s`` seconds.

        Raises
        ------
        ConfigError
            No resource or kind given (a silence of everything is not a silence, it is
            paging turned off), no reason, or a duration that is not positive.
        """
        if not (resource or kind):
            raise ConfigError("a silence needs --resource or --kind (and may add --failure-mode)")
        if not reason.strip():
            raise ConfigError("a silence needs a --reason (who and why, for the on-call)")
        if not duration_s > 0:
            raise ConfigError("a silence needs a positive --for, e.g. 2h")
        t = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO silences (resource, kind, failure_mode, starts_at, ends_at, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (resource, kind, failure_mode, t, t + duration_s, reason.strip()),
            )
        n = int(cur.lastrowid or 0)
        return Silence(f"s-{n}", resource, kind, failure_mode, t, t + duration_s, reason.strip())

    def active(self, now: float | None = None) -> list[Silence]:
        """Silences in force at ``now``, oldest first."""
        t = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT n, resource, kind, failure_mode, starts_at, ends_at, reason FROM silences "
                "WHERE removed_at IS NULL AND starts_at <= ? AND ends_at > ? ORDER BY n",
                (t, t),
            ).fetchall()
        return [Silence(f"s-{r[0]}", *r[1:]) for r in rows]

    def remove(self, silence_id: str, now: float | None = None) -> bool:
        """End a silence now; ``False`` if there is no such silence in force."""
        try:
            n = int(silence_id.removeprefix("s-"))
        except ValueError:
            return False
        t = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute(
                "UPDATE silences SET removed_at = ? WHERE n = ? AND removed_at IS NULL", (t, n)
            )
        return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Silencer:
    """Which silence, if any, holds a page (the page's ``component`` is its kind, else
    ``kinds`` maps resource id → kind)."""

    def __init__(self, store: SilenceStore, kinds: dict[str, str] | None = None) -> None:
        self.store = store
        self.kinds = kinds or {}

    def match(self, event: AlertEvent, now: float | None = None) -> Silence | None:
        mode = event.details.get("failure_mode")
        kind = event.component or self.kinds.get(event.source)
        return next(
            (s for s in self.store.active(now) if s.matches(event.source, kind, mode)), None
        )
