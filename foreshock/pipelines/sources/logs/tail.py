"""Follow log files: a rotation-safe tailer, and several files bound to resources.

:class:`FileTail` returns the complete lines appended since the last call, never
blocking, and keeps following the *path* across the ways logs are rotated:

- **rename** (logrotate ``create``, a new inode appears at the path): the old file is read
  to its end (its last line, even without a newline, is final), then the new one from 0;
  while nothing is at the path yet, the old file is still followed (the server may not
  have reopened its log yet);
- **copytruncate** (the file shrinks below what was read): read again from 0;
- **not there yet**: nothing until the file appears, then from its first byte;
- **restart**: :meth:`FileTail.position` (inode + offset of the last complete line) and
  :meth:`FileTail.seek` continue where a previous process stopped; if the inode at the
  path changed meanwhile, the new file is read from 0 (lines still in the rotated file
  are not looked for).

:class:`LogFiles` follows several files, each bound to a resource and a format, given as
``PATH=RESOURCE[:FORMAT]`` specs, and turns their lines into
:class:`~foreshock.schemas.logs.LogRecord` s with :class:`~.formats.LineParser`.

Examples
--------
>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> log = pathlib.Path(tmp.name) / "app.log"
>>> tail = FileTail(log)
>>> tail.read()                      # not there yet
[]
>>> _ = log.write_text("one\\ntw")
>>> tail.read()                      # "tw" waits for its newline
['one']
>>> with log.open("a") as f:
...     _ = f.write("o\\n")
>>> tail.read()
['two']
>>> tail.close(); tmp.cleanup()
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from foreshock.pipelines.sources.logs.formats import FORMATS, LineParser
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.logs import LogRecord

__all__ = ["FileTail", "LogFileSpec", "LogFiles", "TailPosition"]


@dataclass(frozen=True)
class TailPosition:
    """Where a tail stands: the file (device, inode) and the offset after its last line.

    >>> TailPosition.from_dict(TailPosition(1, 2, 30).to_dict())
    TailPosition(device=1, inode=2, offset=30)
    """

    device: int
    inode: int
    offset: int

    def to_dict(self) -> dict[str, int]:
        return {"device": self.device, "inode": self.inode, "offset": self.offset}

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> TailPosition:
        return cls(int(d["device"]), int(d["inode"]), int(d["offset"]))


class FileTail:
    """Complete new lines of one path, across rotations (see the module doc).

    Parameters
    ----------
    path
        The file to follow; it need not exist yet.
    from_end
        Start at the end of a file that exists on the first read (unless :meth:`seek`
        said where); files that appear later are always read from their start.
    max_line_bytes
        A line longer than this is cut into pieces of this size.
    chunk_bytes
        At most this many bytes per :meth:`read` (the rest comes next time).

    Examples
    --------
    >>> import tempfile, pathlib, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> log = pathlib.Path(tmp.name) / "redis.log"
    >>> _ = log.write_text("a\\nb\\n")
    >>> tail = FileTail(log)
    >>> tail.read()
    ['a', 'b']
    >>> with log.open("a") as f:
    ...     _ = f.write("c\\n")
    >>> os.rename(log, f"{log}.1"); _ = log.write_text("d\\n")   # logrotate 'create'
    >>> tail.read()
    ['c', 'd']
    >>> again = FileTail(log); again.seek(tail.position()); again.read()
    []
    >>> tail.close(); again.close(); tmp.cleanup()
    """

    def __init__(
        self,
        path: Path | str,
        *,
        from_end: bool = False,
        max_line_bytes: int = 1 << 20,
        chunk_bytes: int = 8 << 20,
    ) -> None:
        self.path = Path(path)
        self.from_end = from_end
        self.max_line_bytes = max_line_bytes
        self.chunk_bytes = chunk_bytes
        self._fh: BinaryIO | None = None
        self._id: tuple[int, int] = (0, 0)  # (device, inode) of the open file
        self._pos = 0  # bytes read from the open file
        self._buf = b""  # a line not yet complete
        self._wanted: TailPosition | None = None
        self._opened_once = False

    # ---------------------------------------------------------------- public
    def read(self) -> list[str]:
        """Complete lines added since the last call (without their newline)."""
        if self._fh is None and not self._open():
            self._opened_once = True  # absent now: when it appears, it is read from its start
            return []
        assert self._fh is not None
        if os.fstat(self._fh.fileno()).st_size < self._pos:  # copytruncate
            self._fh.seek(0)
            self._pos, self._buf = 0, b""
        lines = self._drain()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # rotated away, not recreated yet: keep the old file
            return lines
        if (st.st_dev, st.st_ino) != self._id:  # renamed: finish the old file, then switch
            lines += self._drain()
            if self._buf:
                lines.append(_text(self._buf))
            self.close()
            if self._open():
                lines += self._drain()
        return lines

    def position(self) -> TailPosition:
        """Where the next complete line starts (the offset excludes a partial line)."""
        if self._fh is None:
            return self._wanted or TailPosition(0, 0, 0)
        return TailPosition(self._id[0], self._id[1], self._pos - len(self._buf))

    def seek(self, position: TailPosition) -> None:
        """Continue from ``position`` (from :meth:`position`, perhaps of another process)."""
        self.close()
        self._wanted = position
        self._opened_once = True  # a restored position overrides from_end

    def close(self) -> None:
        """Close the file (the next :meth:`read` opens it again, from the start)."""
        if self._fh is not None:
            self._fh.close()
        self._fh, self._pos, self._buf = None, 0, b""

    def __enter__(self) -> FileTail:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileTail({str(self.path)!r}, position={self.position()})"

    # ---------------------------------------------------------------- internals
    def _open(self) -> bool:
        try:
            fh = self.path.open("rb")
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            return False
        st = os.fstat(fh.fileno())
        self._fh, self._id, self._buf = fh, (st.st_dev, st.st_ino), b""
        start = 0
        w = self._wanted
        if w is not None and (w.device, w.inode) == self._id and w.offset <= st.st_size:
            start = w.offset
        elif not self._opened_once and self.from_end:
            start = st.st_size
        self._wanted, self._opened_once = None, True
        fh.seek(start)
        self._pos = start
        return True

    def _drain(self) -> list[str]:
        assert self._fh is not None
        data = self._fh.read(self.chunk_bytes)
        if not data:
            return []
        self._pos += len(data)
        *complete, rest = (self._buf + data).split(b"\n")
        lines = [piece for c in complete for piece in self._cut(c)]
        while len(rest) > self.max_line_bytes:
            lines.append(_text(rest[: self.max_line_bytes]))
            rest = rest[self.max_line_bytes :]
        self._buf = rest
        return lines

    def _cut(self, line: bytes) -> list[str]:
        n = self.max_line_bytes
        return [_text(line[i : i + n]) for i in range(0, max(len(line), 1), n)]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r")


# ------------------------------------------------------------------------------ several files
@dataclass(frozen=True)
class LogFileSpec:
    """One followed file: ``PATH=RESOURCE[:FORMAT]``.

    >>> LogFileSpec.parse("/var/log/redis/redis.log=redis-cache:redis")
    LogFileSpec(path=PosixPath('/var/log/redis/redis.log'), resource='redis-cache', format='redis')
    >>> LogFileSpec.parse("pg.log=pg-1").format
    'auto'
    >>> LogFileSpec.parse("pg.log=pg-1:syslog")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    foreshock.schemas.errors.ConfigError: log spec 'pg.log=pg-1:syslog': unknown format 'syslog' ...
    """

    path: Path
    resource: str
    format: str = "auto"

    @classmethod
    def parse(cls, spec: str) -> LogFileSpec:
        """Read one spec string; :class:`ConfigError` says what is wrong with a bad one."""
        path, eq, rest = spec.rpartition("=")
        resource, _, fmt = rest.partition(":")
        fmt = fmt.strip() or "auto"
        if not eq or not path.strip():
            problem = "expected PATH=RESOURCE[:FORMAT]"
        elif not resource.strip():
            problem = "no resource after '='"
        elif fmt not in FORMATS:
            problem = f"unknown format {fmt!r} (one of {'|'.join(FORMATS)})"
        else:
            return cls(Path(path.strip()), resource.strip(), fmt)
        raise ConfigError(f"log spec {spec!r}: {problem}")


class LogFiles:
    """Follow several log files, each bound to a resource and a format.

    Parameters
    ----------
    specs
        ``PATH=RESOURCE[:FORMAT]`` strings (or :class:`LogFileSpec`); FORMAT is one of
        ``redis|mariadb|mariadb-slow|postgresql|generic|auto`` (default ``auto``: decided
        on the first lines read).
    clock
        Arrival time of lines without a timestamp.
    tz
        Zone of header times that carry none.
    from_end
        Skip what files already hold on the first poll (see :class:`FileTail`).

    A record still waiting for continuation lines (PostgreSQL ``DETAIL:``, a slow-log
    entry) is released by the first poll that finds its file quiet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> log = pathlib.Path(tmp.name) / "redis.log"
    >>> _ = log.write_text("1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp\\n")
    >>> files = LogFiles([f"{log}=redis-cache:redis"])
    >>> [(r.resource, r.level, r.message) for r in files.poll()]
    [('redis-cache', 'notice', 'Ready to accept connections tcp')]
    >>> files.close(); tmp.cleanup()
    """

    def __init__(
        self,
        specs: Iterable[str | LogFileSpec],
        *,
        clock: Callable[[], float] = time.time,
        tz: tzinfo = UTC,
        from_end: bool = False,
    ) -> None:
        self.specs = [s if isinstance(s, LogFileSpec) else LogFileSpec.parse(s) for s in specs]
        seen: set[Path] = set()
        for s in self.specs:
            if s.path in seen:
                raise ConfigError(f"log file {s.path} is given twice")
            seen.add(s.path)
        self.clock = clock
        self._tails = {s.path: FileTail(s.path, from_end=from_end) for s in self.specs}
        self._parsers = {
            s.path: LineParser(s.format, s.resource, tz, {"source": str(s.path)})
            for s in self.specs
        }

    def poll(self) -> list[LogRecord]:
        """Records of the lines added to every file since the last poll."""
        out: list[LogRecord] = []
        now = self.clock()
        for path, tail in self._tails.items():
            parser = self._parsers[path]
            lines = tail.read()
            out += parser.feed(lines, now) if lines else parser.flush(now)
        return out

    def formats(self) -> dict[str, str]:
        """Format of each file (``auto`` until its first lines were seen)."""
        return {str(p): parser.format for p, parser in self._parsers.items()}

    def positions(self) -> dict[str, TailPosition]:
        """Position of every file, to :meth:`seek` after a restart."""
        return {str(p): t.position() for p, t in self._tails.items()}

    def seek(self, positions: dict[str, TailPosition]) -> None:
        """Continue each file from a position of :meth:`positions`."""
        for path, pos in positions.items():
            tail = self._tails.get(Path(path))
            if tail is not None:
                tail.seek(pos)

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()

    def __enter__(self) -> LogFiles:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_log_files(specs: Iterable[str | LogFileSpec]) -> list[LogRecord]:
    """Every record in the files of ``specs`` (``PATH=RESOURCE[:FORMAT]``), by time.

    For a replay: the files are read from their start to their end, once.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> log = pathlib.Path(tmp.name) / "redis.log"
    >>> _ = log.write_text("1:M 25 Nov 2026 13:52:48.123 * Ready to accept connections tcp\\n")
    >>> [r.message for r in read_log_files([f"{log}=redis-cache:redis"])]
    ['Ready to accept connections tcp']
    >>> tmp.cleanup()
    """
    out: list[LogRecord] = []
    with LogFiles(specs) as files:
        for s in files.specs:
            if not s.path.is_file():
                raise ConfigError(f"log file {s.path} does not exist")
        while True:
            got = files.poll()
            if not got:
                got = files.poll()  # a quiet poll releases entries still waiting for more
                if not got:
                    break
            out += got
    out.sort(key=lambda r: r.timestamp)
    return out
