"""One state folder, one writer: a lock on the home folder for the life of a run.

Two runs on one home would both page (each alert sink remembers only what it sent) and
interleave their writes; so a run takes an exclusive lock on ``<home>/.lock`` first and a
second run is refused at once with who holds it. The lock is an OS lock (``flock``): it is
released when the process ends, however it ends (``kill -9`` included), so a stale lock
file never blocks the next run.

Examples
--------
>>> import tempfile, pathlib
>>> home = pathlib.Path(tempfile.mkdtemp())
>>> with HomeLock(home):
...     HomeLock(home).acquire()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.ConfigError: state folder ... is in use by another foreshock process ...
>>> with HomeLock(home) as lock:  # free again
...     lock.path.name
'.lock'
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from foreshock.schemas.errors import ConfigError

__all__ = ["HomeLock"]


class HomeLock:
    """Exclusive use of a state folder (see the module doc).

    Keep the object while the lock is needed: it is released when the object is closed or
    collected (its file is closed).
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / ".lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> HomeLock:
        """Take the lock, or raise :class:`ConfigError` naming the process that holds it."""
        self.home.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise ConfigError(
                f"state folder {self.home} is in use by another foreshock process (pid "
                f"{holder}): one folder has one writer, or pages would be sent twice; use "
                "another --home, or wait for that run to end"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Give the lock back (the file stays; it is never trusted on its own)."""
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> HomeLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
