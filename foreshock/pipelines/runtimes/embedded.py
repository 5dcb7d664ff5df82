"""The embedded runtime: a replay folder through the whole chain, in one process.

:func:`run_replay` reads a replay folder (and, with ``logs``, server log files, merged into
the stream in event-time order), pushes it through the chain that
:mod:`foreshock.pipelines.assembly` builds from the settings (detector, forecasting, packs),
on the graph backend the settings choose, and stores what a user looks at afterwards:
reports and incidents in the store the settings choose (``reports.sqlite`` under ``home``
by default), pages in ``alerts.jsonl``, dropped input with its reason in
``dead_letters.jsonl``.

Examples
--------
>>> import tempfile, pathlib
>>> from foreshock.sim.simulator import simulate
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> replay = simulate("mysql_lock_contention", seed=2, hours=3).write(tmp / "replay")
>>> result = run_replay(replay, home=tmp / "home")
>>> result.incidents[0].root_cause.resource, len(result.alerts)
('mysql-primary', 1)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foreshock.enrichers.stores.base import ReportStore
from foreshock.pipelines.assembly import assemble, load_settings_packs
from foreshock.pipelines.backends import (
    open_enricher,
    open_graph,
    open_pager,
    open_silencer,
    open_store,
)
from foreshock.pipelines.runtimes.home import HomeLock
from foreshock.pipelines.runtimes.outputs import Outputs
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sinks.alerts import AlertSink, JsonlAlertSink
from foreshock.pipelines.sinks.dead_letters import JsonlDeadLetterSink
from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.pipelines.sources.logs.tail import read_log_files
from foreshock.pipelines.sources.replay import Replay, read_replay
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.urls import mask_url


@dataclass
class RunResult:
    """What a run produced, for the CLI and for tests.

    It grows with the events of the run (anomalies, incidents, reports, pages), not with
    its length: of the forecasts (one per capacity series and refit) it holds the latest
    of each series and their count; :attr:`forecasts` reads all of them back from the
    store.
    """

    replay: Path
    home: Path
    samples: int = 0
    series: int = 0
    #: every anomaly record (open and closed episodes)
    anomalies: list[Anomaly] = field(default_factory=list)
    #: the latest version of every incident, by opening time
    incidents: list[Incident] = field(default_factory=list)
    #: the latest report of every incident
    reports: list[RootCauseReport] = field(default_factory=list)
    #: the id of every report, in order (one per incident version)
    report_ids: list[str] = field(default_factory=list)
    #: the latest forecast of every capacity series
    latest_forecasts: list[Forecast] = field(default_factory=list)
    forecast_count: int = 0
    alerts: list[AlertEvent] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    reordered: int = 0
    suppressed: int = 0
    log_records: int = 0
    seconds: float = 0.0
    #: of :attr:`seconds`, those spent waiting at the end for the LLM enricher to finish
    llm_wait_seconds: float = 0.0
    #: where pages went besides the alert log ("" if only there), and outbox counts
    pager_label: str = ""
    #: pages a silence held: (incident id, silence id)
    silenced: list[tuple[str, str]] = field(default_factory=list)
    truth: dict[str, Any] | None = None
    store_label: str = ""
    #: event time of the first and the last metric batch
    span: tuple[float, float] | None = None
    open_store: Callable[[], ReportStore] | None = field(default=None, repr=False)

    @property
    def forecasts(self) -> list[Forecast]:
        """Every forecast of the run, read back from the store (the run does not hold them).

        Those made within the run's event time (:attr:`span`), ordered by resource,
        metric, newest first: a store shared with other runs over the same series and
        time (OpenSearch, or a ``home`` used twice) gives theirs too.
        """
        if self.open_store is None or self.span is None or not self.forecast_count:
            return []
        first, last = self.span
        store = self.open_store()
        try:
            found = store.forecasts(latest_only=False)
        finally:
            store.close()
        return [f for f in found if first <= f.made_at <= last]

    @property
    def store_path(self) -> Path:
        return self.home / "reports.sqlite"

    @property
    def alerts_path(self) -> Path:
        return self.home / "alerts.jsonl"

    @property
    def dead_letters_path(self) -> Path:
        return self.home / "dead_letters.jsonl"

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract of ``foreshock run`` and ``foreshock demo``."""
        return {
            "incidents": [incident_json(i) for i in self.incidents],
            "anomalies": sum(1 for a in self.anomalies if a.state == "open"),
            "samples": self.samples,
            "series": self.series,
            "rows": self.rows,
            "dead_letters": {
                "total": sum(self.dead_letters.values()),
                "by_reason": self.dead_letters,
                "path": str(self.dead_letters_path),
            },
            "reordered_rows": self.reordered,
            "log_records": self.log_records,
            "alerts": [a.model_dump() for a in self.alerts],
            "pages_to": self.pager_label or str(self.alerts_path),
            "silenced": [{"incident": i, "silence": s} for i, s in self.silenced],
            "reports": list(self.report_ids),
            "store": self.store_label or str(self.store_path),
            "seconds": round(self.seconds, 3),
            "truth": self.truth,
        }


def incident_json(i: Incident) -> dict[str, Any]:
    rc = i.root_cause
    return {
        "id": i.id,
        "opened_at": i.opened_at,
        "updated_at": i.updated_at,
        "status": i.status,
        "version": i.version,
        "resources": i.resources,
        "root_cause": rc.model_dump() if rc else None,
        "candidates": [
            {"resource": c.resource, "score": c.score, "failure_mode": c.failure_mode}
            for c in i.candidates
        ],
    }


