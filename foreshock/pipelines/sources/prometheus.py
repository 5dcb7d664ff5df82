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
- **Bounds**: every request has a deadline (``timeout``) and a size cap (``max_bytes``),
  TLS certificates are verified (``verify_certs``, ``ca_file``), and credentials in the URL
  are masked in every message; see :mod:`~foreshock.pipelines.sources.prom_http`.
- **Stopping**: :meth:`PrometheusSource.stream` checks ``stop()`` while it waits and while
  a request is in flight, and cuts that request: it ends within a fraction of a second of
  ``stop()`` turning true, whatever the server does.

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
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import Any, Protocol, TypeVar

from foreshock.packs.loader import PackIndex
from foreshock.pipelines.sources.prom_http import PrometheusCancelled, PrometheusHTTP
from foreshock.pipelines.sources.prom_topology import Discovery, discover
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology
from foreshock.schemas.urls import mask_url, mask_urls_in

__all__ = ["PrometheusSource", "QueryClient", "selectors", "series_name"]

log = logging.getLogger("foreshock.prometheus")

_DROP = ("__name__", "job", "instance")
_TICK = 0.1  # seconds between looks at stop() while waiting
T = TypeVar("T")


class QueryClient(Protocol):
    """What the source calls: one instant query, its ``data.result`` (a list of series).

    :class:`~foreshock.pipelines.sources.prom_http.PrometheusHTTP` by default; tests pass
    a scripted one.
    """

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
        The query client (a :class:`PrometheusHTTP` on ``url`` by default, built with the
        four settings below).
    timeout
        Seconds any one request may take, all included (``prometheus_timeout``).
    max_bytes
        Largest response read (``prometheus_max_bytes``).
    verify_certs
        Verify an ``https://`` server's certificate (``prometheus_verify_certs``).
    ca_file
        CA certificate (PEM) of a private CA (``prometheus_ca_file``).

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
        timeout: float = 10.0,
        max_bytes: int = 64 << 20,
        verify_certs: bool = True,
        ca_file: str | None = None,
    ) -> None:
        self.url = url
        self.shown_url = mask_url(url)
        self.packs = packs
        self.user_topology = user_topology
        self.step = step
        self.backfill = backfill
        self.lag = lag
        self.max_catch_up = max_catch_up
        self.chunk = chunk
        self._cancel = threading.Event()  # set: the request in flight is cut
        if client is None:
            client = PrometheusHTTP(
                url,
                timeout=timeout,
                max_bytes=max_bytes,
                verify=verify_certs,
                ca_file=ca_file,
                cancel=self._cancel,
            )
        self.client: QueryClient = client
        self.selectors = selectors(packs)
        self.discovery: Discovery | None = None
        self.errors = 0
        self.last_error: str | None = None

    def _query(self, query: str, params: dict[str, Any] | None = None) -> Any:
        if self._cancel.is_set():
            raise PrometheusCancelled(self.shown_url, "stopped between queries")
        return self.client.custom_query(query, params)

    # -- discovery -------------------------------------------------------------------------
    def discover(self) -> Discovery:
        """Ask which pack series exist now; build the topology and target map."""
        labels: list[dict[str, str]] = []
        for sel in self.selectors:
            for row in self._query(sel) or []:
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
                result = self._query(window, {"time": f"{hi:.3f}"})
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

    async def cut_at_stop(self, call: Callable[[], T], stop: Callable[[], bool]) -> T:
        """``call()`` (a :meth:`fetch`, a :meth:`discover`) in a worker thread, watching
        ``stop()`` meanwhile: when it turns true the request in flight is cut and
        :class:`~foreshock.pipelines.sources.prom_http.PrometheusCancelled` is raised
        (within about 0.1 s with the default client; a scripted client is stopped between
        queries). ``stop`` is only called on the event loop's thread.
        """
        self._cancel.clear()
        task = asyncio.ensure_future(asyncio.to_thread(call))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_TICK)
                if done:
                    return await task
                if stop():
                    self._cancel.set()
        finally:
            if task.done():
                self._cancel.clear()  # later direct calls (fetch, discover) are not cut
            else:  # we were cancelled (Ctrl-C): cut the request rather than wait for it
                self._cancel.set()

    async def stream(
        self,
        stop: Callable[[], bool] = lambda: False,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> AsyncIterator[MetricBatch]:
        """Backfill, then poll every ``step`` until ``stop()``; yields batches in order.

        ``stop()`` is checked at least every 0.1 s, also while a request is in flight (which
        is then cut): the stream ends promptly, whatever Prometheus does.
        """
        try:
            if self.discovery is None:
                await self.cut_at_stop(self.discover, stop)
            start = now() - self.lag - self.backfill  # exclusive: (start, end]
            while not stop():
                end = now() - self.lag
                start = max(start, end - self.max_catch_up)
                if end > start:
                    try:
                        batches = await self.cut_at_stop(partial(self.fetch, start, end), stop)
                    except PrometheusCancelled:
                        return
                    except Exception as exc:  # a failing Prometheus: retry from the same start
                        self.errors += 1
                        self.last_error = mask_urls_in(str(exc))
                        log.warning("%s; retrying at the next poll", self.last_error)
                        batches = None
                    if batches is not None:
                        for b in batches:
                            yield b
                        start = end
                waited = 0.0
                while waited < self.step and not stop():
                    pause = min(_TICK, self.step - waited)
                    await sleep(pause)
                    waited += pause
        except PrometheusCancelled:
            return
