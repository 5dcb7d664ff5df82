"""``foreshock logs``: mine the templates of a log file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from foreshock.cli.common import plain
from foreshock.schemas.errors import ConfigError

logs_app = typer.Typer(help="Mine log templates from log files.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@logs_app.command("templates")
def templates(
    input: Annotated[Path, typer.Option("--input", help="Log file (one line per record).")],
    top: Annotated[int, typer.Option(help="Templates to show (0: all).")] = 20,
    whole_lines: Annotated[
        bool, typer.Option("--whole-lines", help="Mine whole lines: keep any header.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Mine the templates of a log file and print them with their line counts, most
    frequent first. A leading timestamp/level header is stripped when one is found.

    Any file is read in time proportional to its size: a line that is not text is
    counted as the template <BIN>, and the part of a line past 4096 characters (or 256
    words) as one <*>.

    Example:  foreshock logs templates --input /var/log/mysql/error.log --top 10
    """
    from foreshock.detectors.logs.header import strip_header
    from foreshock.detectors.logs.limits import read_lines
    from foreshock.detectors.logs.miner import TemplateMiner

    if not input.is_file():
        raise ConfigError(f"no log file at {input}")
    miner = TemplateMiner()
    size = input.stat().st_size
    lines = 0
    with (
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as prog,
        input.open("rb") as f,
    ):
        task = prog.add_task(f"mining {plain(input.name)}", total=size or None)
        for raw, size in read_lines(f):  # a line is cut to a bounded size
            prog.advance(task, size)
            text = raw.decode("utf-8", errors="replace")
            content = text.strip() if whole_lines else strip_header(text)
            if content:
                miner.add(content)
                lines += 1
    found = miner.templates()
    shown = found[:top] if top > 0 else found
    if as_json:
        out = {
            "file": str(input),
            "lines": lines,
            "n_templates": len(found),
            "templates": [
                {"id": t.template_id, "count": t.count, "template": t.template} for t in shown
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table(title=f"{plain(input.name)}: {lines:,} lines, {len(found):,} templates")
    table.add_column("id")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("template", overflow="fold")
    for t in shown:
        table.add_row(
            t.template_id, f"{t.count:,}", f"{t.count / max(lines, 1):.1%}", plain(t.template)
        )
    console.print(table)
