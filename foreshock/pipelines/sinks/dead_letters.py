"""Dead-letter sinks: keep input that could not be used, with the reason, and count it.

A source or stage that drops a line sends a :class:`~foreshock.schemas.dead_letter.DeadLetter`
here instead of failing, so one bad row does not stop a replay and nothing is dropped
silently: the letters are kept in a JSON Lines file to inspect, and counted by reason
for the run summary and the ``foreshock_dead_letters_total`` metric. A letter already in the
file (same source — file and line, or topic, partition and offset —, reason and payload) is
not appended again, so rerunning a replay into the same home does not grow the file; the
counts still cover every letter of the run.

Examples
--------
>>> from foreshock.schemas.dead_letter import DeadLetter
>>> sink = JsonlDeadLetterSink(None)
>>> sink.send(DeadLetter(source="metrics.csv:12", reason="non-numeric value", payload="a,b"))
>>> sink.counts(), sink.total
({'non-numeric value': 1}, 1)
"""

from __future__ import annotations

from collections import Counter, deque
from hashlib import blake2b
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson

from foreshock.schemas.dead_letter import DeadLetter

__all__ = ["DeadLetterSink", "JsonlDeadLetterSink"]


@runtime_checkable
class DeadLetterSink(Protocol):
    """Takes dead letters and counts them by reason.

    Examples
    --------
    >>> isinstance(JsonlDeadLetterSink(None), DeadLetterSink)
    True
    """

    def send(self, letter: DeadLetter) -> None:
        """Keep ``letter``."""
        ...

    def counts(self) -> dict[str, int]:
        """Letters received by this sink, by reason."""
        ...

    @property
    def total(self) -> int:
        """Letters received by this sink."""
        ...


class JsonlDeadLetterSink:
    """Appends dead letters to a JSON Lines file (or keeps them in memory only).

    Counts cover the letters this sink received (this run), not earlier runs that
    appended to the same file. A letter whose identity (source, reason, payload) is already
    in the file is counted but not written again (:attr:`appended` counts the new ones).

    Parameters
    ----------
    path
        JSON Lines file, appended to and created (with its parent directories) on the first
        letter; ``None`` keeps letters in memory only.
    keep
        How many of the most recent letters :attr:`letters` holds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from foreshock.schemas.dead_letter import DeadLetter
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "dead_letters.jsonl"
    >>> sink = JsonlDeadLetterSink(path)
    >>> for row in ("x,1", "y,2"):
    ...     sink.send(DeadLetter(source="m.csv", reason="unknown resource", payload=row))
    >>> sink.send(DeadLetter(source="m.csv", reason="non-numeric value", payload="z,?"))
    >>> sink.counts()
    {'unknown resource': 2, 'non-numeric value': 1}
    >>> DeadLetter.model_validate_json(path.read_text().splitlines()[-1]).payload
    'z,?'

    A rerun sends the same letters: counted again, not stored again.

    >>> again = JsonlDeadLetterSink(path)
    >>> again.send(DeadLetter(source="m.csv", reason="non-numeric value", payload="z,?"))
    >>> again.counts(), again.appended, len(path.read_text().splitlines())
    ({'non-numeric value': 1}, 0, 3)
    >>> tmp.cleanup()
    """

    def __init__(self, path: Path | str | None, *, keep: int = 100) -> None:
        self.path = None if path is None else Path(path)
        self.keep = keep
        self._counts: Counter[str] = Counter()
        self._recent: deque[DeadLetter] = deque(maxlen=keep)
        # A line cut short by a crash must not swallow the next letter.
        self._needs_newline = self.path is not None and _ends_mid_line(self.path)
        # identities of the letters in the file: read on the first letter sent
        self._stored: set[bytes] | None = None
        #: Letters this sink wrote to the file (not there before).
        self.appended = 0

    def send(self, letter: DeadLetter) -> None:
        """Append ``letter`` to the file (if any, and unless it is there already), remember
        it and count its reason."""
        if self.path is not None:
            if self._stored is None:
                self._stored = _identities(self.path)
            key = _identity(letter.source, letter.reason, letter.payload)
            if key not in self._stored:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                line = letter.model_dump_json().encode() + b"\n"
                with self.path.open("ab") as f:
                    f.write(b"\n" + line if self._needs_newline else line)
                self._needs_newline = False
                self._stored.add(key)
                self.appended += 1
        self._counts[letter.reason] += 1
        self._recent.append(letter)

    def counts(self) -> dict[str, int]:
        """Letters received by this sink, by reason, most frequent first."""
        return dict(self._counts.most_common())

    @property
    def total(self) -> int:
        """Letters received by this sink."""
        return self._counts.total()

    @property
    def letters(self) -> list[DeadLetter]:
        """The most recent letters (at most ``keep``), oldest first."""
        return list(self._recent)

    def __repr__(self) -> str:
        where = None if self.path is None else str(self.path)
        return f"JsonlDeadLetterSink({where!r}, total={self.total})"


def _identity(source: str, reason: str, payload: str) -> bytes:
    """A 16-byte digest of what makes two letters the same letter."""
    return blake2b(orjson.dumps([source, reason, payload]), digest_size=16).digest()


def _identities(path: Path) -> set[bytes]:
    """Identities of the letters stored in ``path`` (none if it does not exist).

    A line that is not a letter (cut short by a crash, edited by hand) is skipped.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = f.write_bytes(b'{"source": "a:1", "reason": "r", "payload": "p"}\\n{"sour')
    >>> _identities(f) == {_identity("a:1", "r", "p")}
    True
    """
    out: set[bytes] = set()
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return out
    with fh:
        for line in fh:
            try:
                d = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(d, dict):
                continue
            source, reason, payload = d.get("source"), d.get("reason"), d.get("payload")
            if isinstance(source, str) and isinstance(reason, str) and isinstance(payload, str):
                out.add(_identity(source, reason, payload))
    return out


def _ends_mid_line(path: Path) -> bool:
    """Whether ``path`` exists, is not empty and does not end with a newline."""
    try:
        with path.open("rb") as f:
            if f.seek(0, 2) == 0:
                return False
            f.seek(-1, 2)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False
