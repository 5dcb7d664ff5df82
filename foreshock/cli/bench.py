"""``foreshock bench``: speed and memory, measured by commands (never by timed tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import console, err, print_json

bench_app = typer.Typer(
    help="Benchmarks (speed and memory are measured here, not in tests).", no_args_is_help=True
)


@bench_app.command("detect")
def bench_detect(
    series: Annotated[int, typer.Option(help="Series in the fleet stream.")] = 10_000,
    samples: Annotated[int, typer.Option(help="Scrapes of every series.")] = 1_000,
    river_series: Annotated[int, typer.Option(help="Series River HST runs on (a subset).")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fleet tier vs River HalfSpaceTrees (default settings) on the same stream, per core.

    Rows: fleet (the pipeline's detect stage), fleet_novelty (the same with the breakout
    gate `foreshock score` and `eval nab` use), river_hst, and the deep tier (`detector:
    deep`) on River's series."""
    from foreshock.bench.detect import run_detect_bench

    res = run_detect_bench(series=series, samples=samples, river_series=river_series)
    if as_json:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"bench detect: {series} series × {samples} scrapes")
    for c in ("detector", "series", "samples/s per core", "bytes per series"):
        t.add_column(c)
    for name in ("fleet", "fleet_novelty", "river_hst", "deep"):
        r = res[name]
        t.add_row(
            name, str(r["series"]), f"{r['samples_per_s']:,.0f}", f"{r['bytes_per_series']:,.0f}"
        )
    console.print(t)
    console.print(f"ratio fleet / river_hst: [b]{res['ratio']:.0f}×[/b]")


@bench_app.command("forecast")
def bench_forecast(
    series: Annotated[int, typer.Option(help="Synthetic capacity series.")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Refit CPU time per series per model, forecasts/hour per core, 10,000-series budget."""
    from foreshock.bench.forecast import run_forecast_bench

    res = run_forecast_bench(series=series)
    print_json(res) if as_json else console.print_json(data=res)


@bench_app.command("replay")
def bench_replay(
    hours: Annotated[
        str, typer.Option(help="Replay lengths in simulated hours, comma-separated.")
    ] = "51,254",
    workdir: Annotated[
        Path | None, typer.Option(help="Where replays and homes go (default: a temp dir).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """CPU time and peak memory of `foreshock run --replay` on quiet replays of each length,
    each run in a child process; the ratio says whether cost grows with the rows (1.0) or
    faster. 51 h is ~1M rows, 254 h ~5M (about 10 minutes in all on one core).

    Example:  foreshock bench replay --hours 51,254
    """
    import tempfile

    from foreshock.bench.replay import run_replay_bench

    try:
        lengths = [float(h) for h in hours.split(",") if h.strip()]
    except ValueError:
        raise typer.BadParameter(f"not a list of hours: {hours!r}", param_hint="--hours") from None
    if len(lengths) < 2 or min(lengths) <= 0:
        raise typer.BadParameter("give two lengths or more, each > 0", param_hint="--hours")
    with tempfile.TemporaryDirectory(prefix="foreshock-bench-") as tmp:
        res = run_replay_bench(
            lengths, workdir or Path(tmp), progress=None if as_json else err.print
        )
    if as_json:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title="bench replay: foreshock run --replay, quiet simulated fleet")
    for c in ("hours", "rows", "CPU s (user + sys)", "peak RSS MB", "CPU µs/row"):
        t.add_column(c, justify="right")
    for r in res["runs"]:
        t.add_row(
            f"{r['hours']:g}",
            f"{r['rows']:,}",
            f"{r['cpu_s']:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{1e6 * r['cpu_s'] / r['rows']:.1f}",
        )
    console.print(t)
    console.print(f"CPU ratio, longest / (rows × shortest): [b]{res['ratio']:.2f}[/b]")


@bench_app.command("enrich")
def bench_enrich(
    delay: Annotated[float, typer.Option(help="Seconds the stub model takes per answer.")] = 30.0,
    fault: Annotated[
        str, typer.Option(help="Simulated fault of the replay.")
    ] = "redis_memory_exhaustion",
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 1,
    hours: Annotated[float, typer.Option(help="Simulated hours.")] = 6.0,
    timeout: Annotated[float, typer.Option(help="llm_timeout_s of the runs.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The pipeline never waits on the LLM: one replay with no endpoint, with the endpoint
    down, and with it answering every request after --delay seconds (a local stub). Shows
    the chain's throughput (the end-of-run wait for the model apart), who wrote each
    incident's report, and the audit log's calls.

    Example:  foreshock bench enrich --delay 30
    """
    from foreshock.bench.enrich import run_enrich_bench

    res = run_enrich_bench(fault, seed, hours, delay, timeout, None if as_json else err.print)
    if as_json:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"bench enrich: {fault} seed {seed}, {hours:g} h replay")
    for c in ("LLM", "samples/s (chain)", "wait at end s", "incidents", "reports by", "audit log"):
        t.add_column(c)
    for r in res["runs"]:
        t.add_row(
            r["mode"],
            f"{r['samples_per_s']:,.0f}",
            f"{r['wait_at_end_s']:.1f}",
            str(r["incidents"]),
            ", ".join(f"{k} {v}" for k, v in r["written_by"].items()),
            ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()) or "-",
        )
    console.print(t)
    for r in res["runs"]:
        for note, n in r["notes"].items():
            console.print(f"[dim]{r['mode']}: {n} × {note}[/dim]", highlight=False)


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
        print_json(res)
        return
    k, e = res["kafka"], res["embedded"]
    console.print(
        f"kafka path: {k['samples']:,} samples through {k['workers']} worker(s) on "
        f"{k['partitions']} partitions in {k['seconds']} s = [b]{k['samples_per_s']:,.0f}[/b] "
        f"samples/s ({k['samples_per_s_per_worker']:,.0f} per worker)\n"
        f"embedded:   {e['samples']:,} samples in {e['seconds']} s = "
        f"[b]{e['samples_per_s']:,.0f}[/b] samples/s"
    )


@bench_app.command("score")
def bench_score(
    rows: Annotated[int, typer.Option(help="Rows of the synthetic series.")] = 1_000_000,
    sample: Annotated[
        int, typer.Option(help="Rows the per-row reference path is timed on (a prefix).")
    ] = 20_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """foreshock score: the per-row reference path vs the chunked one, rows/s per core.

    Example:  foreshock bench score --rows 1000000
    """
    from foreshock.bench.score import run_score_bench

    res = run_score_bench(rows=rows, sample=sample)
    if as_json:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"bench score: fleet detector, {rows:,} rows (reference on {res['sample']:,})")
    for c in ("path", "rows", "CPU s", "rows/s per core", "µs/row", "peak RSS MB"):
        t.add_column(c)
    for name in ("reference", "current"):
        r = res[name]
        t.add_row(
            name,
            f"{r['rows']:,}",
            f"{r['cpu_s']:.2f}",
            f"{r['rows_per_s']:,.0f}",
            f"{r['us_per_row']:.2f}",
            f"{r['peak_rss_mb']:,.0f}",
        )
    console.print(t)
    console.print(
        f"ratio current / reference: [b]{res['ratio']:.1f}×[/b]; same scores on the sample: "
        f"{res['same_scores']}"
    )
