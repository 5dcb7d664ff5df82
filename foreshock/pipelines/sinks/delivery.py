"""Delivery from the durable outbox: a worker thread per sink, in order, rate-bounded.

:class:`OutboxSink` is an alert sink that stores each event in its
:class:`~.outbox.Outbox` and returns; its thread sends what is due, one event per key at
a time and in order, at most one event every ``min_interval_s``. A failed attempt is
retried on the outbox's bounded back-off; a :class:`Refused` one (the receiver said the
event is invalid) is kept as failed with the reason. Subclasses say how an event is
written (:meth:`OutboxSink.body`) and sent (:meth:`OutboxSink.post`): PagerDuty, a webhook.

Examples
--------
>>> from foreshock.pipelines.sinks.outbox import Outbox
>>> from foreshock.schemas.alert import AlertEvent
>>> class Printer(OutboxSink):
...     def body(self, event): return event.dedup_key, {"text": event.summary}
...     def post(self, ev): print("sent", ev.body["text"])
>>> sink = Printer(Outbox(":memory:", dest="print"), min_interval_s=0.0)
>>> sink.send(AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0,
...                      summary="disk full", source="db"))
True
>>> sink.close()
sent disk full
>>> sink.final_counts
{'delivered': 1}
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from foreshock.pipelines.sinks.alerts import alert_key
from foreshock.pipelines.sinks.outbox import Outbox, OutboxEvent
from foreshock.schemas.alert import AlertEvent

__all__ = ["OutboxSink", "Refused"]

log = logging.getLogger(__name__)


class Refused(Exception):
    """The receiver said the event is invalid: do not retry it."""


class OutboxSink:
    """Alert sink through a durable outbox (see the module doc).

    Parameters
    ----------
    outbox
        Where events wait until delivered (survives restarts).
    min_interval_s
        Least time between two sends.
    """

    def __init__(self, outbox: Outbox, min_interval_s: float = 0.5) -> None:
        self.outbox = outbox
        self.min_interval_s = min_interval_s
        #: events by outbox state when the sink closed
        self.final_counts: dict[str, int] = {}
        self._last_send = 0.0
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(
            target=self._work, name=f"foreshock-{outbox.dest}", daemon=True
        )
        self._thread.start()  # delivers what an earlier process left pending, too

    def body(self, event: AlertEvent) -> tuple[str, dict[str, Any]]:
        """The event's key in the outbox and what is stored to send."""
        raise NotImplementedError

    def post(self, ev: OutboxEvent) -> None:
        """Send one stored event; raise :class:`Refused` if the receiver refused it for
        good, any other exception to have it retried."""
        raise NotImplementedError

    def send(self, event: AlertEvent) -> bool:
        """Store ``event`` for delivery; ``False`` if it is in the outbox already."""
        key, body = self.body(event)
        new = self.outbox.put(key, alert_key(event)[1], body)
        with self._cv:
            self._cv.notify_all()
        return new

    def deliver_due(self) -> int:
        """Try every event that is due, in order; how many were delivered."""
        done = 0
        for ev in self.outbox.due():
            if self._stop:
                break
            wait = self._last_send + self.min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_send = time.monotonic()
            try:
                self.post(ev)
            except Refused as exc:
                log.error("%s refused %s %s: %s", self.outbox.dest, ev.action, ev.dedup_key, exc)
                self.outbox.failed_for_good(ev, str(exc))
            except Exception as exc:  # network, 429, 5xx: the outbox retries it later
                self.outbox.failed_attempt(ev, f"{type(exc).__name__}: {exc}"[:300])
            else:
                self.outbox.delivered(ev)
                done += 1
        return done

    def _work(self) -> None:
        while not self._stop:
            self.deliver_due()
            nxt = self.outbox.next_due()
            with self._cv:
                if self._stop:
                    return
                wait = 5.0 if nxt is None else min(5.0, max(0.05, nxt - time.time()))
                self._cv.wait(wait)

    def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for every pending event to be delivered (or refused);
        ``True`` if none is left pending."""
        deadline = time.monotonic() + timeout_s
        while self.outbox.counts().get("pending", 0) and time.monotonic() < deadline:
            with self._cv:
                self._cv.notify_all()
            time.sleep(0.05)
        return not self.outbox.counts().get("pending", 0)

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what can be within ``timeout_s``, then stop; the rest stays in the
        outbox for the next start."""
        self.flush(timeout_s)
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=15.0)
        self.final_counts = self.outbox.counts()
        self.outbox.close()
