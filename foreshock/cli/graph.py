"""``foreshock graph``: the dependency graph and incident history in Neo4j.

The server comes from :class:`foreshock.pipelines.settings.Settings` (``neo4j_uri``, ``neo4j_user``,
``neo4j_password``, ``neo4j_database``, ``neo4j_ca_file``; ``FORESHOCK_NEO4J_*`` variables).
When it does not answer, rejects the credentials or shows a certificate that is not trusted,
every command fails with one line that says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from foreshock.cli.common import plain
from foreshock.schemas.errors import UnknownNameError

if TYPE_CHECKING:
    from foreshock.graph.backends.neo4j_graph import Neo4jGraph

graph_app = typer.Typer(
    help="Dependency graph and incident history in Neo4j (load, show, past incidents).",
    no_args_is_help=True,
)
console = Console()


def _connect() -> Neo4jGraph:
    from foreshock.graph.backends.neo4j_graph import Neo4jGraph
    from foreshock.pipelines.settings import Settings

    settings = Settings.load()
    return Neo4jGraph.connect(
        settings.neo4j_uri,
        settings.neo4j_user,
        settings.neo4j_password,
        settings.neo4j_database,
        ca_file=settings.neo4j_ca_file,
    )


@graph_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="topology.yaml, or a replay folder with one.")],
) -> None:
    """Upsert a topology into Neo4j (loading the same file twice changes nothing).

    Example:  foreshock graph load /tmp/r4   (a replay folder, or its topology.yaml)
    """
    from foreshock.pipelines.sources.replay import read_topology

    topology = read_topology(file)
    with _connect() as graph:
        graph.load(topology)
        resources, dependencies = graph.counts()
        uri = graph.uri
    console.print(
        f"loaded {len(topology.nodes)} nodes and {len(topology.edges)} edges from "
        f"{plain(file)} into {plain(uri)}: the graph holds {resources} resources and "
        f"{dependencies} dependencies",
        highlight=False,
    )


@graph_app.command("incidents")
def incidents(
    resource: Annotated[str, typer.Argument(help="Resource id, e.g. redis-cache.")],
    limit: Annotated[
        int, typer.Option(help="How many, newest first (1 to 10,000).", min=1, max=10_000)
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead.")] = False,
) -> None:
    """Past incidents that touched a resource, newest first, with root cause and failure mode.

    Example:  foreshock graph incidents mysql-primary --limit 5 --json
    """
    from foreshock.enrichers.narrator import clock

    with _connect() as graph:
        past = graph.history().past_incidents(resource, limit=limit)
    if as_json:
        data = [p.model_dump() for p in past]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not past:
        console.print(f"no past incident touched {plain(resource)}")
        return
    t = Table(title=f"past incidents touching {plain(resource)}")
    for c in ("incident", "opened", "status", "root cause", "failure mode", "score"):
        t.add_column(c, no_wrap=c in ("incident", "opened"))
    t.add_column("resources", overflow="fold")
    for p in past:
        score = f"{p.root_cause_score:.3f}" if p.root_cause_score is not None else ""
        t.add_row(
            plain(p.id),
            clock(p.opened_at),
            plain(f"{p.status} (v{p.version})"),
            plain(p.root_cause or ""),
            plain(p.failure_mode or ""),
            score,
            plain(", ".join(p.resources)),
        )
    console.print(t)


@graph_app.command("show")
def show(resource: Annotated[str, typer.Argument(help="Resource id, e.g. orders.")]) -> None:
    """A resource's kind, its dependencies and its dependents (direct, then transitive).

    Example:  foreshock graph show redis-cache
    """
    with _connect() as graph:
        if resource not in graph.nodes():
            raise UnknownNameError(
                f"no resource {resource!r} in the graph at {graph.uri} "
                "(load one first: foreshock graph load topology.yaml)"
            )
        kind = graph.kind(resource)
        deps, dependents = graph.edges_of(resource)
        upstream, downstream = graph.upstream(resource), graph.downstream(resource)
        hosts = graph.hosts_of(resource)
    direct_up = {d.dependency for d in deps}
    direct_down = {d.dependent for d in dependents}
    console.print(
        f"[b]{plain(resource)}[/b] ({plain(kind)})"
        + (f" on {plain(', '.join(sorted(hosts)))}" if hosts else "")
    )
    console.print(f"depends on ({len(upstream)}):")
    for d in deps:
        console.print(f"  {plain(d.dependency)}  [dim]{plain(d.type)}[/dim]")
    for r in sorted(upstream - direct_up):
        console.print(f"  {plain(r)}  [dim]transitive[/dim]")
    console.print(f"depended on by ({len(downstream)}):")
    for d in dependents:
        console.print(f"  {plain(d.dependent)}  [dim]{plain(d.type)}[/dim]")
    for r in sorted(downstream - direct_down):
        console.print(f"  {plain(r)}  [dim]transitive[/dim]")
