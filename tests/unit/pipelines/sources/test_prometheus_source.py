"""Prometheus source and topology discovery, against a scripted query client."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.sources.prom_topology import discover
from foreshock.pipelines.sources.prometheus import PrometheusSource
from foreshock.schemas.topology import Topology

PACKS = PackIndex(load_packs())
REDIS = {"__name__": "redis_memory_used_bytes", "job": "redis", "instance": "10.0.0.2:9121"}
NODE_A = {"__name__": "node_load1", "job": "node", "instance": "10.0.0.2:9100", "nodename": "a"}
NODE_B = {"__name__": "node_load1", "job": "node", "instance": "10.0.0.3:9100", "nodename": "b"}
MYSQL_REPLICA = {
    "__name__": "mysql_slave_status_seconds_behind_master",
    "job": "mysql",
    "instance": "10.0.0.3:9104",
    "master_host": "10.0.0.4",
}
MYSQL_PRIMARY = {"__name__": "mysql_up", "job": "mysql", "instance": "10.0.0.4:9104"}
UNKNOWN = {"__name__": "go_goroutines", "job": "random", "instance": "10.0.0.9:1"}


class Scripted:
    """Answers like Prometheus: series per selector; raw samples every 5 s (+0.3 s offset)."""

    def __init__(self, series: list[dict[str, str]], value: Any = None) -> None:
        self.series = series
        self.value = value or (lambda labels, t: 1.0)
        self.fail = 0
        self.windows: list[tuple[float, float]] = []

    def _matching(self, query: str) -> list[dict[str, str]]:
        query = query.split("[")[0]
        if query.startswith('{__name__=~"'):
            names = set(query[len('{__name__=~"') : -2].split("|"))
            return [s for s in self.series if s["__name__"] in names]
        return [s for s in self.series if query.split("{")[0] == s["__name__"]]

    def custom_query(self, query: str, params: dict[str, Any] | None = None) -> Any:
        if "[" not in query:  # discovery
            return [{"metric": s, "value": [0, "1"]} for s in self._matching(query)]
        if self.fail:
            self.fail -= 1
            raise ConnectionError("prometheus down")
        hi = float((params or {})["time"])
        lo = hi - float(query[query.rindex("[") + 1 : -2])
        self.windows.append((lo, hi))
        first = 5.0 * math.floor(lo / 5.0) + 0.3
        times = [t for k in range(int((hi - lo) / 5.0) + 3) if lo < (t := first + 5.0 * k) <= hi]
        out = []
        for s in self._matching(query):
            vals = [[t, str(v)] for t in times if (v := self.value(s, t)) is not None]
            out.append({"metric": s, "values": vals})
        return out


def test_discovery_names_kinds_hosts_and_replication() -> None:
    d = discover([REDIS, NODE_A, NODE_B, MYSQL_REPLICA, MYSQL_PRIMARY, UNKNOWN], PACKS)
    kinds = d.topology.kinds()
    assert kinds["redis"] == "redis" and kinds["a"] == "host" and kinds["b"] == "host"
    assert "random" not in kinds  # a target no pack knows is not a resource
    edges = {(e.source, e.target, e.type) for e in d.topology.edges}
    assert ("redis", "a", "runs_on") in edges  # same address as host a
    mysql = {r for r, k in kinds.items() if k == "mysql"}
    assert mysql == {"mysql-10.0.0.3", "mysql-10.0.0.4"}  # two instances of one job
    assert ("mysql-10.0.0.4", "mysql-10.0.0.3", "replicates_to") in edges
    assert ("mysql-10.0.0.3", "b", "runs_on") in edges


def test_user_topology_names_resources_and_adds_what_cannot_be_seen() -> None:
    user = Topology.model_validate(
        {
            "nodes": [
                {"id": "cache", "kind": "redis", "prometheus": {"instance": "10.0.0.2:9121"}},
                {"id": "shop", "kind": "service"},
            ],
            "edges": [{"from": "shop", "to": "cache"}],
        }
    )
    d = discover([REDIS, NODE_A], PACKS, user)
    assert d.resource_of(REDIS) == "cache"
    edges = {(e.source, e.target, e.type) for e in d.topology.edges}
    assert ("shop", "cache", "depends_on") in edges
    assert ("cache", "a", "runs_on") in edges and ("shop", "a", "runs_on") in edges


def test_fetch_groups_points_by_time_and_keeps_counters_raw() -> None:
    counter = {"__name__": "redis_evicted_keys_total", "job": "redis", "instance": "10.0.0.2:9121"}
    values = {0.3: 100.0, 5.3: 110.0, 10.3: 3.0, 15.3: None}  # reset at 10.3, gap at 15.3

    def value(s: dict[str, str], t: float) -> float | None:
        return values.get(round(t, 1)) if "evicted" in s["__name__"] else 7.0

    src = PrometheusSource("http://p", PACKS, client=Scripted([REDIS, counter], value))
    batches = src.fetch(0.0, 16.0)
    assert [b.timestamp for b in batches] == [0.3, 5.3, 10.3, 15.3]  # scrape times kept
    evicted = [
        dict(zip(b.metrics, b.values, strict=True)).get("redis_evicted_keys_total") for b in batches
    ]
    assert evicted == [100.0, 110.0, 3.0, None]  # raw: the detect stage handles resets
    # long ranges are read in chunks, each sample once
    chunked = PrometheusSource("http://p", PACKS, client=Scripted([REDIS]), chunk=60.0)
    times = [b.timestamp for b in chunked.fetch(0.0, 300.0)]
    assert times == [0.3 + 5.0 * k for k in range(60)]
    assert all(b.resources[0] == "redis" for b in batches)


def test_stream_backfills_then_polls_and_retries_a_failing_prometheus() -> None:
    client = Scripted([REDIS])
    clock = {"now": 1000.0}
    src = PrometheusSource("http://p", PACKS, client=client, step=5.0, backfill=60.0, lag=10.0)
    got: list[float] = []
    armed: list[bool] = []

    async def sleep(s: float) -> None:
        clock["now"] += s
        if len(got) == 12 and not armed:  # after the backfill, Prometheus fails twice
            armed.append(True)
            client.fail = 2

    async def collect() -> None:
        async for b in src.stream(lambda: clock["now"] > 1100.0, lambda: clock["now"], sleep):
            got.append(b.timestamp)

    asyncio.run(collect())
    assert got[0] == 930.3 and got[11] == 985.3  # backfill: 60 s before now - lag
    # in order, each scrape once, and the failures left no gap
    assert got == [930.3 + 5.0 * i for i in range(len(got))]
    assert got[-1] >= 1080.0 and src.errors == 2


def test_discovery_with_nothing_known_finds_no_target() -> None:
    src = PrometheusSource("http://p", PACKS, client=Scripted([UNKNOWN]))
    assert src.discover().targets == {}


def test_series_without_a_job_label_are_ignored() -> None:
    assert discover([{"__name__": "redis_up", "instance": "h:1"}], PACKS).targets == {}
