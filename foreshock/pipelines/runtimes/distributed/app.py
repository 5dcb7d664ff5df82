"""The distributed runtime: the same chain as Faust agents on Kafka topics.

Agents are thin adapters: decode, hand the message with its offset to a partition
driver (:mod:`.drivers`, which runs a half of the chain that
:mod:`foreshock.pipelines.assembly` builds), send what comes back, wait for the broker's
acknowledgements, then store the driver's snapshot (data, never a pickle) on the compacted
state topic ``<prefix>.state``. A worker that dies loses nothing: Kafka redelivers what was
not committed, the driver is rebuilt from its stored snapshot and skips what that already
contains. A stored snapshot that cannot be used (foreign, tampered, another version or
configuration) is refused with a warning, and that partition relearns from the stream.

Agents:

- ``detect``: ``<prefix>.metrics`` (key: resource; metric batches and log records) →
  ``<prefix>.anomalies`` (key: connected component), with event-time ticks broadcast to
  every anomalies partition; the forecast and log stages run here too (capacity series and
  their limits, and a resource's logs, share the resource key); forecasts go to
  ``<prefix>.forecasts``, predicted exhaustions and new log templates as anomalies;
- ``correlate``: ``<prefix>.anomalies`` → ``<prefix>.incidents``, ``<prefix>.reports``,
  ``<prefix>.alerts`` (key: incident id), and a ``done`` marker on ``<prefix>.control`` at
  the end of a replay;
- ``store``: incidents, reports and forecasts → the report store (SQLite or OpenSearch by
  settings; idempotent ids) and, with the Neo4j backend, incident history in the graph;
- ``page``: alerts → the alert sink, each ``(dedup_key, action)`` once (the pager's state is
  on the state topic too).

Malformed messages on any input topic go to ``<prefix>.dead-letters`` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import faust
import orjson

from foreshock.pipelines.assembly import load_settings_packs
from foreshock.pipelines.backends import (
    open_enricher,
    open_graph,
    open_pager,
    open_silencer,
    open_store,
)
from foreshock.pipelines.kafka.connection import KafkaConnection
from foreshock.pipelines.kafka.state_topic import ensure_state_topic, load_latest
from foreshock.pipelines.kafka.topics import TopicNames, ensure_topics
from foreshock.pipelines.kafka.wire import Message, decode, encode
from foreshock.pipelines.partitioning import partition_of
from foreshock.pipelines.runtimes.distributed.drivers import (
    Out,
    PartitionCorrelator,
    PartitionDetector,
    PartitionPager,
    components,
)
from foreshock.pipelines.runtimes.home import HomeLock
from foreshock.pipelines.runtimes.outputs import Outputs
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sinks.alerts import JsonlAlertSink, alert_key
from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.errors import SchemaError, SnapshotError
from foreshock.schemas.topology import Topology

log = logging.getLogger("foreshock.worker")


class _Driver(Protocol):
    offset: int

    def restore(self, blob: bytes) -> None: ...


D = TypeVar("D", bound=_Driver)


def create_app(settings: Settings, topology: Topology, home: Path) -> faust.App:
    """Build the Faust app (agents, topics, tables) for one deployment."""
    names = TopicNames(settings.kafka_topic_prefix)
    n = settings.kafka_partitions
    conn = KafkaConnection.from_settings(settings)
    ensure_topics(conn, names, n)  # Kafka unreachable, or refusing us: one line, before Faust
    home.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.kafka_topic_prefix}-worker",
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=conn.faust_credentials(),  # TLS / SASL as the settings say
        store="memory://",  # no Faust tables: state goes to our compacted state topic
        topic_partitions=n,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        broker_commit_every=200,
        broker_session_timeout=10.0,  # a killed worker's partitions move on within seconds
        broker_heartbeat_interval=2.0,
        stream_wait_empty=False,
        datadir=str(home / "faust-data"),
    )
    t_metrics = app.topic(names.metrics, partitions=n)
    t_anomalies = app.topic(names.anomalies, partitions=n)
    t_incidents = app.topic(names.incidents, partitions=n)
    t_reports = app.topic(names.reports, partitions=n)
    t_alerts = app.topic(names.alerts, partitions=n)
    t_forecasts = app.topic(names.forecasts, partitions=n)
    t_dlq = app.topic(names.dead_letters, partitions=n)
    t_control = app.topic(names.control, partitions=n)
    state_name = f"{settings.kafka_topic_prefix}.state"
    ensure_state_topic(conn, state_name, n)
    t_state = app.topic(state_name, partitions=n)

    def load_state(stage: str, p: int) -> bytes | None:
        return load_latest(conn, state_name, p, f"{stage}:{p}".encode())

    async def save_state(stage: str, p: int, value: bytes) -> None:
        fut = await t_state.send(key=f"{stage}:{p}".encode(), value=value, partition=p)
        await fut

    packs = load_settings_packs(settings)
    kinds = topology.kinds()
    comp = components(topology)
    opened = open_graph(settings, topology)
    graph = opened.graph
    key = settings.state_key.encode()
    detectors: dict[int, PartitionDetector] = {}
    correlators: dict[int, PartitionCorrelator] = {}
    pagers: dict[int, PartitionPager] = {}

    async def dead_letter(event: Any, reason: str) -> None:
        m = event.message
        letter = DeadLetter(
            source=f"{m.topic}:{m.partition}:{m.offset}",
            reason=reason,
            payload=(event.value or b"")[:2000].decode("utf-8", "replace"),
        )
        log.warning("dead letter %s: %s", letter.source, reason)
        await t_dlq.send(key=m.topic.encode(), value=orjson.dumps(letter.model_dump()))

    async def accept(event: Any, kinds: tuple[str, ...], topic: str) -> Message | None:
        """The decoded message if it is one of ``kinds``; else dead-lettered, and None."""
        try:
            msg = decode(event.value)
            if msg.kind not in kinds:
                raise SchemaError(f"unexpected {msg.kind} message on the {topic} topic")
        except SchemaError as exc:
            await dead_letter(event, str(exc))
            return None
        return msg

    async def send_all(sends: Iterable[tuple[Any, bytes, bytes, int | None]]) -> None:
        futures = [
            await topic.send(key=key, value=value, partition=p) for topic, key, value, p in sends
        ]
        for fut in futures:  # acknowledged before the state that implies them is stored
            await fut

    def driver(drivers: dict[int, D], stage: str, p: int, offset: int, new: Callable[[], D]) -> D:
        """The driver of partition ``p``, rebuilt from its stored state when it is new here
        or others worked on the partition since; a stored state that cannot be used is
        refused (never executed) and the partition relearns from the stream."""
        d = drivers.get(p)
        if d is not None and offset == d.offset + 1:
            return d
        d = new()
        stored = load_state(stage, p)
        if stored:
            try:
                d.restore(stored)
            except SnapshotError as exc:
                log.warning("%s partition %d: stored state refused (%s); relearning", stage, p, exc)
                d = new()
        drivers[p] = d
        return d

    def driver_detector(p: int, offset: int) -> PartitionDetector:
        return driver(
            detectors, "detect", p, offset, lambda: PartitionDetector(settings, kinds, packs, key)
        )

    def driver_correlator(p: int, offset: int) -> PartitionCorrelator:
        return driver(
            correlators,
            "correlate",
            p,
            offset,
            lambda: PartitionCorrelator(n, settings, graph, packs, key),
        )

    # Messages are taken in groups: each group's outputs are sent, their acknowledgements
    # awaited once, then each touched partition's state is stored once (with the offset of
    # its last message). A crash inside a group replays the group; drivers skip what their
    # stored state already holds.
    group_max, group_within = 256, 0.2

    def clock_sends(
        ticks: dict[int, tuple[str, list[float]]], p: int
    ) -> list[tuple[Any, bytes, bytes, int | None]]:
        """One tick message per correlate partition carrying every batch time gathered."""
        if p not in ticks:
            return []
        run, tss = ticks.pop(p)
        value = encode("tick", run=run, source=p, timestamp=tss[-1], timestamps=tuple(tss))
        return [(t_anomalies, b"clock", value, cp) for cp in range(n)]

    def detect_group(
        items: list[tuple[int, int, Message]],
    ) -> list[tuple[int, PartitionDetector, Message, list[Out] | None]]:
        """Apply a group of metrics messages (run in a thread: forecasting refits can
        take seconds, and the event loop must keep heartbeating meanwhile)."""
        done = []
        for p, off, msg in items:
            det = driver_detector(p, off)
            done.append((p, det, msg, det.handle(off, msg)))
        return done

    @app.agent(t_metrics)
    async def detect(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(group_max, within=group_within):
            sends: list[tuple[Any, bytes, bytes, int | None]] = []
            touched: dict[int, PartitionDetector] = {}
            ticks: dict[int, tuple[str, list[float]]] = {}
            items: list[tuple[int, int, Message]] = []
            for event in events:
                msg = await accept(event, ("batch", "log", "end"), "metrics")
                if msg is not None:
                    items.append((event.message.partition, event.message.offset, msg))
            for p, det, msg, out in await loop.run_in_executor(None, detect_group, items):
                touched[p] = det
                for kind, rec in out or []:
                    if kind == "anomaly":
                        cp = partition_of(comp.get(rec.resource, rec.resource), n)
                        value = encode("anomaly", rec, msg.run)
                        sends.append((t_anomalies, rec.resource.encode(), value, cp))
                    elif kind == "forecast":
                        key = f"{rec.resource}|{rec.metric}".encode()
                        sends.append((t_forecasts, key, encode("forecast", rec, msg.run), None))
                    elif kind == "tick":  # gathered: one clock message per group
                        ticks.setdefault(p, (msg.run, []))[1].append(float(rec))
                    else:  # end: every correlator needs this partition's clock first
                        sends += clock_sends(ticks, p)
                        value = encode("end", run=msg.run, source=p, timestamp=float(rec))
                        sends += [(t_anomalies, b"clock", value, cp) for cp in range(n)]
            for p in list(ticks):
                sends += clock_sends(ticks, p)
            await send_all(sends)
            for p, det in touched.items():
                await save_state("detect", p, det.snapshot())

    @app.agent(t_anomalies)
    async def correlate(stream: Any) -> None:
        async for events in stream.take_events(group_max, within=group_within):
            sends: list[tuple[Any, bytes, bytes, int | None]] = []
            touched: dict[int, PartitionCorrelator] = {}
            for event in events:
                p, off = event.message.partition, event.message.offset
                msg = await accept(event, ("anomaly", "tick", "end"), "anomalies")
                if msg is None:
                    continue
                cor = driver_correlator(p, off)
                out = cor.handle(off, msg)
                touched[p] = cor
                sends += _correlate_sends(out or [], msg.run, p)
            await send_all(sends)
            for p, cor in touched.items():
                await save_state("correlate", p, cor.snapshot())

    def _correlate_sends(
        out: list[Out], run: str, p: int
    ) -> list[tuple[Any, bytes, bytes, int | None]]:
        sends: list[tuple[Any, bytes, bytes, int | None]] = []
        for kind, rec in out:
            if kind == "incident":
                sends.append((t_incidents, rec.id.encode(), encode("incident", rec, run), None))
            elif kind == "report":
                sends.append(
                    (t_reports, rec.incident_id.encode(), encode("report", rec, run), None)
                )
            elif kind == "alert":
                sends.append((t_alerts, rec.dedup_key.encode(), encode("alert", rec, run), None))
            elif kind == "done":
                sends.append((t_control, b"done", encode("done", run=run, source=p), None))
        return sends

    outputs = Outputs(
        open_store(settings, home),
        open_pager(settings, home, JsonlAlertSink(home / "alerts.jsonl")),
        opened.history,
        enricher=open_enricher(settings, home, topology),
        silencer=open_silencer(home, topology),
        inhibitor=Inhibitor(topology),
    )

    @app.agent(t_incidents)
    async def store_incidents(stream: Any) -> None:
        async for event in stream.events():
            msg = await accept(event, ("incident",), "incidents")
            if msg is not None:
                outputs.incident(msg.record)

    @app.agent(t_reports)
    async def store_reports(stream: Any) -> None:
        async for event in stream.events():
            msg = await accept(event, ("report",), "reports")
            if msg is not None:
                outputs.report(msg.record)

    @app.agent(t_forecasts)
    async def store_forecasts(stream: Any) -> None:
        async for events in stream.take_events(group_max, within=group_within):
            got = [await accept(e, ("forecast",), "forecasts") for e in events]
            outputs.add_forecasts(m.record for m in got if m is not None)
            outputs.flush()

    @app.agent(t_alerts)
    async def page(stream: Any) -> None:
        async for event in stream.events():
            msg = await accept(event, ("alert",), "alerts")
            if msg is None:
                continue
            p, off = event.message.partition, event.message.offset
            pager = driver(pagers, "page", p, off, lambda: PartitionPager(key))
            alert = msg.record
            if not pager.first_time(off, "|".join(alert_key(alert))):  # an update: trigger#n
                continue
            outputs.alert(alert)
            await save_state("page", p, pager.snapshot())

    if outputs.enricher is not None:
        enricher = outputs.enricher

        @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
        async def store_enriched() -> None:  # the LLM's reports, as its thread finishes them
            outputs.enriched(enricher.ready())

    async def close_backends(app: Any, *args: Any, **kwargs: Any) -> None:
        outputs.close()
        opened.close()

    app.on_before_shutdown.connect(cast(Any, close_backends))

    return app


def run_worker(
    settings: Settings, topology: Topology, home: Path, loglevel: str = "warning"
) -> None:
    """Start a worker in this process until it is stopped (Ctrl-C / SIGTERM).

    The worker's state folder (its alert sink, its SQLite store) has one writer: start more
    workers with a ``--home`` each.
    """
    with HomeLock(home):  # held until the worker stops
        app = create_app(settings, topology, home)
        worker = faust.Worker(app, loglevel=loglevel, quiet=True, workdir=str(home))
        worker.execute_from_commandline()
