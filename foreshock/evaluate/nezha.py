"""Nezha OnlineBoutique root-cause data as replay folders (``foreshock eval nezha``).

The Nezha data (Yu et al., FSE 2023) holds, per day, one-minute metrics of every pod of
the OnlineBoutique demo (``metric/<service>-<pod>_metric.csv``), the frontend's
service-level success rate and latency (``front_service.csv``), the call graph
(``dependency.csv``: ``Source`` calls ``Target``; a target that is an IP address is the
Kubernetes node the source runs on), and the faults injected that day
(``<day>-fault_list.json``: ``inject_time``, ``inject_pod``, ``inject_type``). Faults follow
each other every ~8 minutes; the hours after the last one are fault-free.

One day becomes one replay. A pipeline replaying the day in order would meet the first
fault with two minutes of history, so the fault-free stretch (from :data:`SETTLE` after the
last fault to the end of the day) is **re-timed to come first**: one day earlier, so that
each sample keeps its time of day and the stretch ends hours before the day's first
sample, as if the collector had been down overnight; the faults follow in their own time.
The re-timed stretch is the ``normal`` window of the truth (its incidents are false ones).
Each fault's window runs from its injection to the next one (at most
:data:`FAULT_WINDOW`); its root cause is the injected pod's service.

Metrics, under the service and host packs' names:

- ``CpuUsageRate(%)`` → ``container_cpu_usage_percent``; ``MemoryUsageRate(%)`` →
  ``container_memory_usage_percent``
- ``PodServerLatencyP99(s)`` → ``request_latency_seconds{stat="p99"}`` (P90, P95 alike);
  ``PodClientLatency…`` → ``client_latency_seconds{…}``
- ``PodWorkload(Ops)`` → the counter ``http_requests_total`` (operations per second × step)
- ``NetworkReceiveBytes``/``NetworkTransmitBytes`` → ``container_network_*_bytes_rate``;
  ``SyscallRead``/``SyscallWrite`` → ``container_syscalls_rate{op="read"|"write"}``
- ``Node…`` → the node (host) the pod runs on: ``node_cpu_usage_percent``,
  ``node_memory_usage_percent``, ``node_network_receive_bytes_rate`` (once per node)
- ``front_service.csv`` → the frontend's ``request_latency_seconds{stat="p50",scope="service"}``
  and ``request_errors_percent`` (100 − success rate)
- ``source_50.csv`` / ``destination_50.csv`` (per call edge ``caller_callee``, the median
  request time as the caller / the callee measures it, aggregated from traces as a service
  mesh's metrics are) → the *callee*'s
  ``request_latency_seconds{stat="p50",caller="…",reporter="source"|"destination"}``

``CpuUsage(m)`` and ``MemoryUsage(Mi)`` repeat the rates; ``PodSuccessRate(%)`` is zero
throughout the published files: they are left out. A column this list does not know (another
system's files may carry more) is kept under its own name written in snake case, its unit
and statistic as words (``PodLatencyAvg(ms)`` → ``pod_latency_ms_avg``): what it measures is
then read from those words (:mod:`foreshock.packs.naming`), not dropped.

The service-level file names its service (``ServiceName``); the calls of the per-edge files
are ``<caller>_<callee>`` split where both sides are services of the day (names may hold
``_``). Without a ``ServiceName`` that is a service, the service-level series go to the
entry service: the one service that no other calls.

Examples
--------
>>> service_of("productcatalogservice-668d5f85fb-wckp8")
'productcatalogservice'
>>> minute("2022-08-22 03:51:19.607158889 +0000 UTC m=+0.113112869")
1661140260.0
>>> column_name("PodLatencyAvg(ms)"), column_name("NodeDiskUsageRate(%)")
('pod_latency_ms_avg', 'node_disk_usage_rate_percent')
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml

from foreshock.schemas.errors import SchemaError

__all__ = ["SETTLE", "build_day", "column_name", "days", "epoch", "minute", "service_of"]

#: After the last fault, this long is left out before the fault-free stretch begins.
SETTLE = 600.0
#: A fault's window when no other fault follows it.
FAULT_WINDOW = 480.0

_POD = re.compile(r"^(?P<svc>.+?)-[0-9a-f]{6,10}-[0-9a-z]{5}$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")

_POD_METRICS = {
    "CpuUsageRate(%)": "container_cpu_usage_percent",
    "MemoryUsageRate(%)": "container_memory_usage_percent",
    "SyscallRead": 'container_syscalls_rate{op="read"}',
    "SyscallWrite": 'container_syscalls_rate{op="write"}',
    "NetworkReceiveBytes": "container_network_receive_bytes_rate",
    "NetworkTransmitBytes": "container_network_transmit_bytes_rate",
    "PodServerLatencyP90(s)": 'request_latency_seconds{stat="p90"}',
    "PodServerLatencyP95(s)": 'request_latency_seconds{stat="p95"}',
    "PodServerLatencyP99(s)": 'request_latency_seconds{stat="p99"}',
    "PodClientLatencyP90(s)": 'client_latency_seconds{stat="p90"}',
    "PodClientLatencyP95(s)": 'client_latency_seconds{stat="p95"}',
    "PodClientLatencyP99(s)": 'client_latency_seconds{stat="p99"}',
}
_NODE_METRICS = {
    "NodeCpuUsageRate(%)": "node_cpu_usage_percent",
    "NodeMemoryUsageRate(%)": "node_memory_usage_percent",
    "NodeNetworkReceiveBytes": "node_network_receive_bytes_rate",
}
_FRONT_METRICS = {
    "LatencyP50(s)": 'request_latency_seconds{stat="p50",scope="service"}',
    "LatencyP90(s)": 'request_latency_seconds{stat="p90",scope="service"}',
    "LatencyP95(s)": 'request_latency_seconds{stat="p95",scope="service"}',
    "LatencyP99(s)": 'request_latency_seconds{stat="p99",scope="service"}',
}


#: Columns read otherwise (names, the workload) or left out (see above).
_NOT_SERIES = frozenset(
    {
        "PodName",
        "ServiceName",
        "PodWorkload(Ops)",
        "CpuUsage(m)",
        "MemoryUsage(Mi)",
        "PodSuccessRate(%)",
        "SuccessRate(%)",
    }
)
_UNIT_WORDS = {"s": "seconds", "%": "percent", "ms": "ms", "us": "us", "mi": "mib"}
_STAT_WORD = re.compile(r"^(p\d{2,3}|avg|mean|median)$")


def column_name(column: str) -> str:
    """A metric name for a column no mapping knows: snake case, unit then statistic last."""
    head, _, unit = column.partition("(")
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", head)
    words = [w.lower() for w in words]
    stat = words.pop() if len(words) > 1 and _STAT_WORD.match(words[-1]) else None
    unit = unit.rstrip(")").strip().lower()
    if unit:
        words.append(_UNIT_WORDS.get(unit, re.sub(r"[^a-z0-9]+", "_", unit).strip("_")))
    if stat:
        words.append(stat)
    return "_".join(w for w in words if w)


#: Columns that number rows or name times, whatever their case: not measurements (an index
#: written by a data-frame library, ``Unnamed: 0``, rises by one a row forever).
_ROW_KEYS = re.compile(r"^(unnamed.*|index|id|time|timestamp|date|datetime)$", re.IGNORECASE)


def _extra(row: dict[str, str], known: dict[str, str], node: bool) -> Iterator[tuple[str, float]]:
    """(name, value) of the numeric columns of ``row`` no mapping knows (node's or pod's)."""
    for col, cell in row.items():
        if (
            not col
            or col in known
            or col in _NOT_SERIES
            or col.startswith("Node") != node
            or _ROW_KEYS.match(col.strip())
        ):
            continue
        v = _num(cell)
        if math.isfinite(v):
            yield column_name(col), v


def service_of(pod: str) -> str:
    """The service of a Kubernetes pod name (``<deployment>-<replicaset>-<pod>``)."""
    m = _POD.match(pod)
    return m.group("svc") if m else pod


def epoch(text: str) -> float:
    """Epoch seconds of a Nezha time (``YYYY-mm-dd HH:MM:SS``, anything after ignored; UTC)."""
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def minute(text: str) -> float:
    """Epoch seconds of a Nezha ``Time`` cell, floored to the minute (UTC)."""
    return float(int(epoch(text)) // 60 * 60)


def _num(text: str | None) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def days(data: Path) -> list[Path]:
    """Day folders (``<day>/metric`` and ``<day>/<day>-fault_list.json``) under ``data``."""
    base = data / "rca_data" if (data / "rca_data").is_dir() else data
    found = sorted(p.parent for p in base.glob("*/metric") if p.is_dir())
    if not found:
        raise SchemaError(f"{data}: no Nezha day folder (<day>/metric/) here")
    return found


Row = tuple[float, str, str, float]


def _day_rows(day: Path) -> tuple[list[Row], list[tuple[str, str]]]:
    """(time, resource, metric, value) rows of one day, unsorted; and the edges."""
    metric = day / "metric"
    host_of: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    with (metric / "dependency.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            src, dst = row.get("Source", ""), row.get("Target", "")
            if not src or not dst or src == "loadgenerator":
                continue
            if _IP.match(dst):
                host_of.setdefault(src, f"node-{dst}")
            edges.append((src, f"node-{dst}" if _IP.match(dst) else dst))
    rows: list[Row] = []
    hosts_done: set[tuple[str, float]] = set()
    for path in sorted(metric.glob("*_metric.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                pod = row.get("PodName") or path.name.rsplit("_", 1)[0]
                svc = service_of(pod)
                t = minute(row["Time"])
                for col, name in _POD_METRICS.items():
                    v = _num(row.get(col))
                    if math.isfinite(v):
                        rows.append((t, svc, name, v))
                rows += [(t, svc, n, v) for n, v in _extra(row, _POD_METRICS, node=False)]
                ops = _num(row.get("PodWorkload(Ops)"))
                if math.isfinite(ops):
                    rows.append((t, svc, "@ops", ops))
                host = host_of.get(svc)
                if host and (host, t) not in hosts_done:
                    hosts_done.add((host, t))
                    for col, name in _NODE_METRICS.items():
                        v = _num(row.get(col))
                        if math.isfinite(v):
                            rows.append((t, host, name, v))
                    rows += [(t, host, n, v) for n, v in _extra(row, _NODE_METRICS, node=True)]
    services = {r[1] for r in rows if not r[1].startswith("node-")}
    rows += _edge_rows(metric, services)
    front = metric / "front_service.csv"
    if front.is_file():
        entry: dict[str, str] = {}  # the service each ServiceName stands for
        with front.open(newline="") as fh:
            for row in csv.DictReader(fh):
                t = minute(row["Time"])
                named = row.get("ServiceName", "")
                if named not in entry:
                    entry[named] = _entry_service(named, services, edges)
                svc = entry[named]
                for col, name in _FRONT_METRICS.items():
                    v = _num(row.get(col))
                    if math.isfinite(v):
                        rows.append((t, svc, name, v))
                sr = _num(row.get("SuccessRate(%)"))
                if math.isfinite(sr):
                    rows.append((t, svc, "request_errors_percent", 100.0 - sr))
    return rows, edges


def _entry_service(named: str, services: set[str], edges: list[tuple[str, str]]) -> str:
    """The service a service-level row is about: the one it names (any case), else the one
    service no other service calls (the entry of the call graph), else ``frontend``."""
    by_lower = {s.lower(): s for s in services}
    if named.strip().lower() in by_lower:
        return by_lower[named.strip().lower()]
    called = {b for _, b in edges}
    roots = sorted({a for a, _ in edges if a in services and a not in called})
    return roots[0] if len(roots) == 1 else "frontend"


def _split_call(column: str, services: set[str]) -> tuple[str, str] | None:
    """``(caller, callee)`` of a per-edge column ``<caller>_<callee>``: the split at an
    ``_`` where both sides are services of the day, else at the first ``_``."""
    cuts = [i for i, ch in enumerate(column) if ch == "_"]
    for i in cuts:
        if column[:i] in services and column[i + 1 :] in services:
            return column[:i], column[i + 1 :]
    return (column[: cuts[0]], column[cuts[0] + 1 :]) if cuts else None


def _edge_rows(metric: Path, services: set[str]) -> list[Row]:
    """Per-call-edge median request times (``source_50.csv``: as the caller measures them,
    ``destination_50.csv``: as the callee does), as request times of the *callee* labelled
    by caller and reporter — a service mesh's view of a service (Istio's request duration by
    source and destination). A delay on the network into a service shows on its callers'
    side of these edges while the service's own series stay flat."""
    rows: list[Row] = []
    for name, reporter in (("source_50.csv", "source"), ("destination_50.csv", "destination")):
        path = metric / name
        if not path.is_file():
            continue
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                t = minute(row["time"])
                for col, cell in row.items():
                    call = None if _ROW_KEYS.match(col) else _split_call(col, services)
                    if call is None:
                        continue
                    caller, callee = call
                    v = _num(cell)
                    if math.isfinite(v):
                        metric_name = (
                            f'request_latency_seconds{{stat="p50",caller="{caller}",'
                            f'reporter="{reporter}"}}'
                        )
                        rows.append((t, callee, metric_name, v))
    return rows


