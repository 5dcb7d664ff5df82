"""The live runtime: Prometheus (and log files) → incidents, as they happen.

:func:`run_live` discovers the topology from Prometheus (merged with the user's YAML),
backfills, then polls; log records, when log files are given, are released into the
stream in event-time order behind the metric batches (the metric source lags real time
by a few seconds, so both are judged on one clock). The chain is the one
:mod:`foreshock.pipelines.assembly` builds from the settings, on the graph backend the
settings choose; reports and incidents go to the store the settings choose, pages to the
alert sink, and every record to ``on_event``.

It runs until ``stop()`` is true, ``duration`` seconds of wall time have passed, or the
process is interrupted. ``duration`` is a real deadline, counted from the call: the source
looks at it at least every 0.1 s, also while a request to Prometheus is in flight (which is
then cut), so :func:`run_live` returns within about a second after it, whatever Prometheus
does (a dripping or silent server included); each request is bounded by
``prometheus_timeout`` anyway. Prometheus errors while polling are logged and retried;
``source.errors`` counts them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

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
from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.pipelines.sources.prom_http import PrometheusCancelled
from foreshock.pipelines.sources.prometheus import PrometheusSource
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.topology import Topology

__all__ = ["LiveResult", "LogPoller", "Pollers", "run_live"]


class LogPoller(Protocol):
    """Anything that returns the log records that arrived since the last call."""

    def poll(self) -> list[LogRecord]: ...


class Pollers:
    """Several log pollers as one (log files and a Kafka logs topic, say)."""

    def __init__(self, *pollers: LogPoller) -> None:
        self.pollers = pollers

    def poll(self) -> list[LogRecord]:
        return [r for p in self.pollers for r in p.poll()]


@dataclass
class LiveResult:
    """What a live run produced."""

    home: Path
    topology: Topology
    batches: int = 0
    samples: int = 0
    log_records: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)
    reports: list[RootCauseReport] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    forecasts: list[Forecast] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None


async def _window(
    source: PrometheusSource, start: float, end: float, stop: Callable[[], bool]
) -> AsyncIterator[Any]:
    try:
        batches = await source.cut_at_stop(partial(source.fetch, start, end), stop)
    except PrometheusCancelled:
        return
    for batch in batches:
        yield batch


async def _merged(
    source: PrometheusSource,
    logs: LogPoller | None,
    stop: Callable[[], bool],
    window: tuple[float, float] | None = None,
) -> AsyncIterator[Any]:
    pending: list[LogRecord] = []
    batches = _window(source, *window, stop) if window else source.stream(stop)
    async for batch in batches:
        if logs is not None:
            pending += logs.poll()
            pending.sort(key=lambda r: r.timestamp)
            ready = [r for r in pending if r.timestamp <= batch.timestamp]
            pending = pending[len(ready) :]
            for rec in ready:
                yield rec
        yield batch


def run_live(
    source: PrometheusSource,
    home: Path,
    settings: Settings | None = None,
    logs: LogPoller | None = None,
    stop: Callable[[], bool] | None = None,
    duration: float | None = None,
    on_event: Callable[[Any], None] | None = None,
    alert_sink: AlertSink | None = None,
    window: tuple[float, float] | None = None,
) -> LiveResult:
    """Run the pipeline on a live Prometheus source until stopped; see the module doc.

    With ``window=(start, end)`` (epoch seconds) it reads that stretch of Prometheus'
    history instead, once, and returns: the same stages judging the past.
    """
    settings = settings or Settings.load()
    lock = HomeLock(home).acquire()  # one writer per state folder, for the whole run
    try:
        return _run_live(source, home, settings, logs, stop, duration, on_event, alert_sink, window)
    finally:
        lock.release()


def _run_live(
    source: PrometheusSource,
    home: Path,
    settings: Settings,
    logs: LogPoller | None,
    stop: Callable[[], bool] | None,
    duration: float | None,
    on_event: Callable[[Any], None] | None,
    alert_sink: AlertSink | None,
    window: tuple[float, float] | None,
) -> LiveResult:
    deadline = None if duration is None else time.monotonic() + duration

    def should_stop() -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            return True
        return bool(stop and stop())

    disc = source.discovery
    if disc is None:
        try:
            disc = asyncio.run(source.cut_at_stop(source.discover, should_stop))
        except PrometheusCancelled:  # stopped before Prometheus said what there is
            return LiveResult(home=home, topology=Topology())
    topology = disc.topology
    result = LiveResult(home=home, topology=topology)
    packs = load_settings_packs(settings)

    opened = open_graph(settings, topology)
    outputs = Outputs(
        open_store(settings, home),
        open_pager(settings, home, alert_sink or JsonlAlertSink(home / "alerts.jsonl")),
        history=opened.history,
        on_event=on_event,
        enricher=open_enricher(settings, home, topology),
        silencer=open_silencer(home, topology),
        inhibitor=Inhibitor(topology),
    )
    asm = assemble(settings, topology, opened.graph, packs)

    def counted(item: Any) -> None:
        if isinstance(item, LogRecord):
            result.log_records += 1
            return
        result.batches += 1
        result.samples += len(item)
        result.first_ts = item.timestamp if result.first_ts is None else result.first_ts
        result.last_ts = item.timestamp
        outputs.flush()  # forecasts are visible as soon as they are made

    try:
        asyncio.run(
            asm.chain.arun(_merged(source, logs, should_stop, window), outputs.deliver, counted)
        )
        for event in asm.correlation.finish():
            outputs.deliver(event)
    except KeyboardInterrupt:
        pass
    finally:
        outputs.close()
        opened.close()
        result.anomalies, result.reports = outputs.anomalies, outputs.reports
        result.alerts, result.forecasts = outputs.alerts, outputs.forecasts
        result.incidents = outputs.incidents
    return result
