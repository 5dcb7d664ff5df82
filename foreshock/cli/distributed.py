"""``foreshock worker | publish``: the distributed runtime (Faust agents on Kafka)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import (
    DetectorOpt,
    HomeOpt,
    PacksOpt,
    console,
    err,
    plain,
    print_json,
    progress,
    settings_for,
)
from foreshock.pipelines.settings import default_home

__all__ = ["publish", "worker"]


def worker(
    topology: Annotated[
        Path, typer.Option(help="topology.yaml of the fleet, or a replay folder holding one.")
    ],
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
    detector: DetectorOpt = None,
    packs: PacksOpt = None,
    home: HomeOpt = None,
) -> None:
    """Start a distributed worker: Faust agents for detect, correlate, store and page.

    Start as many as you like: they share the topics' partitions (Kafka rebalances).
    Example:  FORESHOCK_STORE_BACKEND=opensearch foreshock worker --topology fleet.yaml
    """
    from foreshock.pipelines.runtimes.distributed.app import run_worker
    from foreshock.pipelines.sources.replay import read_topology

    settings = settings_for(detector=detector, packs=packs)
    topo = read_topology(topology)
    run_worker(settings, topo, home or default_home(), loglevel=loglevel)


def publish(
    replay: Annotated[Path, typer.Option(help="Replay folder to produce to Kafka.")],
    speed: Annotated[
        float, typer.Option(help="Event-time speed-up (60 = a minute per second; 0 = flat out).")
    ] = 0.0,
    logs: Annotated[
        list[str] | None,
        typer.Option(
            "--logs",
            help="Server log file PATH=RESOURCE[:FORMAT] to publish with the scrapes (repeatable).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Produce a replay folder to the metrics topic (split by resource over partitions).

    Example:  foreshock publish --replay /tmp/r4 --speed 0
    """
    from foreshock.pipelines.runtimes.distributed.publish import publish_replay

    with progress(not as_json and err.is_terminal) as bar:
        task = bar.add_task("publishing", total=None)
        res = publish_replay(
            replay,
            settings_for(),
            speed=speed,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
            logs=logs or (),
        )
    if as_json:
        print_json(res.__dict__)
        return
    console.print(
        f"published run {plain(res.run)}: {res.batches} scrapes, {res.samples:,} samples in "
        f"{res.messages} messages, {res.seconds:.1f} s ({res.dead_letters} rows dead-lettered"
        f", {res.log_records} log records)"
    )
