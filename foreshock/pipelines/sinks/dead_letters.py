"""Dead-letter sinks: keep input that could not be used, with the reason, and count it.

A source or stage that drops a line sends a :class:`~foreshock.schemas.dead_letter.DeadLetter`
here instead of failing, so one bad row does not stop a replay and nothing is dropped
silently: the letters are kept in a JSON Lines file to inspect, and counted by reason
for the run summary and the ``foreshock_dead_letters_total`` metric.

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
from pathlib import Path
from typing import Protocol, runtime_checkable

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
    appended to the same file.

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
    >>> tmp.cleanup()
    """

    def __init__(self, path: Path | str | None, *, keep: int = 100) -> None:
        self.path = None if path is None else Path(path)
        self.keep = keep
        self._counts: Counter[str] = Counter()
        self._recent: deque[DeadLetter] = deque(maxlen=keep)
        # A line cut short by a crash must not swallow the next letter.
        self._needs_newline = self.path is not None and _ends_mid_line(self.path)

    def send(self, letter: DeadLetter) -> None:
        """Append ``letter`` to the file (if any), remember it and count its reason."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = letter.model_dump_json().encode() + b"\n"
            with self.path.open("ab") as f:
                f.write(b"\n" + line if self._needs_newline else line)
            self._needs_newline = False
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
