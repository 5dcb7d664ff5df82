"""``foreshock feedback``: tell foreshock an incident was wrong."""

from __future__ import annotations

import math
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import console, plain
from foreshock.schemas.errors import ConfigError, UnknownNameError


def feedback(
    incident_id: Annotated[str, typer.Argument(help="The incident (see foreshock reports list).")],
    false_positive: Annotated[
        bool,
        typer.Option(
            "--false-positive",
            help="Nothing was wrong: never page this signature (root cause + failure mode) "
            "again; incidents are still recorded.",
        ),
    ] = False,
    wrong_root_cause: Annotated[
        str | None,
        typer.Option(help="The real root cause was this resource (recorded on the report)."),
    ] = None,
    note: Annotated[str, typer.Option(help="Why, for the next on-call.")] = "",
    home: Annotated[
        Path | None,
        typer.Option("--home", help="State folder (default $FORESHOCK_HOME or ./.foreshock)."),
    ] = None,
) -> None:
    """Record that an incident was a false positive, or had another root cause.

    --false-positive adds a silence without end for the incident's signature (its root-cause
    resource and failure mode): replaying the same data, or the same fault recurring, pages
    no one, and each report says which feedback held the page (`foreshock silence list`
    shows it, `foreshock silence remove` undoes it). --wrong-root-cause records the real
    cause on the incident's newest report, where analysts, `foreshock ask` and the LLM
    enricher's "similar past incidents" see it.

    Examples:  foreshock feedback inc-3 --false-positive --note "load test"  ·
    foreshock feedback inc-4 --wrong-root-cause mysql-primary
    """
    from foreshock.cli.reports import _store
    from foreshock.cli.silence import _store as _silences

    if false_positive == (wrong_root_cause is not None):
        raise ConfigError("give exactly one of --false-positive or --wrong-root-cause RESOURCE")
    with closing(_store(home)) as store:
        report = store.get(incident_id)
        if report is None:
            raise UnknownNameError(f"no incident {incident_id!r} (try `foreshock reports list`)")
        if wrong_root_cause is not None:
            said = f"operator feedback: the root cause was {wrong_root_cause}" + (
                f" ({note})" if note else ""
            )
            store.put(
                report.model_copy(
                    update={
                        "summary": f"{report.summary} [{said}]",
                        "feedback": said,
                    }
                )
            )
            console.print(f"recorded on {plain(report.id)}: {plain(said)}")
            return
    with closing(_silences(home)) as silences:
        s = silences.add(
            math.inf,
            f"false positive (feedback on {report.incident_id})" + (f": {note}" if note else ""),
            resource=report.root_cause_resource,
            failure_mode=report.failure_mode,
        )
    console.print(f"added {plain(s.describe())}", highlight=False)
