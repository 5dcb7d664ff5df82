"""``foreshock eval replays|petshop|nezha``: root cause and false incidents on labelled data.

Each command turns its data into replay folders (``petshop``, ``nezha``) or takes yours
(``replays``), runs them through the embedded pipeline and scores every fault by the
incident opened in its own window (see :mod:`foreshock.evaluate.replays`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from foreshock.cli.common import plain
from foreshock.cli.eval import console, err, eval_app
from foreshock.evaluate.replays import (
    MISS_REASONS,
    Evaluation,
    evaluate_folders,
    replay_folders,
)
from foreshock.schemas.errors import SchemaError

AsJson = Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")]
NoTopology = Annotated[
    bool,
    typer.Option(
        "--no-topology", help="Leave the dependency graph out (ranking without topology)."
    ),
]
GenericNames = Annotated[
    bool,
    typer.Option(
        "--generic-names",
        help="Write the series under generic names (latency_ms_p90 in ms, cpu_usage) that no pack "
        "knows: how the method holds on metrics named by someone else.",
    ),
]
Keep = Annotated[
    Path | None,
    typer.Option(help="Keep the replay folders and run homes here (default: a temp folder)."),
]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def _print_misses(summary: dict[str, Any]) -> None:
    """Why roots were not ranked first: one row per reason, one column per fault type."""
    kinds = summary["by_kind"]
    total = summary["all"]["misses"]
    reasons = [m for m in MISS_REASONS if total.get(m)]
    if not reasons:
        return
    t = Table(title="faults whose root was not ranked first, by reason")
    t.add_column("reason", no_wrap=True)
    for kind in kinds:
        t.add_column(plain(kind))
    t.add_column("all")
    for m in reasons:
        counts = [str(kinds[k]["misses"].get(m, 0)) for k in kinds]
        t.add_row(m.replace("_", " "), *counts, str(total[m]))
    console.print(t)
    for m in reasons:
        console.print(f"  [dim]{m.replace('_', ' ')}: {MISS_REASONS[m]}[/dim]")


def _print_short(ev: Evaluation) -> None:
    """Warn of replays too short to judge: their series are on probation at the fault."""
    short = [r for r in ev.replays or [] if r.get("short")]
    for r in short[:5]:
        console.print(
            f"[yellow]warning:[/yellow] {plain(r['replay'])}: its series have "
            f"{r['history_samples']} samples before the first fault; a series pages only "
            f"after {r['probation']} (probation: a baseline learned from a few samples is "
            "no reason to page). Record a longer window before the fault."
        )
    if len(short) > 5:
        console.print(f"[yellow]warning:[/yellow] ... and {len(short) - 5} more replays")


def _print(ev: Evaluation, title: str) -> None:
    s = ev.as_dict()["summary"]
    t = Table(title=title)
    for c in ("fault type", "faults", "top-1", "top-3", "Avg@5", "found", "median s to incident"):
        t.add_column(c)

    def row(name: str, st: dict[str, object]) -> list[str]:
        wait = st["median_to_incident_s"]
        return [
            name,
            str(st["faults"]),
            _pct(st["top1"]),  # type: ignore[arg-type]
            _pct(st["top3"]),  # type: ignore[arg-type]
            _pct(st["avg5"]),  # type: ignore[arg-type]
            _pct(st["found"]),  # type: ignore[arg-type]
            "-" if wait is None else f"{wait:.0f}",
        ]

    for kind, st in s["by_kind"].items():
        t.add_row(*row(plain(kind), st))
    if ev.rows:
        t.add_row(*row("[b]all[/b]", s["all"]))
    console.print(t)
    _print_misses(s)
    _print_short(ev)
    per_day = ev.false_per_day
    console.print(
        f"incidents opened on normal data: [b]{ev.false_incidents}[/b] in "
        f"{ev.normal_seconds / 3600:.1f} h"
        + ("" if per_day is None else f" ({per_day:.2f} per day)")
    )


def _run(folders: list[Path], homes: Path, as_json: bool, title: str) -> None:
    if not folders:
        raise SchemaError("no replay folder (one holding metrics.csv) found")
    with Progress(console=err, transient=True, disable=as_json or not err.is_terminal) as prog:
        task = prog.add_task("replays", total=len(folders))
        done: Callable[[str], None] = lambda _name: prog.advance(task)  # noqa: E731
        ev = evaluate_folders(folders, homes, on_done=done)
    if as_json:
        sys.stdout.write(json.dumps(ev.as_dict(), indent=2) + "\n")
    else:
        _print(ev, title)


def _generic(folders: list[Path], on: bool) -> None:
    """Rewrite the replays under generic metric names (``--generic-names``)."""
    if on:
        from foreshock.evaluate.generic_names import rename_replay

        for folder in folders:
            rename_replay(folder)


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    """``keep`` (created), or a temporary folder removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="foreshock-eval-") as tmp:
        yield Path(tmp)


