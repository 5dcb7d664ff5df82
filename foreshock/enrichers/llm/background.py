"""LLM enrichment off the pipeline's path: a worker thread, coalesced per incident.

The pipeline stores the narrator's report at once and hands it to
:class:`BackgroundEnricher`; it never waits on the model. The worker enriches one report
at a time. While a report waits, a newer version of the same incident replaces it (only
the latest diagnosis is worth a call), and at most ``max_pending`` incidents wait: beyond
that the oldest keeps the narrator's report, saying so. Finished reports are collected
with :meth:`~BackgroundEnricher.ready` by whoever owns the store (so the store is only
written from its own thread). :meth:`~BackgroundEnricher.drain` waits a bounded time at
the end of a run; what did not finish keeps the narrator's report with the reason.

Examples
--------
>>> from foreshock.enrichers.llm.enricher import LlmEnricher
>>> from foreshock.schemas.report import RootCauseReport
>>> bg = BackgroundEnricher(LlmEnricher(base_url="", model=""))
>>> bg.submit(RootCauseReport(id="i-v1", incident_id="i", created_at=0.0, title="t",
...                           summary="s", root_cause_resource="redis"))
>>> [(r.id, r.enriched_by) for r in bg.drain(timeout_s=5)]
[('i-v1', 'narrator')]
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from foreshock.enrichers.llm.enricher import LlmEnricher
from foreshock.schemas.report import RootCauseReport

__all__ = ["BackgroundEnricher"]

Knowledge = Callable[[RootCauseReport], list[str]]


class BackgroundEnricher:
    """Enrich reports on a worker thread (see the module doc).

    Parameters
    ----------
    enricher
        Does the work (:class:`~foreshock.enrichers.llm.enricher.LlmEnricher`).
    knowledge
        Knowledge-base snippets for a report (what the prompt shows as matching failure
        modes); none when not given.
    max_pending
        Most incidents waiting for the model; the oldest beyond it stays the narrator's.
    """

    def __init__(
        self, enricher: LlmEnricher, knowledge: Knowledge | None = None, max_pending: int = 64
    ) -> None:
        self.enricher = enricher
        self.knowledge = knowledge
        self.max_pending = max_pending
        #: reports replaced by a newer version of their incident before they were sent
        self.coalesced = 0
        self._pending: OrderedDict[str, RootCauseReport] = OrderedDict()
        self._done: list[RootCauseReport] = []
        self._current: RootCauseReport | None = None
        self._history: dict[str, list[str]] = {}
        self._closed = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, report: RootCauseReport, history: list[str] | None = None) -> None:
        """Queue ``report`` for enrichment, with lines on similar past incidents; returns
        at once."""
        with self._cv:
            if self._closed:
                return
            self._history[report.incident_id] = history or []
            if report.incident_id in self._pending:
                self.coalesced += 1
                del self._pending[report.incident_id]
            self._pending[report.incident_id] = report
            while len(self._pending) > self.max_pending:
                _, old = self._pending.popitem(last=False)
                self._history.pop(old.incident_id, None)
                self._done.append(_stays(old, f"more than {self.max_pending} reports queued"))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="foreshock-llm", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def ready(self) -> list[RootCauseReport]:
        """The reports finished since the last call (enriched, or the narrator's with why)."""
        with self._cv:
            out, self._done = self._done, []
        return out

    def drain(self, timeout_s: float) -> list[RootCauseReport]:
        """Wait up to ``timeout_s`` for the queue to empty, stop the worker, and return
        everything finished; a report still waiting keeps the narrator's text, saying so."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while self._pending or self._current:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            self._closed = True
            late = [self._current] if self._current else []
            for old in [*late, *self._pending.values()]:
                self._done.append(
                    _stays(old, f"not enriched within {timeout_s:g} s of the run's end")
                )
            self._pending.clear()
            self._history.clear()
            self._cv.notify_all()
        return self.ready()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                _, report = self._pending.popitem(last=False)
                self._current = report
                history = self._history.pop(report.incident_id, [])
            try:
                snippets = self.knowledge(report) if self.knowledge else None
                out = self.enricher.enrich(report, knowledge=snippets, history=history)
            except Exception as exc:  # never let one report stop the worker
                out = _stays(report, f"enrichment failed: {type(exc).__name__}: {exc}"[:300])
            with self._cv:
                self._current = None
                if not self._closed:
                    self._done.append(out)
                self._cv.notify_all()


def _stays(report: RootCauseReport, why: str) -> RootCauseReport:
    return report.model_copy(update={"enriched_by": "narrator", "enrichment_note": why})
