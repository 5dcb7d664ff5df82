"""``foreshock eval``: evaluation commands whose numbers go into docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

eval_app = typer.Typer(
    help="Evaluate detection and root cause on simulated and public data.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def parse_seeds(text: str) -> list[int]:
    """``1-10`` or ``1,3,5`` → list of seeds.

    >>> parse_seeds("1-3"), parse_seeds("4,7")
    ([1, 2, 3], [4, 7])
    """
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out += list(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def _one(fault: str, seed: int, hours: float, tmp: Path) -> dict[str, Any]:
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.sim.simulator import simulate

    folder = simulate(fault, seed=seed, hours=hours).write(tmp / f"{fault}-{seed}")
    res = run_replay(folder, tmp / f"home-{fault}-{seed}")
    truth = res.truth or {}
    true_root = (truth.get("root_cause") or {}).get("resource")
    true_mode = (truth.get("root_cause") or {}).get("failure_mode")
    incs = res.incidents
    rank = None
    mode_ok = False
    if incs and true_root:
        # the incident that holds the true root cause (or the first one)
        inc = next((i for i in incs if true_root in i.resources), incs[0])
        names = [c.resource for c in inc.candidates]
        rank = names.index(true_root) + 1 if true_root in names else None
        mode_ok = bool(inc.candidates and inc.candidates[0].failure_mode == true_mode)
    return {
        "fault": fault,
        "seed": seed,
        "incidents": len(incs),
        "alerts": sum(a.action == "trigger" for a in res.alerts),
        "rank": rank,
        "mode_ok": mode_ok,
        "anomalies": sum(a.state == "open" for a in res.anomalies),
    }


@eval_app.command("rca")
def rca(
    faults: Annotated[str, typer.Option(help="Comma-separated fault names, or 'all'.")] = "all",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10 or 1,2,5.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per run.")] = 6.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Root-cause accuracy: every fault × seed, top-1 / top-3 rank of the true root cause,
    incidents and pages per run (one is right), failure-mode accuracy."""
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
                    rows.append(_one(f, s, hours, Path(d)))
                    prog.advance(task)
    summary = _summarise(rows)
    if as_json:
        sys.stdout.write(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")
        return
    t = Table(title=f"root cause over seeds {seeds} ({hours:g} h runs)")
    for c in ("fault", "runs", "top-1", "top-3", "mode ok", "1 incident", "1 page"):
        t.add_column(c)
    for f, s in summary["by_fault"].items():
        t.add_row(
            f,
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


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def stats(rs: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(rs) or 1
        return {
            "runs": len(rs),
            "top1": sum(r["rank"] == 1 for r in rs) / n,
            "top3": sum(r["rank"] is not None and r["rank"] <= 3 for r in rs) / n,
            "mode": sum(r["mode_ok"] for r in rs) / n,
            "one_incident": sum(r["incidents"] == 1 for r in rs) / n,
            "one_page": sum(r["alerts"] == 1 for r in rs) / n,
        }

    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["fault"], []).append(r)
    return {"by_fault": {f: stats(rs) for f, rs in by.items()}, "all": stats(rows)}


@eval_app.command("quiet")
def quiet(
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per run.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """False pages: quiet fleets (fault none) must open zero incidents."""
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for s in parse_seeds(seeds):
            rows.append(_one("none", s, hours, Path(d)))
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
    detector: Annotated[str, typer.Option(help="Detector name (fleet, hst, loda).")] = "fleet",
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

    params: dict[str, Any] = {}
    for p in param or []:
        k, _, v = p.partition("=")
        params[k] = float(v) if v.replace(".", "", 1).replace("-", "", 1).isdigit() else v
    from rich.progress import Progress

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


def _exhaustion_run(fault: str, seed: int, hours: float, tmp: Path) -> dict[str, Any]:
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.sim.simulator import simulate

    folder = simulate(fault, seed=seed, hours=hours).write(tmp / f"{fault}-{seed}")
    res = run_replay(folder, tmp / f"home-{fault}-{seed}")
    truth = res.truth or {}
    predicted = [a for a in res.anomalies if a.kind == "predicted_exhaustion" and a.state == "open"]
    row: dict[str, Any] = {
        "fault": fault,
        "seed": seed,
        "predicted": len(predicted),
        "forecasts": len(res.forecasts),
    }
    cap = truth.get("capacity_series")
    if not cap:
        return row
    exh = float(truth["exhaustion_at"])
    mine = [a for a in predicted if (a.resource, a.metric) == (cap["resource"], cap["metric"])]
    first = min(mine, key=lambda a: a.detected_at) if mine else None
    # pages of incidents that involve the exhausting resource
    triggers = [
        e.timestamp
        for e in res.alerts
        if e.action == "trigger" and cap["resource"] in e.details.get("resources", "").split(", ")
    ]
    row.update(exhaustion_at=exh, lead_min=None, alert_lead_min=None, covered=None)
    if first is not None:
        row["lead_min"] = (exh - first.detected_at) / 60
        fc = next(
            (
                f
                for f in res.forecasts
                if f.made_at == first.detected_at
                and (f.resource, f.metric) == (cap["resource"], cap["metric"])
            ),
            None,
        )
        if fc is not None and fc.exhaustion_p10 is not None:
            hi = fc.exhaustion_p90 if fc.exhaustion_p90 is not None else float("inf")
            row["covered"] = fc.exhaustion_p10 <= exh <= hi
            row["interval_h"] = [
                (fc.exhaustion_p10 - first.detected_at) / 3600,
                (hi - first.detected_at) / 3600,
            ]
            row["model"] = fc.model
    if triggers:
        row["alert_lead_min"] = (exh - min(triggers)) / 60
    return row


@eval_app.command("exhaustion")
def exhaustion(
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1-10.")] = "1-10",
    hours: Annotated[float, typer.Option(help="Simulated hours per gradual-fault run.")] = 12.0,
    quiet_hours: Annotated[float, typer.Option(help="Hours of each quiet run (0: none).")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predictive alerts: lead time before the true exhaustion, 80% interval coverage, and
    no predicted-exhaustion alert on quiet runs."""
    from foreshock.sim.faults import GRADUAL

    rows, quiet_rows = [], []
    with tempfile.TemporaryDirectory() as d:
        for f in GRADUAL:
            for s in parse_seeds(seeds):
                rows.append(_exhaustion_run(f, s, hours, Path(d)))
        if quiet_hours > 0:
            for s in parse_seeds(seeds):
                quiet_rows.append(_exhaustion_run("none", s, quiet_hours, Path(d)))
    n = len(rows) or 1
    summary = {
        "runs": len(rows),
        "lead_ge_30min": sum(1 for r in rows if (r.get("alert_lead_min") or -1) >= 30) / n,
        "predicted_runs": sum(1 for r in rows if r.get("lead_min") is not None) / n,
        "predicted_lead_ge_30min": sum(1 for r in rows if (r.get("lead_min") or -1) >= 30) / n,
        "covered_80": sum(1 for r in rows if r.get("covered")) / n,
        "quiet_runs_with_prediction": sum(1 for r in quiet_rows if r["predicted"] > 0),
        "quiet_runs": len(quiet_rows),
    }
    if as_json:
        sys.stdout.write(
            json.dumps({"runs": rows, "quiet": quiet_rows, "summary": summary}, indent=2) + "\n"
        )
        return
    t = Table(title=f"predicted exhaustion, seeds {seeds} ({hours:g} h runs)")
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
            r["fault"],
            str(r["seed"]),
            r.get("model", "—"),
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Forecast accuracy (MASE, sMAPE) of each candidate model and of the per-series
    selection, rolling origin, horizon one day of points.

    Example:  foreshock eval forecast --data ../shared/data/nab-dev
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