def opensearch_label(settings: Settings) -> str:
    """Where a run's reports go, as printed: the URL without its password.

    >>> s = Settings(store_backend="opensearch", opensearch_url="https://u:pw@os:9200")
    >>> opensearch_label(s)
    'OpenSearch https://u:****@os:9200 (indices foreshock-*)'
    """
    url = mask_url(settings.opensearch_url)
    return f"OpenSearch {url} (indices {settings.opensearch_index_prefix}-*)"


def interleave(
    batches: Iterable[MetricBatch], records: Sequence[LogRecord]
) -> Iterator[MetricBatch | LogRecord]:
    """Batches in order, each preceded by the log records stamped at or before it.

    Records after the last batch are dropped (no scrape judges them).

    >>> from foreshock.schemas.metrics import MetricBatch
    >>> b = [MetricBatch(timestamp=t, resources=[], metrics=[], values=[]) for t in (10, 20)]
    >>> r = [LogRecord(timestamp=t, resource="x", message="m") for t in (15, 5, 25)]
    >>> [x.timestamp for x in interleave(b, r)]
    [5.0, 10.0, 15.0, 20.0]
    """
    pending = sorted(records, key=lambda r: r.timestamp)
    i = 0
    for batch in batches:
        while i < len(pending) and pending[i].timestamp <= batch.timestamp:
            yield pending[i]
            i += 1
        yield batch


def run_replay(
    folder: Path,
    home: Path,
    on_batch: Callable[[int, int], None] | None = None,
    alert_sink: AlertSink | None = None,
    replay: Replay | None = None,
    settings: Settings | None = None,
    logs: Sequence[str] = (),
) -> RunResult:
    """Run the pipeline over a replay folder; results stored under ``home``.

    Parameters
    ----------
    folder
        The replay folder (``metrics.csv``, optional ``topology.yaml`` and ``truth.json``).
    home
        State folder: ``alerts.jsonl``, ``dead_letters.jsonl``, ``reports.sqlite``.
    on_batch
        Progress: called with (batches done, batches in all) after each batch.
    alert_sink
        Where pages go (default: ``home/alerts.jsonl``).
    replay
        The folder, already read (else it is read here).
    settings
        Backends, detector, forecasting, packs (default: :meth:`Settings.load`).
    logs
        Server log files to merge into the stream, ``PATH=RESOURCE[:FORMAT]``.
    """
    started = time.perf_counter()
    settings = settings or Settings.load()
    rep = replay or read_replay(folder)
    records = read_log_files(logs) if logs else []
    with HomeLock(home):
        return _run(folder, home, rep, records, settings, on_batch, alert_sink, started)


def _run(
    folder: Path,
    home: Path,
    rep: Replay,
    records: list[LogRecord],
    settings: Settings,
    on_batch: Callable[[int, int], None] | None,
    alert_sink: AlertSink | None,
    started: float,
) -> RunResult:
    result = RunResult(
        replay=folder, home=home, rows=rep.rows, reordered=rep.reordered, truth=rep.truth
    )
    dead = JsonlDeadLetterSink(result.dead_letters_path)
    for letter in rep.dead_letters:
        dead.send(letter)
    result.dead_letters = dead.counts()
    if settings.store_backend == "opensearch":
        result.store_label = opensearch_label(settings)
    packs = load_settings_packs(settings)
    opened = open_graph(settings, rep.topology)
    outputs = Outputs(
        open_store(settings, home),
        open_pager(settings, home, alert_sink or JsonlAlertSink(result.alerts_path)),
        history=opened.history,
        enricher=open_enricher(settings, home, rep.topology),
        silencer=open_silencer(home, rep.topology),
        inhibitor=Inhibitor(rep.topology),
    )
    asm = assemble(settings, rep.topology, opened.graph, packs)
    total, done = len(rep.batches), 0

    def progress(item: Any) -> None:
        nonlocal done
        if isinstance(item, MetricBatch):
            done += 1
            t = float(item.timestamp)
            result.span = (t, t) if result.span is None else (result.span[0], t)
            if on_batch is not None:
                on_batch(done, total)

    try:
        asm.chain.run(interleave(rep.batches, records), outputs.deliver, progress)
        for event in asm.correlation.finish():
            outputs.deliver(event)
    finally:
        outputs.close()
        opened.close()
    result.anomalies, result.reports = outputs.anomalies, outputs.reports
    result.report_ids, result.alerts = outputs.report_ids, outputs.alerts
    result.latest_forecasts, result.forecast_count = outputs.forecasts, outputs.forecast_count
    result.open_store = lambda: open_store(settings, home)
    result.incidents = sorted(outputs.incidents.values(), key=lambda i: i.opened_at)
    detect = asm.detection.detect
    result.samples, result.series = detect.samples, detect.n_series
    result.log_records = len(records)
    result.suppressed = asm.correlation.correlate.grouper.suppressed
    result.seconds = time.perf_counter() - started
    result.llm_wait_seconds = outputs.enrich_waited_s
    result.pager_label = pager_label(outputs.sink)
    result.silenced = [(e.dedup_key, sid) for e, sid in outputs.silenced]
    return result


def pager_label(sink: AlertSink) -> str:
    """Where a sink sends pages besides the local log, with its outbox's counts."""
    from foreshock.pipelines.sinks.delivery import OutboxSink
    from foreshock.pipelines.sinks.pagerduty import PagerDutySink

    out = []
    for s in getattr(sink, "sinks", (sink,)):
        if isinstance(s, OutboxSink):
            counts = ", ".join(f"{n} {state}" for state, n in s.final_counts.items())
            where = f"PagerDuty {s.events_url}" if isinstance(s, PagerDutySink) else "the webhook"
            out.append(f"{where} via outbox {s.outbox.path} ({counts or 'empty'})")
    return " and ".join(out)
