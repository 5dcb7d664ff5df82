"""``foreshock eval``: evaluation commands whose numbers go into docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foreshock.cli.common import detector_params, plain
from foreshock.schemas.errors import ConfigError

eval_app = typer.Typer(
    help="Evaluate detection and root cause on simulated and public data.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@eval_app.command("rca")
def rca(
    faults: Annotated[str, typer.Option(help="Comma-separated fault names, or 'all'.")] = "all",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10 or 1,2,5.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per run.")] = 6.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Root-cause accuracy: every fault × seed, top-1 / top-3 rank of the true root cause,
    incidents and pages per run (one is right), failure-mode accuracy."""
    from foreshock.evaluate.simulated import parse_seeds, run_one, summarise
    from foreshock.sim.simulator import fault_names

    names = fault_names() if faults == "all" else faults.split(",")
    seed_list = parse_seeds(seeds)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        total = len(names) * len(seed_list)
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=as_json or not err.is_terminal) as prog:
            task = prog.add_task("fault × seed runs", total=total)
            for f in names:
                for s in seed_list:
                    rows.append(run_one(f, s, hours, Path(d)))
                    prog.advance(task)
    summary = summarise(rows)
    if as_json:
        sys.stdout.write(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")
        return
    t = Table(title=f"root cause over seeds {plain(seeds)} ({hours:g} h runs)")
    for c in ("fault", "runs", "top-1", "top-3", "mode ok", "1 incident", "1 page"):
        t.add_column(c)
    for f, s in summary["by_fault"].items():
        t.add_row(
            plain(f),
            str(s["runs"]),
            f"{s['top1']:.0%}",
            f"{s['top3']:.0%}",
            f"{s['mode']:.0%}",
            f"{s['one_incident']:.0%}",
            f"{s['one_page']:.0%}",
        )
    a = summary["all"]
    t.add_row(
        "[b]all[/b]",
        str(a["runs"]),
        f"[b]{a['top1']:.1%}[/b]",
        f"[b]{a['top3']:.1%}[/b]",
        f"{a['mode']:.1%}",
        f"{a['one_incident']:.1%}",
        f"{a['one_page']:.1%}",
    )
    console.print(t)


@eval_app.command("quiet")
def quiet(
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per run.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """False pages: quiet fleets (fault none) must open zero incidents."""
    from foreshock.evaluate.simulated import parse_seeds, run_one

    rows = []
    with tempfile.TemporaryDirectory() as d:
        for s in parse_seeds(seeds):
            rows.append(run_one("none", s, hours, Path(d)))
    if as_json:
        sys.stdout.write(json.dumps({"runs": rows}, indent=2) + "\n")
        return
    t = Table(title=f"quiet runs ({hours:g} h, fault none)")
    for c in ("seed", "anomalies", "incidents", "pages"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["seed"]), str(r["anomalies"]), str(r["incidents"]), str(r["alerts"]))
    console.print(t)
    console.print(
        f"runs with any incident: [b]{sum(r['incidents'] > 0 for r in rows)}[/b] of {len(rows)}"
    )


@eval_app.command("nab")
def nab(
    data: Annotated[Path, typer.Option(help="NAB corpus folder (data/ and labels/ inside).")],
    detector: Annotated[str, typer.Option(help="Detector: fleet, deep, hst, loda.")] = "fleet",
    category: Annotated[
        list[str] | None, typer.Option(help="Only these categories (repeatable).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Detector hyperparameter NAME=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """NAB score (standard / reward_low_FP / reward_low_FN) of a detector on a NAB corpus.

    Each file is replayed through `foreshock score`'s code path; the threshold is swept over
    the corpus per profile, as NAB does. Example:
    foreshock eval nab --data ../shared/data/nab-dev --category realAWSCloudwatch
    """
    from foreshock.evaluate.nab import evaluate

    params = detector_params(param)
    from rich.progress import Progress

    from foreshock.detectors.registry import create

    try:
        create(detector, **params)  # a bad name or value fails here, before any file is read
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"detector {detector!r} does not take {params}: {exc}") from exc
    with Progress(console=err, transient=True, disable=as_json or not err.is_terminal) as prog:
        task = prog.add_task("scoring NAB files", total=None)
        result = evaluate(
            data,
            detector,
            categories=category,
            params=params,
            progress=lambda d, t: prog.update(task, completed=d, total=t),
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        return
    console.print(result.to_table())


@eval_app.command("exhaustion")
def exhaustion(
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per gradual-fault run.")] = 12.0,
    quiet_hours: Annotated[float, typer.Option(help="Hours of each quiet run (0: none).")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predictive alerts: lead time before the true exhaustion, 80% interval coverage, and
    no predicted-exhaustion alert on quiet runs."""
    from foreshock.evaluate.exhaustion import exhaustion_run, exhaustion_summary
    from foreshock.evaluate.simulated import parse_seeds
    from foreshock.sim.faults import GRADUAL

    rows, quiet_rows = [], []
    with tempfile.TemporaryDirectory() as d:
        for f in GRADUAL:
            for s in parse_seeds(seeds):
                rows.append(exhaustion_run(f, s, hours, Path(d)))
        if quiet_hours > 0:
            for s in parse_seeds(seeds):
                quiet_rows.append(exhaustion_run("none", s, quiet_hours, Path(d)))
    summary = exhaustion_summary(rows, quiet_rows)
    if as_json:
        sys.stdout.write(
            json.dumps({"runs": rows, "quiet": quiet_rows, "summary": summary}, indent=2) + "\n"
        )
        return
    t = Table(title=f"predicted exhaustion, seeds {plain(seeds)} ({hours:g} h runs)")
    for c in (
        "fault",
        "seed",
        "model",
        "lead (min)",
        "page lead (min)",
        "80% interval (h)",
        "truth in it",
    ):
        t.add_column(c)
    for r in rows:
        iv = r.get("interval_h")
        t.add_row(
            plain(r["fault"]),
            str(r["seed"]),
            plain(r.get("model", "—")),
            f"{r['lead_min']:.0f}" if r.get("lead_min") is not None else "none",
            f"{r['alert_lead_min']:.0f}" if r.get("alert_lead_min") is not None else "none",
            f"{iv[0]:.1f}–{iv[1]:.1f}" if iv else "—",
            str(r.get("covered")),
        )
    console.print(t)
    console.print(
        f"page ≥ 30 min before exhaustion: [b]{summary['lead_ge_30min']:.0%}[/b] · "
        f"truth inside the 80% interval: [b]{summary['covered_80']:.0%}[/b] · quiet runs with "
        f"a predicted exhaustion: [b]{summary['quiet_runs_with_prediction']}[/b] of "
        f"{summary['quiet_runs']}"
    )


@eval_app.command("forecast")
def forecast_accuracy(
    data: Annotated[Path, typer.Option(help="NAB corpus folder (data/ and labels/ inside).")],
    category: Annotated[str, typer.Option(help="NAB category.")] = "realAWSCloudwatch",
    origins: Annotated[int, typer.Option(help="Rolling origins per series (one day apart).")] = 3,
    history: Annotated[
        int | None,
        typer.Option(
            min=24, help="Points before each origin trained on (default: all; 576 = 2 days)."
        ),
    ] = None,
    fit_points: Annotated[
        int | None,
        typer.Option(min=24, help="Fit at most this many points: coarser means (the stage: 144)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Forecast accuracy (MASE, sMAPE) of each candidate model and of the per-series
    selection, rolling origin, horizon one day of points.

    Example:  foreshock eval forecast --data ../shared/data/nab-dev
    As the forecast stage sees a series (two days of history, 144 points fitted):
    foreshock eval forecast --data ../shared/data/nab-dev --history 576 --fit-points 144
    """
    from rich.progress import Progress

    from foreshock.evaluate.forecast_nab import evaluate_forecasts

    with Progress(console=err, transient=True, disable=as_json or not err.is_terminal) as prog:
        task = prog.add_task("forecasting NAB series", total=None)
        result = evaluate_forecasts(
            data,
            category=category,
            origins=origins,
            progress=lambda d, t: prog.update(task, completed=d, total=t),
            history_points=history,
            fit_points=fit_points,
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        return
    console.print(result.to_table())


@eval_app.command("loghub")
def loghub(
    data: Annotated[
        Path, typer.Option(help="Loghub folder (one X/X_2k.log_structured_*.csv each).")
    ],
    systems: Annotated[
        str | None, typer.Option(help="Comma-separated systems (default: all found).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Group Accuracy of the log template miner per Loghub system, the mean, and lines/s.

    One miner configuration for every system; each system's Content lines are mined in
    one pass and grouped by their final template. Example:
    foreshock eval loghub --data ../shared/data/loghub-dev
    """
    from rich.progress import Progress

    from foreshock.evaluate.loghub import evaluate_loghub

    names = [s.strip() for s in systems.split(",") if s.strip()] if systems else None
    with Progress(console=err, transient=True, disable=as_json or not err.is_terminal) as prog:
        task = prog.add_task("mining Loghub systems", total=None)
        result = evaluate_loghub(
            data, names, progress=lambda d, t: prog.update(task, completed=d, total=t)
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        return
    console.print(result.to_table())
