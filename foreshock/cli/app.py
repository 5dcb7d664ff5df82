"""The ``foreshock`` command line: one Typer app, its commands in the modules beside this one.

Every command has ``--help`` with examples. Exit codes: 0 success, 1 a foreshock error
(bad input, unknown name: the message says what to fix), 2 a usage error.
"""

from __future__ import annotations

import typer

from foreshock.cli.ask import ask
from foreshock.cli.bench import bench_app
from foreshock.cli.common import err, plain
from foreshock.cli.config import config_app, schemas_app
from foreshock.cli.distributed import publish, worker
from foreshock.cli.eval import eval_app
from foreshock.cli.eval_knowledge import knowledge
from foreshock.cli.eval_labelled import nezha, petshop, replays
from foreshock.cli.feedback import feedback
from foreshock.cli.forecast import forecast
from foreshock.cli.graph import graph_app
from foreshock.cli.logs import logs_app
from foreshock.cli.record import record
from foreshock.cli.reports import reports_app
from foreshock.cli.run import demo, run, score, simulate
from foreshock.cli.silence import silence_app
from foreshock.schemas.errors import ForeshockError

app = typer.Typer(
    name="foreshock",
    help=(
        "foreshock: online anomaly detection, graph root cause, reports and pages for "
        "middleware fleets (MySQL/MariaDB, Redis, Kafka, PostgreSQL, OpenSearch).\n\n"
        "Start with:  foreshock demo   (a simulated fleet, one fault, the whole pipeline)"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
for command in (demo, simulate, run, score, forecast, record, worker, publish, ask, feedback):
    app.command()(command)
app.add_typer(schemas_app, name="schemas")
app.add_typer(bench_app, name="bench")
app.add_typer(reports_app, name="reports")
app.add_typer(silence_app, name="silence")
app.add_typer(eval_app, name="eval")  # with the labelled-data commands:
_LABELLED = (replays, petshop, nezha, knowledge)  # registered on eval_app by their module
app.add_typer(graph_app, name="graph")
app.add_typer(logs_app, name="logs")
app.add_typer(config_app, name="config")


def main() -> None:
    """Console-script entry point: foreshock errors become one clear line and exit code 1."""
    try:
        app()
    except ForeshockError as exc:
        err.print(f"[red]error:[/red] {plain(exc)}", soft_wrap=True, highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
