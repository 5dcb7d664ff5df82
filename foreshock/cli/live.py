"""``foreshock run --prometheus URL``: the pipeline on a live Prometheus (and log files).

Every request to Prometheus is bounded by the settings ``prometheus_timeout`` (seconds, all
included) and ``prometheus_max_bytes``; ``https://`` servers are verified
(``prometheus_verify_certs``) against the system's CAs or ``prometheus_ca_file``. Errors
are one line, with any password in the URL masked; ``--duration`` is a real deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console

from foreshock.cli.common import err, parse_duration, plain
from foreshock.pipelines.settings import Settings
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.topology import Topology

if TYPE_CHECKING:
    from foreshock.pipelines.sources.prometheus import PrometheusSource

__all__ = ["prometheus_source", "run_prometheus"]


def prometheus_source(
    url: str, settings: Settings, user: Topology | None = None, **options: Any
) -> PrometheusSource:
    """A :class:`PrometheusSource` on ``url`` with the settings' limits and TLS checks.

    ``options`` go to the source as they are (``step``, ``backfill``, ...).

    Examples
    --------
    >>> s = Settings.load(env={"FORESHOCK_PROMETHEUS_TIMEOUT": "3"}, config=None)
    >>> src = prometheus_source("http://u:pw@127.0.0.1:9090", s, step=1.0)
    >>> src.shown_url, src.client.timeout, src.client.max_bytes, src.step
    ('http://u:****@127.0.0.1:9090', 3.0, 67108864, 1.0)
    """
    from foreshock.pipelines.assembly import load_settings_packs
    from foreshock.pipelines.sources.prometheus import PrometheusSource

    return PrometheusSource(
        url,
        load_settings_packs(settings),
        user_topology=user,
        timeout=settings.prometheus_timeout,
        max_bytes=settings.prometheus_max_bytes,
        verify_certs=settings.prometheus_verify_certs,
        ca_file=settings.prometheus_ca_file or None,
        **options,
    )


def run_prometheus(
    url: str,
    home: Path,
    console: Console,
    settings: Settings,
    topology: Path | None = None,
    logs: list[str] | None = None,
    logs_topic: bool = False,
    duration: str | None = None,
    backfill: str = "30m",
    step: str = "5s",
    as_json: bool = False,
) -> None:
    """Discover, backfill, poll; print incidents as they open and a summary at the end."""
    from foreshock.pipelines.runtimes.live import run_live
    from foreshock.pipelines.sources.replay import read_topology

    limit = parse_duration(duration) if duration else None  # bad input fails before any I/O
    user = read_topology(topology) if topology else None
    source = prometheus_source(
        url, settings, user, step=parse_duration(step), backfill=parse_duration(backfill)
    )
    shown = source.shown_url
    disc = source.discover()  # a failure is one line: PrometheusError
    if not disc.targets:
        raise ConfigError(
            f"Prometheus at {shown} has no series any pack knows (redis_*, mysql_*, pg_*, "
            "node_*, ...): is an exporter scraped?"
        )
    from foreshock.pipelines.runtimes.live import LogPoller, Pollers

    pollers: list[LogPoller] = []
    if logs:
        from foreshock.pipelines.sources.logs.tail import LogFiles

        pollers.append(LogFiles(logs))
    if logs_topic:
        from foreshock.pipelines.kafka.connection import KafkaConnection
        from foreshock.pipelines.sinks.dead_letters import JsonlDeadLetterSink
        from foreshock.pipelines.sources.logs.kafka_source import KafkaLogSource

        pollers.append(
            KafkaLogSource(
                KafkaConnection.from_settings(settings),
                prefix=settings.kafka_topic_prefix,
                dead_letters=JsonlDeadLetterSink(home / "dead_letters.jsonl"),
            )
        )
    poller = Pollers(*pollers) if pollers else None
    if not as_json:
        kinds = disc.topology.kinds()
        console.print(
            f"Prometheus {plain(shown)}: {len(disc.targets)} targets → "
            + ", ".join(f"{plain(r)} ({plain(k)})" for r, k in sorted(kinds.items()))
        )
        console.print(
            f"backfilling {backfill}, then polling every {step}"
            + (f" for {duration}" if duration else " (Ctrl-C stops)")
        )

    def show(msg: Any) -> None:
        if as_json:
            return
        from foreshock.schemas.incident import Incident

        if isinstance(msg, Incident) and msg.version == 1:
            top = msg.candidates[0] if msg.candidates else None
            what = f"{top.resource} ({top.failure_mode or 'unknown mode'})" if top else "?"
            console.print(
                f"[b]incident[/b] {plain(msg.id)}: root cause {plain(what)}; resources "
                f"{plain(', '.join(msg.resources))}"
            )

    result = run_live(
        source,
        home,
        settings,
        logs=poller,
        duration=limit,
        on_event=show,
    )
    incidents = list(result.incidents.values())
    if as_json:
        body = {
            "topology": result.topology.model_dump(by_alias=True),
            "batches": result.batches,
            "samples": result.samples,
            "log_records": result.log_records,
            "anomalies": len(result.anomalies),
            "incidents": [i.model_dump(mode="json") for i in incidents],
            "alerts": len(result.alerts),
            "prometheus_errors": source.errors,
        }
        print(orjson.dumps(body).decode())
        return
    console.print(
        f"{result.batches} scrapes, {result.samples:,} samples, {result.log_records} log "
        f"lines → {len(result.anomalies)} anomalies, {len(incidents)} incidents, "
        f"{len(result.alerts)} pages; reports in {plain(home)}"
    )
    if source.errors:
        err.print(
            f"[yellow]{source.errors} polls of Prometheus failed[/yellow] (last: "
            f"{plain(source.last_error)})",
            soft_wrap=True,
            highlight=False,
        )
