"""The stage contract shared by both runtimes.

A stage is a plain object with no I/O: it takes a record (and, through ``tick``, the
clock) and returns records, and hands over its state as bytes (data, never a pickle: see
:mod:`foreshock.schemas.state`). Runtimes move records between stages through chains
(:mod:`foreshock.pipelines.chain`) that :mod:`foreshock.pipelines.assembly` builds: in one
process (replay, live) or as Faust agents on Kafka topics (distributed).

Examples
--------
>>> class Echo:
...     def process(self, item: int) -> list[int]: return [item]
...     def tick(self, now: float) -> list[int]: return []
...     def snapshot(self) -> bytes: return b""
...     def restore(self, state: bytes) -> None: pass
>>> isinstance(Echo(), Stage)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Stage(Protocol):
    """``process`` a record, ``tick`` on time, ``snapshot``/``restore`` state."""

    def process(self, item: Any) -> Iterable[Any]: ...

    def tick(self, now: float) -> Iterable[Any]: ...

    def snapshot(self) -> bytes: ...

    def restore(self, state: bytes) -> None: ...
