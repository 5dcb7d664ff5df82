r"""What every ``foreshock`` command shares: consoles, options, JSON output, durations, settings.

Examples
--------
>>> parse_duration("15m"), parse_duration("90"), parse_duration("1w")
(900.0, 90.0, 604800.0)
>>> parse_duration("soon")
Traceback (most recent call last):
...
foreshock.schemas.errors.ConfigError: not a duration: 'soon' (use e.g. 90s, 15m, 2h, 7d, 1w)
>>> settings_for(detector="loda", packs=None, env={}).detector
'loda'
>>> plain("[red]redis[/red]\x1b[2J\x07 cache")
'\\[red]redis\\[/red] cache'
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from foreshock.pipelines.settings import Settings
from foreshock.schemas.errors import ConfigError

__all__ = [
    "DetectorOpt",
    "HomeOpt",
    "PacksOpt",
    "console",
    "err",
    "parse_duration",
    "plain",
    "print_json",
    "progress",
    "settings_for",
]

console = Console()
err = Console(stderr=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="State folder (reports.sqlite, alerts.jsonl, dead_letters.jsonl). "
        "Default: $FORESHOCK_HOME or ./.foreshock",
    ),
]
DetectorOpt = Annotated[
    str | None,
    typer.Option(
        "--detector",
        help="Detector of the detect stage: fleet (default), deep (breakouts, per series), "
        "hst, loda (setting: FORESHOCK_DETECTOR).",
    ),
]
PacksOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--packs",
        help="A folder of pack.yaml files added on top of the built-in packs (repeatable; "
        "setting: FORESHOCK_PACKS).",
    ),
]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"15m"``, ``"2h"``, ``"7d"`` or ``"1w"``.

    Raises
    ------
    ConfigError
        Not a finite, non-negative duration.
    """
    t = text.strip().lower()
    try:
        seconds = float(t[:-1]) * _UNITS[t[-1]] if t and t[-1] in _UNITS else float(t)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 7d, 1w)")
    return seconds


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """``text`` (data: a resource name, a log line) made safe to print with Rich: markup
    escaped, terminal escape sequences and control characters removed (newlines and tabs
    stay)."""
    return escape(_CONTROL.sub("", _ANSI.sub("", str(text))))


def settings_for(
    detector: str | None = None,
    packs: list[Path] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The settings (``foreshock.toml``, ``FORESHOCK_*``), with command-line options on top."""
    settings = Settings.load(env=os.environ if env is None else env, config="auto")
    update: dict[str, object] = {}
    if detector is not None:
        update["detector"] = detector
    if packs:
        update["packs"] = [*settings.packs, *packs]
    return settings.updated(**update) if update else settings


def print_json(obj: object) -> None:
    """One indented JSON document on stdout (numpy values allowed)."""
    sys.stdout.write(
        orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode()
    )
    sys.stdout.write("\n")


def progress(enabled: bool) -> Progress:
    """A progress bar on stderr (transient; off when ``enabled`` is false)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )


def detector_params(pairs: list[str] | None) -> dict[str, Any]:
    """Detector hyperparameters from ``--param NAME=VALUE`` options.

    A value is true/false, an int, else a float (``1e18``, ``inf``), else the text.

    >>> detector_params(["novelty=False", "warmup=3", "growth=1e18", "x=y"])
    {'novelty': False, 'warmup': 3, 'growth': 1e+18, 'x': 'y'}
    """
    return {name: _param_value(value) for name, _, value in (p.partition("=") for p in pairs or [])}


def _param_value(text: str) -> Any:
    """One ``--param`` value (see :func:`detector_params`)."""
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
