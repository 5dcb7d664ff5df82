"""``foreshock silence``: maintenance windows that hold pages (the Alertmanager model)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from foreshock.cli.common import console, err, parse_duration, plain, print_json

if TYPE_CHECKING:
    from foreshock.pipelines.sinks.silences import SilenceStore

silence_app = typer.Typer(
    help="Hold pages for a resource, kind or failure mode for a while (maintenance).",
    no_args_is_help=True,
)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="State folder of the pipeline (default $FORESHOCK_HOME or ./.foreshock)."
    ),
]


def _store(home: Path | None) -> SilenceStore:
    from foreshock.pipelines.backends import silences_path
    from foreshock.pipelines.settings import default_home
    from foreshock.pipelines.sinks.silences import SilenceStore

    return SilenceStore(silences_path(home or default_home()))


@silence_app.command("add")
def add(
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 2h, 1d.")],
    reason: Annotated[str, typer.Option(help="Who and why, shown to the on-call and in reports.")],
    resource: Annotated[str | None, typer.Option(help="Root-cause resource to silence.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Resource kind to silence (redis, mysql...).")
    ] = None,
    failure_mode: Annotated[
        str | None, typer.Option(help="Only this failure mode (with --resource or --kind).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Start a silence now. Pages whose root cause matches every matcher given are not
    sent while it lasts; anomalies, incidents and reports are still recorded, and the report
    says which silence held its page.

    Example:  foreshock silence add --resource redis-cache --for 2h --reason "upgrade, ana"
    """
    with closing(_store(home)) as store:
        s = store.add(parse_duration(duration), reason, resource, kind, failure_mode)
    console.print(f"added {plain(s.describe())}", highlight=False)


@silence_app.command("list")
def list_silences(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """The silences in force now."""
    import dataclasses

    with closing(_store(home)) as store:
        active = store.active()
    if as_json:
        print_json([dataclasses.asdict(s) for s in active])
        return
    if not active:
        console.print("no silence in force")
        return
    t = Table()
    for c in ("id", "silence"):
        t.add_column(c)
    for s in active:
        t.add_row(s.id, plain(s.describe()))
    console.print(t)


@silence_app.command("remove")
def remove(
    silence_id: Annotated[str, typer.Argument(help="The silence's id (s-1).")],
    home: HomeOpt = None,
) -> None:
    """End a silence now."""
    with closing(_store(home)) as store:
        ok = store.remove(silence_id)
    if not ok:
        err.print(
            f"[red]no silence {plain(silence_id)} in force[/red] (see foreshock silence list)"
        )
        raise typer.Exit(1)
    console.print(f"removed {plain(silence_id)}")
