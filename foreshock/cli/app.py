"""The ``foreshock`` command line.

Every command has ``--help`` with examples. Exit codes: 0 success, 1 a foreshock error
(bad input, unknown name: the message says what to fix), 2 a usage error.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from foreshock.cli.eval import eval_app
from foreshock.cli.graph import graph_app
from foreshock.cli.logs import logs_app
from foreshock.cli.reports import reports_app
from foreshock.pipelines.settings import default_home
from foreshock.schemas.errors import ConfigError, ForeshockError

app = typer.Typer(
    name="foreshock",
    help=(
        "foreshock: online anomaly detection, graph root cause, reports and pages for "
        "middleware fleets (MySQL/MariaDB, Redis, Kafka, PostgreSQL, OpenSearch).\n\n"
        "Start with:  foreshock demo   (a simulated fleet, one fault, the whole pipeline)"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
schemas_app = typer.Typer(help="Typed records of every stage boundary.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks (speed and memory are measured here, not in tests).", no_args_is_help=True
)
app.add_typer(schemas_app, name="schemas")
app.add_typer(bench_app, name="bench")
app.add_typer(reports_app, name="reports")
app.add_typer(eval_app, name="eval")
app.add_typer(graph_app, name="graph")
app.add_typer(logs_app, name="logs")

console = Console()
err = Console(stderr=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="State folder (reports.sqlite, alerts.jsonl, dead_letters.jsonl). "
        "Default: $FORESHOCK_HOME or ./.foreshock",
    ),
]


def _json(obj: object) -> None:
    sys.stdout.write(
        orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode()
    )
    sys.stdout.write("\n")


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )


def _run(replay: Path, home: Path, as_json: bool) -> None:
    from foreshock.cli.render import render_result
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.pipelines.sources.replay import read_replay

    rep = read_replay(replay)
    sink = None
    if not as_json:  # pages go to the JSONL file and, as they happen, to the console
        from foreshock.pipelines.sinks.alerts import (
            ConsoleAlertSink,
            FanoutAlertSink,
            JsonlAlertSink,
        )

        sink = FanoutAlertSink(JsonlAlertSink(home / "alerts.jsonl"), ConsoleAlertSink(console))
    with _progress(not as_json and err.is_terminal) as progress:
        task = progress.add_task("replaying", total=len(rep.batches))
        result = run_replay(
            replay,
            home,
            on_batch=lambda d, t: progress.update(task, completed=d),
            replay=rep,
            alert_sink=sink,
        )
    if as_json:
        _json(result.to_json())
        return
    latest = {}
    for r in result.reports:
        latest[r.incident_id] = r
    render_result(console, result, latest)


@app.command()
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
    base = home or default_home() / "demo"
    out = base / f"{fault}-seed{seed}"
    if out.exists():
        shutil.rmtree(out)
    with _progress(not as_json and err.is_terminal) as progress:
        task = progress.add_task(f"simulating {hours:g} h of the fleet", total=None)
        sim = simulate(fault, seed=seed, hours=hours)
        replay = sim.write(out / "replay")
        progress.update(task, completed=1, total=1)
    if not as_json:
        console.print(
            f"simulated fleet: {len(sim.topology.nodes)} resources, {len(sim.series)} series, "
            f"{sim.rows():,} samples, fault [b]{fault}[/b] → replay in [cyan]{replay}[/cyan]"
        )
    _run(replay, out, as_json)


@app.command()
def simulate(
    fault: Annotated[str, typer.Option(help="Fault name, or 'none' for a quiet run.")],
    out: Annotated[Path, typer.Option(help="Replay folder to write.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    hours: Annotated[float, typer.Option(help="Hours of simulated time.")] = 6.0,
) -> None:
    """Write a replay folder (metrics.csv, topology.yaml, truth.json) of the simulated fleet.

    Example:  foreshock simulate --fault mysql_lock_contention --seed 4 --hours 6 --out /tmp/r4
    """
    from foreshock.sim.simulator import simulate as sim

    s = sim(fault, seed=seed, hours=hours)
    s.write(out)
    console.print(f"wrote {out} ({s.rows():,} samples of {len(s.series)} series, fault {fault})")


@app.command()
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
            help="Log file to tail, PATH=RESOURCE[:FORMAT] (repeatable; --prometheus).",
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")] = False,
    home: HomeOpt = None,
) -> None:
    """Run the embedded pipeline over a replay folder, or live on a Prometheus server.

    Examples:  foreshock run --replay /tmp/r4 --json  ·
    foreshock run --prometheus http://127.0.0.1:9090 --topology infra/lab/topology.yaml
    --logs /tmp/foreshock-lab/logs/redis.log=redis:redis --duration 15m
    """
    if (replay is None) == (prometheus is None):
        err.print("[red]give exactly one of --replay DIR or --prometheus URL[/red]")
        raise typer.Exit(2)
    if prometheus is not None:
        from foreshock.cli.live import run_prometheus

        run_prometheus(
            prometheus,
            home or default_home(),
            console,
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
    _run(replay, home or default_home(), as_json)


@app.command()
def score(
    input: Annotated[Path, typer.Option("--input", help="CSV with timestamp,value columns.")],
    output: Annotated[
        Path, typer.Option("--output", help="CSV to write (input columns + anomaly_score).")
    ],
    detector: Annotated[str, typer.Option(help="Detector name (fleet, hst, ...).")] = "fleet",
) -> None:
    """Replay one series through a detector; write anomaly_score in [0, 1] for every row.

    Example:  foreshock score --input cpu.csv --output scored.csv --detector fleet
    """
    from foreshock.pipelines.runtimes.score import score_csv

    n = score_csv(input, output, detector)
    console.print(f"scored {n} rows with {detector} → {output}")


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write into.")],
) -> None:
    """Write <Record>.schema.json (JSON Schema) for every record type."""
    from foreshock.schemas.export import export_schemas

    for p in export_schemas(directory):
        console.print(str(p))


@bench_app.command("detect")
def bench_detect(
    series: Annotated[int, typer.Option(help="Series in the fleet stream.")] = 10_000,
    samples: Annotated[int, typer.Option(help="Scrapes of every series.")] = 1_000,
    river_series: Annotated[int, typer.Option(help="Series River HST runs on (a subset).")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fleet tier vs River HalfSpaceTrees (default settings) on the same stream, per core."""
    from foreshock.bench.detect import run_detect_bench

    res = run_detect_bench(series=series, samples=samples, river_series=river_series)
    if as_json:
        _json(res)
        return
    from rich.table import Table

    t = Table(title=f"bench detect: {series} series × {samples} scrapes")
    for c in ("detector", "series", "samples/s per core", "bytes per series"):
        t.add_column(c)
    for name in ("fleet", "river_hst"):
        r = res[name]
        t.add_row(
            name, str(r["series"]), f"{r['samples_per_s']:,.0f}", f"{r['bytes_per_series']:,.0f}"
        )
    console.print(t)
    console.print(f"ratio fleet / river_hst: [b]{res['ratio']:.0f}×[/b]")


