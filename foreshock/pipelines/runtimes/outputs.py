"""Where a pipeline's outputs go, the same way in every runtime.

:class:`Outputs` takes every record that comes out of the chain: incidents (latest
version kept, stored, recorded in the graph's incident history when the graph backend
keeps one), reports (stored), pages (sent to the alert sink, which drops duplicates),
forecasts (stored in batches through the store's ``put_forecasts``) and anomalies. The
distributed worker's store and page agents call the same methods for what they read off
their topics.

What it keeps in memory grows with the *events* of a run, never with its length: the
latest version of each incident, the latest report of each incident and every report id,
every page and every anomaly record, and of the forecasts (one per capacity series every
refit, ~55 KB each with their curves: a week of a small fleet's forecasts would be
gigabytes) only the latest of each series and their count; every forecast is in the store.

With an ``enricher`` (an LLM endpoint is configured), each report is stored as the
narrator wrote it and handed to the enricher's worker thread; the enriched version (or
the narrator's with the reason it stands) replaces it in the store when it is ready,
picked up as later records arrive and at :meth:`Outputs.close`, which waits for the
enricher at most ``enrich_wait_s``. The chain never waits on the model.

Examples
--------
>>> import tempfile, pathlib
>>> from foreshock.enrichers.stores.sqlite import SQLiteReportStore
>>> from foreshock.pipelines.sinks.alerts import JsonlAlertSink
>>> from foreshock.schemas.incident import Incident
>>> home = pathlib.Path(tempfile.mkdtemp())
>>> out = Outputs(SQLiteReportStore(home / "r.sqlite"), JsonlAlertSink(home / "a.jsonl"))
>>> out.deliver(Incident(id="i", opened_at=0, updated_at=0))
>>> out.deliver(Incident(id="i", opened_at=0, updated_at=60, version=2))
>>> [i.version for i in out.incidents.values()], out.store.get_incident("i").version
([2], 2)
>>> from foreshock.schemas.forecast import Forecast
>>> for t in (0.0, 900.0):
...     out.deliver(Forecast(resource="db", metric="disk", made_at=t, model="linear",
...                          horizon_s=3600.0))
>>> out.forecast_count, [f.made_at for f in out.forecasts]
(2, [900.0])
>>> out.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from foreshock.enrichers.llm.background import BackgroundEnricher
from foreshock.enrichers.stores.base import ReportStore
from foreshock.graph.backends.base import IncidentHistory
from foreshock.pipelines.sinks.alerts import AlertSink
from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.pipelines.sinks.silences import Silencer
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport

__all__ = ["Outputs"]


class Outputs:
    """Collects and persists what a run produced (see the module doc).

    Parameters
    ----------
    store
        Reports, incidents and forecasts go here.
    sink
        Pages go here (``send`` returns ``False`` for a duplicate, which is not kept).
    history
        Incident history in the graph (Neo4j), if the graph backend keeps one.
    on_event
        Called with every record, after it was handled (live progress output).
    forecast_batch
        Forecasts are written in batches of this many (and on :meth:`flush`).
    enricher
        The background LLM enricher, if an endpoint is configured.
    enrich_wait_s
        At :meth:`close`, how long to wait for reports still being enriched.
    silencer
        Silences (maintenance windows): a page one of them holds is not sent.
    inhibitor
        Holds the pages of incidents an open, paged incident explains (by the topology).
    """

    def __init__(
        self,
        store: ReportStore,
        sink: AlertSink,
        history: IncidentHistory | None = None,
        on_event: Callable[[Any], None] | None = None,
        forecast_batch: int = 256,
        enricher: BackgroundEnricher | None = None,
        enrich_wait_s: float = 120.0,
        silencer: Silencer | None = None,
        inhibitor: Inhibitor | None = None,
    ) -> None:
        self.store = store
        self.sink = sink
        self.history = history
        self.on_event = on_event
        self.forecast_batch = forecast_batch
        self.enricher = enricher
        self.enrich_wait_s = enrich_wait_s
        self.silencer = silencer
        self.inhibitor = inhibitor
        #: pages a silence held: (event, silence id)
        self.silenced: list[tuple[AlertEvent, str]] = []
        self._held_notes: dict[str, str] = {}  # incident id → why it was not paged
        #: seconds :meth:`close` waited for the enricher (not the chain's time)
        self.enrich_waited_s = 0.0
        #: every anomaly record (open and closed episodes)
        self.anomalies: list[Anomaly] = []
        #: the latest version of every incident
        self.incidents: dict[str, Incident] = {}
        #: the latest report of every incident, in the order the incidents were first reported
        self.reports: list[RootCauseReport] = []
        #: the id of every report, in order (one per incident version)
        self.report_ids: list[str] = []
        #: every page sent
        self.alerts: list[AlertEvent] = []
        #: the latest forecast of every series, in the order the series were first forecast
        self.forecasts: list[Forecast] = []
        #: forecasts made (all of them are in the store)
        self.forecast_count = 0
        self._report_at: dict[str, int] = {}
        self._forecast_at: dict[tuple[str, str], int] = {}
        self._unsaved: list[Forecast] = []

    # -- one method per record type (the distributed store/page agents call these) --------
    def incident(self, incident: Incident) -> None:
        self.incidents[incident.id] = incident
        self.store.put_incident(incident)
        if self.history is not None:
            self.history.record_incident(incident)

    def report(self, report: RootCauseReport) -> None:
        if self.enricher is not None:
            self.enriched(self.enricher.ready())
        report = self._with_paging_note(report)
        self.report_ids.append(report.id)
        at = self._report_at.setdefault(report.incident_id, len(self.reports))
        if at == len(self.reports):
            self.reports.append(report)
        else:
            self.reports[at] = report
        self.store.put(report)
        if self.enricher is not None:
            self.enricher.submit(report, self.similar(report))

    def similar(self, report: RootCauseReport, limit: int = 3) -> list[str]:
        """One line for each of the most similar *other* incidents in the store (by the
        root cause and failure mode's words): what the LLM compares this incident with."""
        words = f"{report.root_cause_resource} {report.failure_mode or ''}".replace("_", " ")
        out: list[str] = []
        seen = {report.incident_id}
        for hit in self.store.search(words, limit=10 * limit):
            if hit.incident_id in seen:
                continue
            seen.add(hit.incident_id)
            when = datetime.fromtimestamp(hit.created_at, tz=UTC).strftime("%Y-%m-%d %H:%M")
            out.append(f"{hit.incident_id} ({when} UTC): {hit.title}")
            if len(out) == limit:
                break
        return out

    def enriched(self, reports: Iterable[RootCauseReport]) -> None:
        """Store what the enricher finished, in place of the narrator's reports."""
        for r in reports:
            at = self._report_at.get(r.incident_id)
            r = self._with_paging_note(r)
            if at is not None and self.reports[at].id == r.id:
                self.reports[at] = r
            self.store.put(r)

    def alert(self, event: AlertEvent) -> bool:
        """Send a page; ``False`` (and not kept) if the sink had sent it already, or an open
        incident explains it (inhibition) or a silence holds it: then its incident's report
        says which."""
        if self.inhibitor is not None:
            explained_by = self.inhibitor.check(event)
            if explained_by is not None:
                if event.action == "trigger":
                    self._hold(event, f"not paged: explained by open incident {explained_by}")
                return False
        if self.silencer is not None and self._silenced(event):
            return False
        if not self.sink.send(event):
            return False
        self.alerts.append(event)
        return True

    def _silenced(self, event: AlertEvent) -> bool:
        """Whether a silence holds ``event`` (a resolve or an update follows its first
        trigger's fate: a silence made after a page neither hides its update nor leaves
        it unresolved)."""
        assert self.silencer is not None
        if event.action != "trigger" or event.revision:
            return event.dedup_key in self._held_notes
        found = self.silencer.match(event)
        if found is None:
            return False
        self.silenced.append((event, found.id))
        self._hold(event, f"not paged: silence {found.describe()}")
        return True

    def _hold(self, event: AlertEvent, note: str) -> None:
        """Say on the incident's report (now and in later versions) why it was not paged."""
        self._held_notes[event.dedup_key] = note
        at = self._report_at.get(event.dedup_key)
        if at is not None:
            self.reports[at] = self.reports[at].model_copy(update={"paging_note": note})
            self.store.put(self.reports[at])

    def _with_paging_note(self, report: RootCauseReport) -> RootCauseReport:
        note = self._held_notes.get(report.incident_id)
        if note is None or report.paging_note == note:
            return report
        return report.model_copy(update={"paging_note": note})

    def add_forecasts(self, forecasts: Iterable[Forecast]) -> None:
        got = list(forecasts)
        for f in got:
            at = self._forecast_at.setdefault((f.resource, f.metric), len(self.forecasts))
            if at == len(self.forecasts):
                self.forecasts.append(f)
            else:
                self.forecasts[at] = f
        self.forecast_count += len(got)
        self._unsaved += got
        if len(self._unsaved) >= self.forecast_batch:
            self.flush()

    def flush(self) -> None:
        """Write the forecasts not written yet."""
        if self._unsaved:
            self.store.put_forecasts(self._unsaved)
            self._unsaved = []

    # -- the chain's output ------------------------------------------------------------------
    def deliver(self, msg: Any) -> None:
        """Handle one record that came out of the chain."""
        if self.enricher is not None:
            self.enriched(self.enricher.ready())
        if isinstance(msg, Anomaly):
            self.anomalies.append(msg)
        elif isinstance(msg, Incident):
            self.incident(msg)
        elif isinstance(msg, RootCauseReport):
            self.report(msg)
        elif isinstance(msg, AlertEvent):
            if not self.alert(msg):
                return
        elif isinstance(msg, Forecast):
            self.add_forecasts([msg])
        if self.on_event is not None:
            self.on_event(msg)

    def close(self) -> None:
        """Store what the enricher finishes (waiting at most ``enrich_wait_s``), flush,
        then close the store."""
        try:
            if self.enricher is not None:
                started = time.perf_counter()
                self.enriched(self.enricher.drain(self.enrich_wait_s))
                self.enrich_waited_s = time.perf_counter() - started
            self.flush()
        finally:
            try:
                self.store.close()
            finally:
                close = getattr(self.sink, "close", None)  # a pager flushes its outbox
                if callable(close):
                    close()
                if self.silencer is not None:
                    self.silencer.store.close()
