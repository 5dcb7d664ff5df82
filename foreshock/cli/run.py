"""``foreshock demo | simulate | run | score``: the pipeline over replays, live, or one series."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import (
    DetectorOpt,
    HomeOpt,
    PacksOpt,
    console,
    detector_params,
    err,
    plain,
    print_json,
    progress,
    settings_for,
)
from foreshock.pipelines.settings import Settings, default_home
from foreshock.schemas.errors import UnknownNameError

__all__ = ["demo", "run", "score", "simulate"]


def _run(
    replay: Path,
    home: Path,
    as_json: bool,
    settings: Settings,
    logs: list[str] | None = None,
) -> None:
    from foreshock.cli.render import render_result
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.pipelines.sinks.alerts import ConsoleAlertSink, FanoutAlertSink, JsonlAlertSink
    from foreshock.pipelines.sources.replay import read_replay

    rep = read_replay(replay)
    sink = None
    if not as_json:  # pages go to the JSONL file and, as they happen, to the console
        sink = FanoutAlertSink(JsonlAlertSink(home / "alerts.jsonl"), ConsoleAlertSink(console))
    with progress(not as_json and err.is_terminal) as bar:
        task = bar.add_task("replaying", total=len(rep.batches))
        result = run_replay(
            replay,
            home,
            on_batch=lambda d, t: bar.update(task, completed=d),
            replay=rep,
            alert_sink=sink,
            settings=settings,
            logs=logs or (),
        )
    if as_json:
        print_json(result.to_json())
        return
    latest = {r.incident_id: r for r in result.reports}
    render_result(console, result, latest)


def demo(
    fault: Annotated[
        str, typer.Option(help="Fault to inject (see --list-faults).")
    ] = "redis_memory_exhaustion",
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 1,
    hours: Annotated[float, typer.Option(help="Hours of simulated time.")] = 4.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
    list_faults: Annotated[
        bool, typer.Option("--list-faults", help="Print fault names and exit.")
    ] = False,
    detector: DetectorOpt = None,
    home: HomeOpt = None,
) -> None:
    """Simulate a fleet with one fault, run the whole pipeline, show incident, causes and report.

    Examples:  foreshock demo  ·  foreshock demo --fault host_cpu_saturation --seed 3  ·
    foreshock demo --list-faults
    """
    from foreshock.sim.simulator import fault_names, simulate

    if list_faults:
        for name in fault_names():
            print(name)
        return
    if fault not in fault_names():  # before anything touches the file system
        raise UnknownNameError(f"unknown fault {fault!r}; known: {', '.join(fault_names())}")
    settings = settings_for(detector=detector)
    base = home or default_home() / "demo"
    out = base / f"{fault}-seed{seed}"
    if out.exists():
        shutil.rmtree(out)
    with progress(not as_json and err.is_terminal) as bar:
        task = bar.add_task(f"simulating {hours:g} h of the fleet", total=None)
        sim = simulate(fault, seed=seed, hours=hours)
        replay = sim.write(out / "replay")
        bar.update(task, completed=1, total=1)
    if not as_json:
        console.print(
            f"simulated fleet: {len(sim.topology.nodes)} resources, {len(sim.series)} series, "
            f"{sim.rows():,} samples, fault [b]{plain(fault)}[/b] → replay in "
            f"[cyan]{plain(replay)}[/cyan]"
        )
    _run(replay, out, as_json, settings)


def simulate(
    fault: Annotated[str, typer.Option(help="Fault name, or 'none' for a quiet run.")],
    out: Annotated[Path, typer.Option(help="Replay folder to write.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    hours: Annotated[float, typer.Option(help="Hours of simulated time.")] = 6.0,
    topology: Annotated[
        Path | None,
        typer.Option(help="topology.yaml to simulate instead of the built-in fleet."),
    ] = None,
    propagate: Annotated[
        bool,
        typer.Option(
            "--propagate",
            help="Services that depend on the fault's resources slow down and fail too.",
        ),
    ] = False,
) -> None:
    """Write a replay folder (metrics.csv, topology.yaml, truth.json) of the simulated fleet.

    Faults are defined on the built-in fleet's resources; a --topology must hold them. With
    --propagate every service that depends on a failing resource (directly or through
    other services) slows down and fails requests too, one hop later each.

    Example:  foreshock simulate --fault mysql_lock_contention --seed 4 --hours 6 --out /tmp/r4
    Alert storm:  foreshock simulate --fault redis_down --topology tests/data/storm-topology.yaml
    --propagate --out /tmp/storm
    """
    from foreshock.sim.simulator import load_topology
    from foreshock.sim.simulator import simulate as sim

    topo = load_topology(topology) if topology is not None else None
    s = sim(fault, seed=seed, hours=hours, topology=topo, propagate=propagate)
    s.write(out)
    console.print(
        f"wrote {plain(out)} ({s.rows():,} samples of {len(s.series)} series, fault {plain(fault)})"
    )


def run(
    replay: Annotated[
        Path | None,
        typer.Option(help="Replay folder: metrics.csv [+ topology.yaml, truth.json]."),
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(help="Prometheus URL to read live metrics from (instead of --replay)."),
    ] = None,
    topology: Annotated[
        Path | None,
        typer.Option(help="Topology YAML merged with what Prometheus shows (--prometheus)."),
    ] = None,
    logs: Annotated[
        list[str] | None,
        typer.Option(
            "--logs",
            help="Server log file, PATH=RESOURCE[:FORMAT] (repeatable): tailed live with "
            "--prometheus, read whole and merged by time with --replay.",
        ),
    ] = None,
    logs_topic: Annotated[
        bool,
        typer.Option(
            "--logs-topic",
            help="Also read log lines from the Kafka topic <prefix>.logs (--prometheus).",
        ),
    ] = False,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long, e.g. 15m (--prometheus).")
    ] = None,
    backfill: Annotated[
        str, typer.Option(help="History read on start, for baselines (--prometheus).")
    ] = "30m",
    step: Annotated[str, typer.Option(help="Seconds between points (--prometheus).")] = "5s",
    detector: DetectorOpt = None,
    packs: PacksOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
    home: HomeOpt = None,
) -> None:
    """Run the pipeline over a replay folder, or live on a Prometheus server.

    Examples:  foreshock run --replay /tmp/r4 --json  ·
    foreshock run --replay /tmp/r4 --detector hst  ·
    foreshock run --prometheus http://127.0.0.1:9090 --topology infra/lab/topology.yaml
    --logs /tmp/foreshock-lab/logs/redis.log=redis:redis --duration 15m
    """
    if (replay is None) == (prometheus is None):
        err.print("[red]give exactly one of --replay DIR or --prometheus URL[/red]")
        raise typer.Exit(2)
    settings = settings_for(detector=detector, packs=packs)
    if prometheus is not None:
        from foreshock.cli.live import run_prometheus

        run_prometheus(
            prometheus,
            home or default_home(),
            console,
            settings,
            topology=topology,
            logs=logs,
            logs_topic=logs_topic,
            duration=duration,
            backfill=backfill,
            step=step,
            as_json=as_json,
        )
        return
    assert replay is not None
    _run(replay, home or default_home(), as_json, settings, logs)


def score(
    input: Annotated[Path, typer.Option("--input", help="CSV with timestamp,value columns.")],
    output: Annotated[
        Path, typer.Option("--output", help="CSV to write (input columns + anomaly_score).")
    ],
    detector: Annotated[str, typer.Option(help="Detector: fleet, deep, hst, loda.")] = "fleet",
    param: Annotated[
        list[str] | None, typer.Option(help="Detector hyperparameter NAME=VALUE (repeatable).")
    ] = None,
) -> None:
    """Replay one series through a detector; write anomaly_score in [0, 1] for every row.

    Each row is scored before it is learned, as a live stream would see it. The fleet
    detector scores a row when its value breaks out of everything the series has shown (a
    new high or low, by its robust z-score) and 0 otherwise, so a spike like earlier ones,
    or every row of a fault that holds, is not news; `--param novelty=false` scores every
    row by its z-score instead.

    Example:  foreshock score --input cpu.csv --output scored.csv --detector fleet
    """
    from foreshock.detectors.registry import create
    from foreshock.pipelines.runtimes.score import score_csv
    from foreshock.schemas.errors import ConfigError

    params = detector_params(param)
    try:
        create(detector, **params)  # a bad name or value fails here, before any row is read
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"detector {detector!r} does not take {params}: {exc}") from exc
    n = score_csv(input, output, detector, **params)
    console.print(f"scored {n} rows with {plain(detector)} → {plain(output)}")
