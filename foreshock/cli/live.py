"""``foreshock run --prometheus URL``: the pipeline on a live Prometheus (and log files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from foreshock.cli.common import parse_duration
from foreshock.pipelines.settings import Settings
from foreshock.schemas.errors import ConfigError

__all__ = ["run_prometheus"]


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
    from foreshock.pipelines.assembly import load_settings_packs
    from foreshock.pipelines.runtimes.live import run_live
    from foreshock.pipelines.sources.prometheus import PrometheusSource
    from foreshock.pipelines.sources.replay import read_topology

    limit = parse_duration(duration) if duration else None  # bad input fails before any I/O
    user = read_topology(topology) if topology else None
    source = PrometheusSource(
        url,
        load_settings_packs(settings),
        user_topology=user,
        step=parse_duration(step),
        backfill=parse_duration(backfill),
    )
    try:
        disc = source.discover()
    except Exception as exc:
        import requests

        why = (
            "nothing answers there (is Prometheus running? `make lab-up` starts one)"
            if isinstance(exc, requests.ConnectionError)
            else str(exc)
        )
        raise ConfigError(f"cannot query Prometheus at {url}: {why}") from None
    if not disc.targets:
        raise ConfigError(
            f"Prometheus at {url} has no series any pack knows (redis_*, mysql_*, pg_*, "
            "node_*, ...): is an exporter scraped?"
        )
    from foreshock.pipelines.runtimes.live import LogPoller, Pollers

    pollers: list[LogPoller] = []
    if logs:
        from foreshock.pipelines.sources.logs.tail import LogFiles

        pollers.append(LogFiles(logs))
    if logs_topic:
        from foreshock.pipelines.sinks.dead_letters import JsonlDeadLetterSink
        from foreshock.pipelines.sources.logs.kafka_source import KafkaLogSource

        pollers.append(
            KafkaLogSource(
                settings.kafka_bootstrap,
                prefix=settings.kafka_topic_prefix,
                dead_letters=JsonlDeadLetterSink(home / "dead_letters.jsonl"),
            )
        )
    poller = Pollers(*pollers) if pollers else None
    if not as_json:
        kinds = disc.topology.kinds()
        console.print(
            f"Prometheus {url}: {len(disc.targets)} targets → "
            + ", ".join(f"{r} ({k})" for r, k in sorted(kinds.items()))
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
                f"[b]incident[/b] {msg.id}: root cause {what}; resources {', '.join(msg.resources)}"
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
        }
        print(orjson.dumps(body).decode())
        return
    console.print(
        f"{result.batches} scrapes, {result.samples:,} samples, {result.log_records} log "
        f"lines → {len(result.anomalies)} anomalies, {len(incidents)} incidents, "
        f"{len(result.alerts)} pages; reports in {home}"
    )
