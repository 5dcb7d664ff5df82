"""Prometheus source: the series the packs care about, backfilled, then polled.

On start the source asks Prometheus which of the packs' metrics exist (one instant
query per selector group), discovers the topology from their labels
(:mod:`~foreshock.pipelines.sources.prom_topology`), then backfills ``backfill`` seconds with range
raw samples so the detectors start with baselines, and polls: every ``step`` it asks
for the samples between the last time it read and ``now - lag`` (the lag lets the
latest scrape land everywhere). Samples keep their scrape timestamps (one batch per
scrape time), so counters' rates are exact whatever the scrape jitter.

- **Selectors.** Every metric key of every pack, as written there
  (``node_cpu_seconds_total{mode="idle"}`` keeps its matcher); plain names go in one
  ``{__name__=~"a|b|…"}`` query, keys with matchers one query each; plus ``up`` (a target
  that cannot be scraped shows as ``up`` 0 on its resource).
- **Names.** A series becomes ``(resource, name{labels})`` with ``job``, ``instance`` and
  ``__name__`` dropped from the labels; ``resource`` comes from ``job``/``instance``.
- **Counters and resets** stay raw: the detect stage turns pack counters into rates with
  Prometheus' reset semantics. **Staleness and gaps**: a series Prometheus marks stale
  or did not scrape simply has no point at that step; nothing is invented.
- **Scrape errors**: a failing query is logged and retried at the next poll from the same
  start, so the gap is filled once Prometheus answers again (up to ``max_catch_up``).

Examples
--------
>>> from foreshock.packs.loader import PackIndex, load_packs
>>> sel = selectors(PackIndex(load_packs()))
>>> sel[0].startswith('{__name__=~"'), 'node_cpu_seconds_total{mode="idle"}' in sel
(True, True)
>>> series_name({"__name__": "pg_up", "job": "pg", "instance": "x:1", "db": "a"})
'pg_up{db="a"}'
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from foreshock.packs.loader import PackIndex
from foreshock.pipelines.sources.prom_topology import Discovery, discover
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology

__all__ = ["PrometheusSource", "QueryClient", "selectors", "series_name"]

log = logging.getLogger("foreshock.prometheus")

_DROP = ("__name__", "job", "instance")


class QueryClient(Protocol):
    """The call of ``prometheus_api_client.PrometheusConnect`` the source uses."""

    def custom_query(self, query: str, params: dict[str, Any] | None = None) -> Any: ...


def selectors(packs: PackIndex) -> list[str]:
    """PromQL selectors for every metric the packs name, and ``up``."""
    plain: set[str] = {"up"}
    matched: set[str] = set()
    for pack in packs.packs.values():
        if pack.kind == "logs":  # derived by the log stage, never in Prometheus
            continue
        keys = list(pack.metrics) + [p.limit for p in pack.capacity]
        for key in keys:
            (matched if "{" in key else plain).add(key)
    names = "|".join(sorted(plain))
    return [f'{{__name__=~"{names}"}}', *sorted(matched)]


def series_name(labels: Mapping[str, str]) -> str:
    """``name{a="x",b="y"}`` of one Prometheus series, without job and instance."""
    rest = sorted((k, v) for k, v in labels.items() if k not in _DROP)
    body = ",".join(f'{k}="{v}"' for k, v in rest)
    name = labels.get("__name__", "")
    return f"{name}{{{body}}}" if body else name


class PrometheusSource:
    """Metric batches from a Prometheus server, with topology discovery.

    Parameters
    ----------
    url
        Prometheus base URL, e.g. ``http://127.0.0.1:9090``.
    packs
        Which metrics matter (and their kinds, for discovery).
    user_topology
        What Prometheus cannot see (service → database edges, names).
    step
        Seconds between polls.
    backfill
        Seconds of history read on start.
    lag
        Seconds behind now the source stays, so every target's scrape has landed.
    client
        A ``PrometheusConnect`` (built from ``url`` by default).

    Examples
    --------
    >>> class Fake:
    ...     up = {"__name__": "redis_up", "job": "redis", "instance": "h:9121"}
    ...     def custom_query(self, query, params=None):
    ...         if "[" not in query:  # discovery: the series that exist now
    ...             return [{"metric": self.up, "value": [0, "1"]}]
    ...         return [{"metric": self.up, "values": [[101.2, "1"], [106.2, "0"]]}]
    >>> from foreshock.packs.loader import PackIndex, load_packs
    >>> src = PrometheusSource("http://x", PackIndex(load_packs()), client=Fake())
    >>> src.discover().topology.kinds()
    {'redis': 'redis'}
    >>> [(b.timestamp, b.resources, b.metrics, b.values) for b in src.fetch(100.0, 110.0)]
    [(101.2, ['redis'], ['redis_up'], [1.0]), (106.2, ['redis'], ['redis_up'], [0.0])]
    """

    def __init__(
        self,
        url: str,
        packs: PackIndex,
        user_topology: Topology | None = None,
        step: float = 5.0,
        backfill: float = 1800.0,
        lag: float = 10.0,
        client: QueryClient | None = None,
        max_catch_up: float = 3600.0,
        chunk: float = 600.0,
    ) -> None:
        self.url = url
        self.packs = packs
        self.user_topology = user_topology
        self.step = step
        self.backfill = backfill
        self.lag = lag
        self.max_catch_up = max_catch_up
        self.chunk = chunk
        if client is None:
            from prometheus_api_client import PrometheusConnect

            client = PrometheusConnect(url=url, disable_ssl=True, timeout=30)
        self.client: QueryClient = client
        self.selectors = selectors(packs)
        self.discovery: Discovery | None = None
        self.errors = 0

    # -- discovery -------------------------------------------------------------------------
    def discover(self) -> Discovery:
        """Ask which pack series exist now; build the topology and target map."""
        labels: list[dict[str, str]] = []
        for sel in self.selectors:
            for row in self.client.custom_query(sel) or []:
                labels.append(dict(row.get("metric", {})))
        self.discovery = discover(labels, self.packs, self.user_topology)
        return self.discovery

    # -- reading ---------------------------------------------------------------------------
    def fetch(self, start: float, end: float) -> list[MetricBatch]:
        """Every scrape in ``(start, end]``, as one batch per scrape timestamp.

        Raw samples (a range-vector selector at ``end``), not a ``query_range`` grid: a
        grid point picks the latest sample at or before it, so with the step equal to
        the scrape interval jitter makes two points pick one sample (a counter's rate
        reads 0, then double). Each target's scrape keeps its own time.
        """
        disc = self.discovery or self.discover()
        rows: dict[float, dict[tuple[str, str], float]] = defaultdict(dict)
        lo = start
        while lo < end:
            hi = min(end, lo + self.chunk)
            for sel in self.selectors:
                window = f"{sel}[{max(1, round(hi - lo))}s]"
                result = self.client.custom_query(window, params={"time": f"{hi:.3f}"})
                for series in result or []:
                    labels = series.get("metric", {})
                    resource = disc.resource_of(labels)
                    if resource is None:
                        continue
                    name = series_name(labels)
                    for ts, raw in series.get("values", []):
                        t, value = float(ts), float(raw)
                        if lo < t <= hi and math.isfinite(value):
                            rows[round(t, 3)][(resource, name)] = value
            lo = hi
        out = []
        for ts in sorted(rows):
            r = sorted(rows[ts].items())
            out.append(
                MetricBatch(
                    timestamp=ts,
                    resources=[k[0] for k, _ in r],
                    metrics=[k[1] for k, _ in r],
                    values=[v for _, v in r],
                )
            )
        return out

    async def stream(
        self,
        stop: Callable[[], bool] = lambda: False,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> AsyncIterator[MetricBatch]:
        """Backfill, then poll every ``step`` until ``stop()``; yields batches in order."""
        if self.discovery is None:
            self.discover()
        start = now() - self.lag - self.backfill  # exclusive: (start, end]
        while not stop():
            end = now() - self.lag
            start = max(start, end - self.max_catch_up)
            if end > start:
                try:
                    batches = await asyncio.to_thread(self.fetch, start, end)
                except Exception as exc:  # a failing Prometheus: retry from the same start
                    self.errors += 1
                    log.warning("prometheus query failed (%s); retrying", exc)
                    batches = None
                if batches is not None:
                    for b in batches:
                        yield b
                    start = end
            await sleep(self.step)
