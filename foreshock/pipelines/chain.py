"""A chain of stages, and how a record moves down it: the one semantics of every runtime.

A chain is a list of ``(stage, accepted types)`` links. A record pushed into it visits
each stage in order: a stage that accepts the record's type processes it, and its outputs
continue down the chain after it; the record itself goes on too, unless the stage
*absorbs* it (a stage's ``absorbs`` attribute; by default metric batches stop at the first
stage that accepts them, so a stage shares them with the next one by declaring
``absorbs = False``, and every other record goes on). Records a stage does not accept
pass it unchanged.

Time is event time: after each metric batch, :meth:`Chain.feed` pushes a :class:`Tick`
carrying the batch's timestamp, and every stage's ``tick`` runs in chain order (its
outputs, too, continue down the chain). A replay therefore runs as fast as the CPU allows
and gives the same result every time, and the embedded, live and distributed runtimes,
which all push records through chains built by :mod:`foreshock.pipelines.assembly`, find
the same incidents.

Examples
--------
>>> class Double:
...     def process(self, x): return [x * 2]
...     def tick(self, now): return []
...     def snapshot(self): return b""
...     def restore(self, s): pass
>>> chain = Chain([(Double(), (int,)), (Double(), (int,))])
>>> chain.push(1)   # 1 passes both; the first stage's 2 is doubled by the second
[1, 2, 2, 4]
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from foreshock.pipelines.stage import Stage
from foreshock.schemas.metrics import MetricBatch

__all__ = ["Chain", "Link", "Tick"]


@dataclass(frozen=True)
class Tick:
    """Event-time clock signal: every stage's ``tick(now)`` runs when it passes."""

    now: float


Link = tuple[Stage, tuple[type, ...]]


class Chain:
    """Stages in order; :meth:`push` moves one record (or a :class:`Tick`) through them."""

    def __init__(self, links: Sequence[Link]) -> None:
        self.links = list(links)

    def __add__(self, other: Chain) -> Chain:
        return Chain(self.links + other.links)

    def push(self, item: Any) -> list[Any]:
        """What comes out of the last stage for ``item`` (ticks included), in order."""
        items = [item]
        for stage, accepts in self.links:
            out: list[Any] = []
            for msg in items:
                if isinstance(msg, Tick):
                    out.extend(stage.tick(msg.now))
                    out.append(msg)
                elif isinstance(msg, accepts):
                    if not getattr(stage, "absorbs", isinstance(msg, MetricBatch)):
                        out.append(msg)
                    out.extend(stage.process(msg))
                else:
                    out.append(msg)
            items = out
        return items

    def feed(self, item: Any) -> list[Any]:
        """:meth:`push` ``item`` and, after a metric batch, the tick of its timestamp;
        returns the records that came out (ticks dropped)."""
        out = self.push(item)
        if isinstance(item, MetricBatch):
            out += self.push(Tick(float(item.timestamp)))
        return [x for x in out if not isinstance(x, Tick)]

    def run(
        self,
        source: Iterable[Any],
        deliver: Callable[[Any], None],
        on_item: Callable[[Any], None] | None = None,
    ) -> None:
        """Feed every record of ``source``; hand each output to ``deliver``."""
        for item in source:
            for out in self.feed(item):
                deliver(out)
            if on_item is not None:
                on_item(item)

    async def arun(
        self,
        source: AsyncIterable[Any],
        deliver: Callable[[Any], None],
        on_item: Callable[[Any], None] | None = None,
    ) -> None:
        """:meth:`run` over an asynchronous source (a live poller)."""
        async for item in source:
            for out in self.feed(item):
                deliver(out)
            if on_item is not None:
                on_item(item)