@app.command()
def forecast(
    replay: Annotated[
        Path, typer.Option(help="Replay folder to forecast from (its end is 'now').")
    ],
    resource: Annotated[str | None, typer.Option(help="Only this resource.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Only this metric (base name or full).")
    ] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead: 7d, 36h, 90m.")] = "7d",
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of the first series here.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Capacity forecasts with 80/95% intervals and time-to-exhaustion, soonest first.

    Example:  foreshock forecast --replay /tmp/r --horizon 7d --plot runway.png
    """
    from foreshock.capacity.replay import forecast_replay, parse_duration

    rows = forecast_replay(replay, parse_duration(horizon), resource, metric)
    if as_json:
        _json({"forecasts": [r.forecast.model_dump() for r in rows]})
    else:
        from rich.table import Table

        from foreshock.enrichers.narrator import clock

        t = Table(title=f"capacity forecasts ({horizon} horizon), soonest exhaustion first")
        for c in (
            "resource",
            "metric",
            "model",
            "backtest MASE",
            "exhausts (p50)",
            "80% interval",
            "at",
        ):
            t.add_column(c, overflow="fold")
        for r in rows:
            f = r.forecast
            if f.exhaustion_p50 is None:
                when, iv, at = "not within horizon", "—", "—"
            else:
                when = _human(f.exhaustion_p50 - f.made_at)
                lo = _human((f.exhaustion_p10 or f.exhaustion_p50) - f.made_at)
                hi = _human(f.exhaustion_p90 - f.made_at) if f.exhaustion_p90 else "beyond"
                iv, at = f"{lo} – {hi}", clock(f.exhaustion_p50)
            t.add_row(
                f.resource,
                f.metric,
                f.model,
                f"{f.backtest_error:.2f}" if f.backtest_error is not None else "—",
                when,
                iv,
                at,
            )
        console.print(t)
        if rows:
            try:
                from foreshock.capacity.plot import terminal_chart

                first = rows[0]
                console.print(f"{first.forecast.resource} {first.forecast.metric}:")
                console.print(
                    terminal_chart(first.history_y, first.forecast, unit=first.unit), markup=False
                )
            except ImportError:  # pragma: no cover - plotting optional
                pass
    if plot is not None and rows:
        from foreshock.capacity.plot import plot_forecast

        first = rows[0]
        plot_forecast(first.history_t, first.history_y, first.forecast, plot, unit=first.unit)
        if not as_json:
            console.print(f"plot: [cyan]{plot}[/cyan]")


def _human(seconds: float) -> str:
    """3.2 d / 5.5 h / 40 min."""
    if seconds >= 86400 * 1.5:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{max(seconds, 0) / 60:.0f} min"


config_app = typer.Typer(
    help="Settings (env FORESHOCK_* and foreshock.toml).", no_args_is_help=True
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective settings (secrets masked) and where they come from."""
    from foreshock.pipelines.settings import Settings

    s = Settings.load().masked()
    if as_json:
        _json(s)
        return
    from rich.table import Table

    t = Table(title="foreshock settings (defaults < foreshock.toml < FORESHOCK_* env)")
    t.add_column("setting")
    t.add_column("value")
    t.add_column("env var")
    for k, v in s.items():
        t.add_row(k, str(v), f"FORESHOCK_{k.upper()}")
    console.print(t)


@app.command()
def worker(
    topology: Annotated[Path, typer.Option(help="topology.yaml of the fleet (replay contract).")],
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
    home: HomeOpt = None,
) -> None:
    """Start a distributed worker: Faust agents for detect, correlate, store and page.

    Start as many as you like: they share the topics' partitions (Kafka rebalances).
    Example:  FORESHOCK_STORE_BACKEND=opensearch foreshock worker --topology fleet.yaml
    """
    import yaml
    from pydantic import ValidationError

    from foreshock.pipelines.runtimes.distributed.app import run_worker
    from foreshock.pipelines.settings import Settings
    from foreshock.schemas.topology import Topology

    if topology.is_dir():
        topology = topology / "topology.yaml"
    if not topology.is_file():
        raise ConfigError(f"no topology file at {topology}")
    try:
        topo = Topology.model_validate(yaml.safe_load(topology.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{topology}: invalid topology: {exc}") from None
    run_worker(Settings.load(), topo, home or default_home(), loglevel=loglevel)


@app.command()
def publish(
    replay: Annotated[Path, typer.Option(help="Replay folder to produce to Kafka.")],
    speed: Annotated[
        float, typer.Option(help="Event-time speed-up (60 = a minute per second; 0 = flat out).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Produce a replay folder to the metrics topic (split by resource over partitions).

    Example:  foreshock publish --replay /tmp/r4 --speed 0
    """
    from foreshock.pipelines.runtimes.distributed.publish import publish_replay
    from foreshock.pipelines.settings import Settings

    with _progress(not as_json and err.is_terminal) as progress:
        task = progress.add_task("publishing", total=None)
        res = publish_replay(
            replay,
            Settings.load(),
            speed=speed,
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )
    if as_json:
        _json(res.__dict__)
        return
    console.print(
        f"published run {res.run}: {res.batches} scrapes, {res.samples:,} samples in "
        f"{res.messages} messages, {res.seconds:.1f} s ({res.dead_letters} rows dead-lettered)"
    )


@bench_app.command("forecast")
def bench_forecast(
    series: Annotated[int, typer.Option(help="Synthetic capacity series.")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Refit CPU time per series per model, forecasts/hour per core, 10,000-series budget."""
    from foreshock.bench.forecast import run_forecast_bench

    res = run_forecast_bench(series=series)
    _json(res) if as_json else console.print_json(data=res)


@bench_app.command("kafka")
def bench_kafka(
    workers: Annotated[int, typer.Option(help="foreshock worker processes.")] = 1,
    hours: Annotated[
        float, typer.Option(help="Simulated hours to publish (82 series, 15 s).")
    ] = 6.0,
    partitions: Annotated[int, typer.Option(help="Partitions per topic.")] = 4,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """End-to-end samples/s of the Kafka path (real workers), and the embedded figure.

    Needs Kafka (make services-up). Example:  foreshock bench kafka --workers 2
    """
    from foreshock.bench.kafka import run_kafka_bench

    res = run_kafka_bench(workers=workers, hours=hours, partitions=partitions)
    if as_json:
        _json(res)
        return
    k, e = res["kafka"], res["embedded"]
    console.print(
        f"kafka path: {k['samples']:,} samples through {k['workers']} worker(s) on "
        f"{k['partitions']} partitions in {k['seconds']} s = [b]{k['samples_per_s']:,.0f}[/b] "
        f"samples/s ({k['samples_per_s_per_worker']:,.0f} per worker)\n"
        f"embedded:   {e['samples']:,} samples in {e['seconds']} s = "
        f"[b]{e['samples_per_s']:,.0f}[/b] samples/s"
    )


def main() -> None:
    """Console-script entry point: foreshock errors become one clear line and exit code 1."""
    try:
        app()
    except ForeshockError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
