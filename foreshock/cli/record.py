"""``foreshock record``: a window of a live Prometheus, written as a replay folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from foreshock.cli.common import (
    PacksOpt,
    console,
    err,
    parse_duration,
    plain,
    progress,
    settings_for,
)
from foreshock.schemas.errors import ConfigError

__all__ = ["record"]


def _when(text: str) -> float:
    from foreshock.pipelines.runtimes.score import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise ConfigError(f"not a time: {text!r} (epoch seconds or ISO-8601)") from None


def record(
    prometheus: Annotated[str, typer.Option(help="Prometheus URL to read from.")],
    out: Annotated[Path, typer.Option(help="Replay folder to write.")],
    last: Annotated[
        str | None, typer.Option(help="The window ending now, e.g. 30m (or --start/--end).")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Window start: epoch seconds or ISO-8601 (UTC if no zone).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Window end (default: now).")] = None,
    topology: Annotated[
        Path | None, typer.Option(help="Topology YAML merged with what Prometheus shows.")
    ] = None,
    packs: PacksOpt = None,
) -> None:
    """Write a window of Prometheus' history as a replay folder (metrics.csv, topology.yaml).

    The samples are the ones the live runtime reads, bit for bit, so `foreshock run
    --replay OUT` finds offline what `foreshock run --prometheus` found on that window.
    Requests are bounded and verified as in `foreshock run --prometheus` (settings
    prometheus_timeout, prometheus_max_bytes, prometheus_verify_certs, prometheus_ca_file).
    Examples:  foreshock record --prometheus http://127.0.0.1:9090 --last 1h --out /tmp/w  ·
    foreshock record --prometheus URL --start 2026-12-04T08:00 --end 2026-12-04T09:00 --out w
    """
    from foreshock.cli.live import prometheus_source
    from foreshock.pipelines.sources.record import write_replay
    from foreshock.pipelines.sources.replay import read_topology

    now = time.time()
    hi = _when(end) if end else now
    if last is not None:
        if start is not None:
            raise ConfigError("give --last or --start, not both")
        lo = hi - parse_duration(last)
    elif start is not None:
        lo = _when(start)
    else:
        raise ConfigError("give the window: --last 30m, or --start (and --end)")
    if lo >= hi:
        raise ConfigError(f"the window is empty: start {lo} is not before end {hi}")
    settings = settings_for(packs=packs)
    user = read_topology(topology) if topology else None
    source = prometheus_source(prometheus, settings, user)  # failures: one PrometheusError line
    with progress(err.is_terminal) as bar:
        task = bar.add_task("reading Prometheus", total=None)
        disc = source.discover()
        batches = source.fetch(lo, hi)
        bar.update(task, completed=1, total=1)
    samples = write_replay(out, batches, disc.topology)
    console.print(
        f"wrote {plain(out)}: {len(batches)} scrapes, {samples:,} samples of "
        f"{len(disc.topology.nodes)} resources ({hi - lo:.0f} s)"
    )
