"""``foreshock ask "QUESTION"``: plain-language questions answered from the stored state."""

from __future__ import annotations

import dataclasses
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import console, err, plain, print_json
from foreshock.cli.render import literal


def ask(
    question: Annotated[list[str], typer.Argument(help="The question, in plain words.")],
    home: Annotated[
        Path | None,
        typer.Option("--home", help="State folder (default $FORESHOCK_HOME or ./.foreshock)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never call the LLM, even when one is configured.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The answer as JSON.")] = False,
) -> None:
    """Ask about the fleet: incidents, root causes, history and forecasts.

    Answers come from the reports, incidents and forecasts foreshock stored, and cite the
    ids they used (look them up with `foreshock reports show ID`). Four kinds of question:
    what runs out first (forecasts), has R done this before (history), why was X slow at
    HH:MM (the incident nearest that time, UTC), anything else (report search). With an
    LLM endpoint configured (FORESHOCK_LLM_BASE_URL, FORESHOCK_LLM_MODEL) the model words
    the answer from the same material and must keep to it; otherwise, or if it strays, the
    offline answer stands.

    Examples:  foreshock ask "what runs out first?"  ·  foreshock ask "has redis-cache done
    this before?"  ·  foreshock ask "why was checkout slow at 10:05?"
    """
    from foreshock.cli.reports import _store
    from foreshock.enrichers.ask import Asker
    from foreshock.enrichers.ask_llm import LlmAsker
    from foreshock.enrichers.llm.enricher import audit_log
    from foreshock.pipelines.settings import Settings, default_home

    text = " ".join(question).strip()
    if not text:
        err.print('[red]ask a question, e.g. foreshock ask "what runs out first?"[/red]')
        raise typer.Exit(2)
    home = home or default_home()
    with closing(_store(home)) as store:
        answer = Asker(store).ask(text)
    settings = Settings.load()
    if not offline and settings.llm_base_url and settings.llm_model:
        asker = LlmAsker(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_timeout_s,
            audit=audit_log(settings, home),
        )
        answer = asker.rephrase(answer)
    if as_json:
        print_json(dataclasses.asdict(answer))
        return
    console.print(literal(answer.text))
    if answer.sources:
        console.print(f"[dim]sources: {plain(', '.join(answer.sources))}[/dim]", highlight=False)
    by = "offline (templates)" if answer.answered_by == "offline" else answer.answered_by
    console.print(f"[dim]answered by {plain(by)}[/dim]", highlight=False)
    if answer.note:
        err.print(f"[yellow]note:[/yellow] {plain(answer.note)}", highlight=False)