@eval_app.command("replays")
def replays(
    folder: Annotated[Path, typer.Argument(help="A replay folder, or a folder of replay folders.")],
    keep: Keep = None,
    as_json: AsJson = False,
) -> None:
    """Root cause on your own labelled replays: every folder with metrics.csv and truth.json.

    A truth names one fault (root_cause, start) or several ("fault": "several" and a
    faults list), and may list fault-free stretches ("normal": [[start, end], ...]), where
    every incident counts as a false one. Example:
    foreshock eval replays tests/data/lab-replays
    """
    if not folder.exists():
        raise SchemaError(f"{folder}: no such folder")
    with _workdir(keep) as work:
        _run(replay_folders(folder), work / "homes", as_json, f"replays under {plain(folder)}")


@eval_app.command("petshop")
def petshop(
    data: Annotated[Path, typer.Option(help="PetShop data: a scenario folder or their parent.")],
    scenario: Annotated[
        str | None, typer.Option(help="Only this scenario (e.g. low_traffic).")
    ] = None,
    no_topology: NoTopology = False,
    generic_names: GenericNames = False,
    keep: Keep = None,
    as_json: AsJson = False,
) -> None:
    """Root cause on the PetShop dataset: every issue, and false incidents on its normal days.

    Each issue window follows the scenario's normal days (re-timed to end one step
    before it); the normal days alone are one more run, whose incidents are false ones.
    Example: foreshock eval petshop --data ../shared/data/petshop-dev --scenario low_traffic
    """
    from foreshock.evaluate.pet_shop import build_scenario, scenarios

    found = scenarios(data)
    if scenario is not None:
        found = [s for s in found if s.name == scenario]
        if not found:
            raise SchemaError(f"{data}: no scenario {scenario!r}")
    with _workdir(keep) as work:
        folders: list[Path] = []
        for s in found:
            folders += build_scenario(s, work / "replays", with_topology=not no_topology)
        _generic(folders, generic_names)
        names = ", ".join(s.name for s in found)
        _run(folders, work / "homes", as_json, f"PetShop {plain(names)}")


@eval_app.command("nezha")
def nezha(
    data: Annotated[Path, typer.Option(help="Nezha data (rca_data/<day>/ inside).")],
    no_topology: NoTopology = False,
    generic_names: GenericNames = False,
    keep: Keep = None,
    as_json: AsJson = False,
) -> None:
    """Root cause on the Nezha OnlineBoutique data: one replay per day, AS@k per fault type.

    Each day's fault-free hours are re-timed to the day before (so they come first, with
    a gap as of a collector down overnight), then its faults, each scored only by an
    incident opened in its own window. Example:
    foreshock eval nezha --data ../shared/data/nezha-ob-dev
    """
    from foreshock.evaluate.nezha import build_day, days

    with _workdir(keep) as work:
        folders = [
            build_day(d, work / "replays", with_topology=not no_topology) for d in days(data)
        ]
        _generic(folders, generic_names)
        _run(folders, work / "homes", as_json, "Nezha OnlineBoutique (metrics only)")
