r"""Terminal rendering of run results (rich): incidents, candidates, reports, where things went.

Every piece of data (resource names, failure modes, titles, paths, report text) is printed
as plain text: never read as rich markup or emoji codes, with terminal escape sequences
and control characters removed (:func:`literal`, :func:`foreshock.cli.common.plain`).

Examples
--------
>>> import io
>>> from rich.console import Console
>>> out = Console(file=io.StringIO(), width=60)
>>> out.print(literal("[red]db[/red] :warning: \x1b[2J\x1b]0;owned\x07 ok"))
>>> out.file.getvalue()
'[red]db[/red] :warning: 0;owned ok\n'
>>> markdown("# Disk \x1b[31mfull[x]").markup
'# Disk full[x]'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from foreshock.cli.common import plain
from foreshock.enrichers.narrator import clock

if TYPE_CHECKING:
    from foreshock.pipelines.runtimes.embedded import RunResult
    from foreshock.schemas.incident import Incident
    from foreshock.schemas.report import RootCauseReport

__all__ = ["candidates_table", "literal", "markdown", "render_result"]


def literal(text: object) -> Text:
    """``text`` (data) as a rich :class:`~rich.text.Text`, printed exactly as it reads: no
    markup or emoji code is interpreted, and terminal escape sequences and control
    characters (but newlines and tabs) are removed."""
    return Text.from_markup(plain(text), emoji=False)


def markdown(text: str) -> Markdown:
    """Markdown (a report) whose text holds no terminal escape sequence or control
    character (rich prints those raw)."""
    return Markdown(literal(text).plain)


def candidates_table(incident: Incident, limit: int = 5) -> Table:
    """Top candidates with the four factors of their score (see docs/design.md)."""
    t = Table(title="Ranked root-cause candidates", title_justify="left", expand=False)
    t.add_column("#", justify="right")
    t.add_column("resource", overflow="fold")
    t.add_column("failure mode", overflow="fold")
    t.add_column("score", justify="right")
    for head in ("dir", "onset", "pack", "str"):
        t.add_column(head, justify="right")
    t.add_column("first anomaly")
    for i, c in enumerate(incident.candidates[:limit], 1):
        p = c.evidence.parts
        onset = clock(c.evidence.onset).split(" ")[1] if c.evidence.onset else "—"
        t.add_row(
            str(i),
            literal(f"{c.resource} ({c.kind})"),
            literal(c.failure_mode or "—"),
            f"{c.score:.3f}",
            f"{p.direction:.2f}",
            f"{p.onset:.2f}",
            f"{p.knowledge:.2f}",
            f"{p.strength:.2f}",
            onset,
        )
    t.caption = (
        "dir: share of the incident it explains · onset: started first · "
        "pack: failure-mode match · str: strength"
    )
    return t


def render_result(
    console: Console, result: RunResult, report_for: dict[str, RootCauseReport]
) -> None:
    summary = (
        f"[b]{result.samples:,}[/b] samples of [b]{result.series}[/b] series in "
        f"{result.seconds:.1f} s · [b]{sum(1 for a in result.anomalies if a.state == 'open')}[/b] "
        f"anomalies → [b]{len(result.incidents)}[/b] incident(s) → "
        f"[b]{sum(a.action == 'trigger' for a in result.alerts)}[/b] page(s)"
    )
    dropped = sum(result.dead_letters.values())
    if dropped or result.reordered:
        reasons = ", ".join(f"{n} {plain(r)}" for r, n in list(result.dead_letters.items())[:4])
        summary += (
            f"\n[yellow]{dropped} row(s) dropped[/yellow]"
            + (f" ({reasons})" if reasons else "")
            + (
                f"; {result.reordered} out-of-order row(s) put back in order"
                if result.reordered
                else ""
            )
        )
    console.print(Panel(summary, title="foreshock run", expand=False))
    if not result.incidents:
        console.print("[green]No incidents: nothing paged.[/green]")
    for incident, silence in result.silenced:
        console.print(
            f"[yellow]{plain(incident)}: not paged, held by silence {plain(silence)}[/yellow] "
            "(foreshock silence list)"
        )
    for inc in result.incidents:
        rc = inc.root_cause
        head = (
            f"[b]{plain(inc.id)}[/b] · {plain(inc.status)} · opened {clock(inc.opened_at)} · "
            f"{len(inc.anomalies)} anomalies on {len(inc.resources)} resources: "
            f"{plain(', '.join(inc.resources))}"
        )
        if rc:
            head += (
                f"\nroot cause: [b red]{plain(rc.resource)}[/b red] — "
                f"{plain(rc.failure_mode or 'unknown mode')}"
            )
        console.print(Panel(head, title="incident", expand=False))
        console.print(candidates_table(inc))
        report = report_for.get(inc.id)
        if report is not None:
            console.print(
                Panel(
                    markdown(report.markdown()),
                    title=f"root-cause report {plain(report.id)} · "
                    + (
                        "offline narrator"
                        if report.enriched_by == "narrator"
                        else f"written by {plain(report.enriched_by)}"
                    ),
                )
            )
    if result.truth and result.truth.get("root_cause"):
        t = result.truth["root_cause"]
        console.print(
            f"[dim]ground truth (truth.json): {plain(t['resource'])} — "
            f"{plain(t['failure_mode'])}[/dim]"
        )
    roots = [i.root_cause.resource for i in result.incidents if i.root_cause]
    question = f"has {roots[0]} done this before?" if roots else "what runs out first?"
    console.print(
        f"reports + incidents: [cyan]{plain(result.store_label or result.store_path)}[/cyan] "
        f"(try: foreshock reports search --home {plain(result.home)} <words>, or\n"
        f'foreshock ask --home {plain(result.home)} "{plain(question)}")\n'
        f"alerts: [cyan]{plain(result.alerts_path)}[/cyan]"
        + (f" and [cyan]{plain(result.pager_label)}[/cyan]" if result.pager_label else "")
        + "\n"
        f"dead letters: [cyan]{plain(result.dead_letters_path)}[/cyan]"
    )
