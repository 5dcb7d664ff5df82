"""A context-manager mixin for anything with ``close()`` (stores, graph backends).

Examples
--------
>>> class Thing(Closing):
...     closed = False
...     def close(self) -> None:
...         self.closed = True
>>> with Thing() as t:
...     pass
>>> t.closed
True
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """``with obj:`` closes ``obj`` on the way out; subclasses define ``close``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
