"""``foreshock config show`` and ``foreshock schemas export``: settings, record schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from foreshock.cli.common import console, plain, print_json

config_app = typer.Typer(
    help="Settings (env FORESHOCK_* and foreshock.toml).", no_args_is_help=True
)
schemas_app = typer.Typer(help="Typed records of every stage boundary.", no_args_is_help=True)


@config_app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective settings (secrets masked) and where they come from."""
    from foreshock.pipelines.settings import Settings

    s = _mask_addresses(Settings.load().masked())
    if as_json:
        print_json(s)
        return
    from rich.table import Table

    t = Table(title="foreshock settings (defaults < foreshock.toml < FORESHOCK_* env)")
    t.add_column("setting")
    t.add_column("value")
    t.add_column("env var")
    for k, v in s.items():
        t.add_row(plain(k), plain(v), plain(f"FORESHOCK_{k.upper()}"))
    console.print(t)


def _mask_addresses(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with credentials inside URLs masked (``http://user:****@host``):
    ``opensearch_url``, ``neo4j_uri``, ``kafka_bootstrap`` and any other ``*_url`` /
    ``*_uri`` / ``*_bootstrap`` setting (passwords of their own are masked by
    :meth:`~foreshock.pipelines.settings.Settings.masked`).

    >>> _mask_addresses({"neo4j_uri": "neo4j+s://neo4j:pw@g:7687", "home": "a:b@c"})
    {'neo4j_uri': 'neo4j+s://neo4j:****@g:7687', 'home': 'a:b@c'}
    """
    from foreshock.schemas.urls import mask_url

    return {
        k: mask_url(v) if isinstance(v, str) and k.endswith(("_url", "_uri", "_bootstrap")) else v
        for k, v in settings.items()
    }


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write into.")],
) -> None:
    """Write <Record>.schema.json (JSON Schema) for every record type."""
    from foreshock.schemas.export import export_schemas

    for p in export_schemas(directory):
        console.print(plain(p), highlight=False)
