"""``foreshock reports``: search and read stored root-cause reports.

Report text is printed as plain text (no markup, no terminal escape sequence), and every
``--limit`` is checked against a range before any store is opened.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foreshock.cli.common import err, print_json
from foreshock.cli.render import literal, markdown
from foreshock.enrichers.narrator import clock
from foreshock.enrichers.stores.opensearch_query import MAX_RESULTS, MAX_WORDS, search_words
from foreshock.pipelines.settings import default_home

if TYPE_CHECKING:
    from foreshock.enrichers.stores.base import ReportStore

reports_app = typer.Typer(help="Search and read root-cause reports.", no_args_is_help=True)
console = Console()

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="State folder (default $FORESHOCK_HOME or ./.foreshock)."),
]


def _store(home: Path | None) -> ReportStore:
    """The report store the settings choose (``FORESHOCK_STORE_BACKEND``), for reading."""
    from foreshock.pipelines.backends import open_store, sqlite_path
    from foreshock.pipelines.settings import Settings
    from foreshock.schemas.errors import ConfigError

    settings = Settings.load()
    home = home or default_home()
    if settings.store_backend == "sqlite" and not sqlite_path(home).exists():
        raise ConfigError(
            f"no report store at {sqlite_path(home)}: run `foreshock demo` or `foreshock run` "
            "first, or pass --home"
        )
    return open_store(settings, home)


#: Largest ``--limit`` (OpenSearch's largest page; SQLite takes the same bound).
MAX_LIMIT = MAX_RESULTS


def _limit_option(what: str) -> Any:  # typer.Option's own return type
    return typer.Option(help=f"{what} (1 to {MAX_LIMIT:,}).", min=1, max=MAX_LIMIT)


@reports_app.command("search")
def search(
    text: Annotated[list[str], typer.Argument(help="Words to look for (any order).")],
    limit: Annotated[int, _limit_option("Hits to show")] = 10,
    home: HomeOpt = None,
) -> None:
    """Full-text search over reports (summary, causes, evidence, remediation).

    A repeated word counts once; only the first 64 distinct words are searched.

    Example:  foreshock reports search redis evictions
    """
    query = " ".join(text)
    _, _, left_out = search_words(query)
    if left_out:
        err.print(
            f"searching the first {MAX_WORDS} distinct words; {left_out} more left out",
            highlight=False,
        )
    with closing(_store(home)) as store:
        hits = store.search(query, limit=limit)
    if not hits:
        console.print("no matching report")
        raise typer.Exit(0)
    t = Table()
    for c in ("report", "incident", "created", "title", "match"):
        t.add_column(c, overflow="fold")
    for h in hits:
        t.add_row(
            literal(h.report_id),
            literal(h.incident_id),
            clock(h.created_at),
            literal(h.title),
            literal(h.snippet),
        )
    console.print(t)


def _get(store: ReportStore, report_id: str) -> Any:
    report = store.get(report_id)
    if report is None:
        from foreshock.schemas.errors import UnknownNameError

        raise UnknownNameError(
            f"no report or incident {report_id!r} (try `foreshock reports list`)"
        )
    return report


@reports_app.command("show")
def show(
    report_id: Annotated[
        str, typer.Argument(help="Report id, or an incident id for its newest report.")
    ],
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Print one report as Markdown (``--json``: every field, ``enriched_by`` included)."""
    with closing(_store(home)) as store:
        report = _get(store, report_id)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    console.print(markdown(report.markdown()))


@reports_app.command("enrich")
def enrich(
    report_id: Annotated[
        str, typer.Argument(help="Report id, or an incident id for its newest report.")
    ],
    home: HomeOpt = None,
) -> None:
    """Have the configured LLM endpoint rewrite a report from its evidence, and store it.

    The endpoint is any OpenAI-compatible one (FORESHOCK_LLM_BASE_URL, FORESHOCK_LLM_MODEL,
    FORESHOCK_LLM_API_KEY). The evidence is masked before it is sent; an answer that cites
    evidence that does not exist, states numbers not in it or names a cause foreshock did
    not rank is refused, and the narrator's report stands with the reason. The enriched
    report is stored as ``<id>-llm``; every call is logged in ``<home>/llm-audit.jsonl``.

    Example:  FORESHOCK_LLM_BASE_URL=http://127.0.0.1:8000/v1 FORESHOCK_LLM_MODEL=qwen2.5
    foreshock reports enrich inc-3
    """
    import time

    from foreshock.enrichers.llm.enricher import LlmEnricher
    from foreshock.pipelines.settings import Settings

    home = home or default_home()
    enricher = LlmEnricher.from_settings(Settings.load(), home)
    with closing(_store(home)) as store:
        report = _get(store, report_id)
        out = enricher.enrich(report)
        if out.enriched_by != "narrator":
            out = out.model_copy(update={"id": f"{report.id}-llm", "created_at": time.time()})
            store.put(out)
    if out.enriched_by == "narrator":
        err.print(f"not enriched: {out.enrichment_note}", highlight=False)
        raise typer.Exit(1)
    console.print(f"stored {literal(out.id)}, written by {literal(out.enriched_by)}")
    console.print(markdown(out.markdown()))


@reports_app.command("list")
def list_reports(
    limit: Annotated[int, _limit_option("How many")] = 20, home: HomeOpt = None
) -> None:
    """The newest reports."""
    with closing(_store(home)) as store:
        reports = store.recent(limit)
    t = Table()
    for c in ("report", "created", "root cause", "title"):
        t.add_column(c, overflow="fold")
    for r in reports:
        t.add_row(
            literal(r.id), clock(r.created_at), literal(r.root_cause_resource), literal(r.title)
        )
    console.print(t)
