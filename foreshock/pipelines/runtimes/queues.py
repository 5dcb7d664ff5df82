"""The embedded runtime: stages wired with asyncio queues in one process.

Records flow down a chain of stages. Each stage handles the record types it accepts and
passes every record on unchanged, except what it *absorbs* (a stage's ``absorbs``
attribute; by default metric batches stop at the first stage that accepts them, which
lets a stage declare ``absorbs = False`` to share them with the next one).

Time is event time: after each batch the runtime sends a :class:`Tick` carrying the batch
timestamp down the chain, and each stage's ``tick`` runs in order, so a replay runs as
fast as the CPU allows and gives the same result every time.

Examples
--------
>>> import asyncio
>>> class Double:
...     def process(self, x): return [x * 2]
...     def tick(self, now): return []
...     def snapshot(self): return b""
...     def restore(self, s): pass
>>> got = []
>>> rt = EmbeddedRuntime([(Double(), (int,))], got.append)
>>> asyncio.run(rt.run([1, 2]))
>>> got
[1, 2, 2, 4]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from foreshock.pipelines.stage import Stage
from foreshock.schemas.metrics import MetricBatch


@dataclass(frozen=True)
class Tick:
    """Event-time clock signal."""

    now: float


_END = object()


class EmbeddedRuntime:
    """Run ``(stage, accepted types)`` pairs as asyncio tasks joined by bounded queues."""

    def __init__(
        self,
        chain: Sequence[tuple[Stage, tuple[type, ...]]],
        sink: Callable[[Any], None],
        queue_size: int = 256,
        on_batch: Callable[[MetricBatch], None] | None = None,
    ) -> None:
        self.chain = list(chain)
        self.sink = sink
        self.queue_size = queue_size
        self.on_batch = on_batch

    async def _stage(
        self,
        stage: Stage,
        accepts: tuple[type, ...],
        inq: asyncio.Queue[Any],
        outq: asyncio.Queue[Any],
    ) -> None:
        while True:
            msg = await inq.get()
            if msg is _END:
                await outq.put(_END)
                return
            if isinstance(msg, Tick):
                for out in stage.tick(msg.now):
                    await outq.put(out)
                await outq.put(msg)
                continue
            if isinstance(msg, accepts):
                if not getattr(stage, "absorbs", isinstance(msg, MetricBatch)):
                    await outq.put(msg)
                for out in stage.process(msg):
                    await outq.put(out)
            else:
                await outq.put(msg)

    async def _drain(self, q: asyncio.Queue[Any]) -> None:
        while True:
            msg = await q.get()
            if msg is _END:
                return
            if not isinstance(msg, Tick):
                self.sink(msg)

    async def run(self, source: Iterable[Any] | AsyncIterable[Any]) -> None:
        queues: list[asyncio.Queue[Any]] = [
            asyncio.Queue(self.queue_size) for _ in range(len(self.chain) + 1)
        ]
        tasks = [
            asyncio.create_task(self._stage(stage, accepts, queues[i], queues[i + 1]))
            for i, (stage, accepts) in enumerate(self.chain)
        ]
        tasks.append(asyncio.create_task(self._drain(queues[-1])))
        head = queues[0]
        try:
            if isinstance(source, AsyncIterable):
                async for item in source:
                    await self._feed(head, item)
            else:
                for item in source:
                    await self._feed(head, item)
            await head.put(_END)
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    async def _feed(self, head: asyncio.Queue[Any], item: Any) -> None:
        await head.put(item)
        if isinstance(item, MetricBatch):
            await head.put(Tick(item.timestamp))
            if self.on_batch is not None:
                self.on_batch(item)
