"""The embedded pipeline: replay → detect → correlate → enrich → alert, in one process.

:func:`run_replay` reads a replay folder, runs every stage on the embedded runtime, and
stores what a user looks at afterwards in the home folder: reports and incidents in
``reports.sqlite`` (SQLite FTS5), pages in ``alerts.jsonl``, dropped input with its
reason in ``dead_letters.jsonl``.

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

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foreshock.enrichers.narrator import OfflineNarrator
from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.backends import open_store
from foreshock.pipelines.runtimes.queues import EmbeddedRuntime
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sinks.alerts import AlertSink, JsonlAlertSink
from foreshock.pipelines.sinks.dead_letters import JsonlDeadLetterSink
from foreshock.pipelines.sources.replay import Replay, read_replay
from foreshock.pipelines.stages.alerting import AlertStage
from foreshock.pipelines.stages.correlate import CorrelateStage
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.pipelines.stages.enrich import EnrichStage
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.report import RootCauseReport


@dataclass
class RunResult:
    """What a run produced, for the CLI and for tests."""

    replay: Path
    home: Path
    samples: int = 0
    series: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    reports: list[RootCauseReport] = field(default_factory=list)
    forecasts: list[Forecast] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    reordered: int = 0
    suppressed: int = 0
    seconds: float = 0.0
    truth: dict[str, Any] | None = None
    store_label: str = ""

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
            "alerts": [a.model_dump() for a in self.alerts],
            "reports": [r.id for r in self.reports],
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


def run_replay(
    folder: Path,
    home: Path,
    on_batch: Callable[[int, int], None] | None = None,
    alert_sink: AlertSink | None = None,
    replay: Replay | None = None,
    settings: Settings | None = None,
    forecast: bool = True,
) -> RunResult:
    """Run the embedded pipeline over a replay folder; results stored under ``home``.

    Reports and incidents go to the store the settings choose (SQLite under ``home`` by
    default, OpenSearch with ``store_backend = "opensearch"``).
    """
    started = time.perf_counter()
    rep = replay or read_replay(folder)
    home.mkdir(parents=True, exist_ok=True)
    result = RunResult(
        replay=folder, home=home, rows=rep.rows, reordered=rep.reordered, truth=rep.truth
    )
    dead = JsonlDeadLetterSink(result.dead_letters_path)
    for letter in rep.dead_letters:
        dead.send(letter)
    result.dead_letters = dead.counts()

    packs = load_packs()
    index = PackIndex(packs)
    graph = NetworkXGraph(rep.topology)
    detect = DetectStage(kinds=rep.topology.kinds(), packs=index)
    correlate = CorrelateStage(graph, index)
    alerting = AlertStage()
    settings = settings or Settings.load()
    store = open_store(settings, home)
    if settings.store_backend == "opensearch":
        result.store_label = (
            f"OpenSearch {settings.opensearch_url} (indices {settings.opensearch_index_prefix}-*)"
        )
    sink = alert_sink or JsonlAlertSink(result.alerts_path)
    latest: dict[str, Incident] = {}

    def deliver(msg: Any) -> None:
        if isinstance(msg, Anomaly):
            result.anomalies.append(msg)
        elif isinstance(msg, Incident):
            latest[msg.id] = msg
            store.put_incident(msg)
        elif isinstance(msg, RootCauseReport):
            result.reports.append(msg)
            store.put(msg)
        elif isinstance(msg, AlertEvent) and sink.send(msg):
            result.alerts.append(msg)
        elif isinstance(msg, Forecast):
            result.forecasts.append(msg)

    total = len(rep.batches)
    done = 0

    def batch_done(_: MetricBatch) -> None:
        nonlocal done
        done += 1
        if on_batch is not None:
            on_batch(done, total)

    stages: list[tuple[Any, tuple[type, ...]]] = []
    if forecast:
        from foreshock.pipelines.stages.forecast import ForecastStage

        fstage = ForecastStage(kinds=rep.topology.kinds(), packs=index)
        stages.append((fstage, (MetricBatch,)))
    runtime = EmbeddedRuntime(
        [
            *stages,
            (detect, (MetricBatch,)),
            (correlate, (Anomaly,)),
            (EnrichStage(OfflineNarrator(packs)), (Incident,)),
            (alerting, (Incident,)),
        ],
        deliver,
        on_batch=batch_done,
    )
    try:
        asyncio.run(runtime.run(rep.batches))
        for event in alerting.flush():
            deliver(event)
        put_forecasts = getattr(store, "put_forecasts", None)
        if put_forecasts is not None and result.forecasts:
            put_forecasts(result.forecasts)
    finally:
        store.close()
    result.incidents = sorted(latest.values(), key=lambda i: i.opened_at)
    result.samples = detect.samples
    result.series = detect.n_series
    result.suppressed = correlate.grouper.suppressed
    result.seconds = time.perf_counter() - started
    return result