def _faults(day: Path) -> list[dict[str, str]]:
    lists = list(day.glob("*fault_list.json"))
    if not lists:
        raise SchemaError(f"{day}: no *fault_list.json")
    raw = orjson.loads(lists[0].read_bytes())
    out = [f for hour in raw.values() for f in hour]
    return sorted(out, key=lambda f: f["inject_time"])


def _counters(rows: list[Row]) -> Iterator[Row]:
    """Rows in time order, operations per second turned into a request counter."""
    totals: dict[str, float] = {}
    last: dict[str, float] = {}
    for t, res, name, v in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        if name != "@ops":
            yield t, res, name, v
            continue
        dt = t - last.get(res, t - 60.0)
        last[res] = t
        totals[res] = totals.get(res, 0.0) + max(v, 0.0) * max(dt, 0.0)
        yield t, res, "http_requests_total", totals[res]


def build_day(day: Path, out: Path, with_topology: bool = True) -> Path:
    """Write the replay folder of one day under ``out`` (see the module docstring)."""
    rows, edges = _day_rows(day)
    if not rows:
        raise SchemaError(f"{day}: no metric rows")
    faults = _faults(day)
    starts = [epoch(f["inject_time"]) for f in faults]
    first = min(r[0] for r in rows)
    last = max(r[0] for r in rows)
    calm_from = (max(starts) if starts else first) + SETTLE
    shift = -86400.0
    if last + shift >= first:
        raise SchemaError(f"{day}: the fault-free stretch does not fit before the day")
    normal = [r for r in rows if r[0] >= calm_from]
    faulty = [r for r in rows if r[0] < calm_from]
    retimed = [(t + shift, res, name, v) for t, res, name, v in normal]
    folder = out / f"nezha-{day.name}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "resource", "metric", "value"])
        for t, res, name, v in _counters(retimed + faulty):
            w.writerow([f"{t:.0f}", res, name, repr(v)])
    resources = {r[1] for r in rows}
    nodes = [
        {"id": r, "kind": "host" if r.startswith("node-") else "service"} for r in sorted(resources)
    ]
    topo_edges = []
    if with_topology:
        for a, b in edges:
            if a in resources and b in resources and a != b:
                kind = "runs_on" if b.startswith("node-") else "depends_on"
                topo_edges.append({"from": a, "to": b, "type": kind})
    (folder / "topology.yaml").write_text(
        yaml.safe_dump({"nodes": nodes, "edges": topo_edges}, sort_keys=False)
    )
    truth = {
        "fault": "several",
        "faults": [
            {
                "fault": f["inject_type"],
                "start": s,
                "end": s + FAULT_WINDOW,
                "root_cause": {"resource": service_of(f["inject_pod"])},
                "pod": f["inject_pod"],
            }
            for f, s in zip(faults, starts, strict=True)
        ],
        "normal": [[calm_from + shift, last + shift + 60.0]],
        "retimed": {"from": calm_from, "to": last + 60.0, "shift": shift},
    }
    (folder / "truth.json").write_bytes(orjson.dumps(truth))
    return folder
