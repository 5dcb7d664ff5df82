"""Replays under generic metric names: does the method hold on metrics named by others?

``foreshock eval petshop|nezha`` write the public data under the service and host packs'
names (``request_latency_seconds{stat="p90"}``, ``container_cpu_usage_percent``). A
user's own exporters, or another benchmark's files, call them something else. With
``--generic-names`` the replays are rewritten the way a person might name the same series
(``latency_ms_p90`` in milliseconds, ``cpu_usage``): no pack knows them, so what each
series *is* — and a request time's unit — has to be read from its name
(:mod:`foreshock.packs.naming`).

Examples
--------
>>> generic_name('request_latency_seconds{stat="p90",caller="frontend"}')
'latency_ms_p90{caller="frontend"}'
>>> generic_name("container_cpu_usage_percent"), generic_name("some_other_metric")
('cpu_usage', 'some_other_metric')
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from foreshock.packs.model import base_name, labels_of

__all__ = ["GENERIC", "SCALE", "generic_name", "rename_replay"]

#: The packs' names of the series the public data hold, and a generic name for each.
GENERIC = {
    "container_cpu_usage_percent": "cpu_usage",
    "node_cpu_usage_percent": "cpu_usage",
    "container_memory_usage_percent": "memory_usage",
    "node_memory_usage_percent": "memory_usage",
    "container_network_receive_bytes_rate": "net_rx",
    "node_network_receive_bytes_rate": "net_rx",
    "container_network_transmit_bytes_rate": "net_tx",
    "container_syscalls_rate": "syscalls",
    "http_requests_total": "requests_total",
    "http_request_errors_total": "errors_total",
    "request_errors_percent": "error_rate",
    "client_latency_seconds": "client_latency_ms",
    "request_latency_seconds": "latency_ms",
}

#: Values rewritten in another unit: request times in milliseconds, as many exporters write.
SCALE = {"client_latency_seconds": 1000.0, "request_latency_seconds": 1000.0}


def generic_name(metric: str) -> str:
    """``metric`` under a generic name: the statistic label goes into the name."""
    base = base_name(metric)
    if base not in GENERIC:
        return metric
    labels = labels_of(metric)
    stat = labels.pop("stat", None)
    name = GENERIC[base] + (f"_{stat}" if stat else "")
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def rename_replay(folder: Path) -> None:
    """Rewrite a replay folder's ``metrics.csv`` (or ``.csv.gz``) under generic names."""
    path = folder / "metrics.csv"
    zipped = not path.exists()
    if zipped:
        path = folder / "metrics.csv.gz"
    opener = gzip.open if zipped else open
    tmp = path.with_name(path.name + ".tmp")
    cache: dict[str, tuple[str, float]] = {}
    with opener(path, "rt", newline="") as fi, opener(tmp, "wt", newline="") as fo:
        rows, out = csv.reader(fi), csv.writer(fo)
        header = next(rows)
        out.writerow(header)
        col, val = header.index("metric"), header.index("value")
        for row in rows:
            m = row[col]
            if m not in cache:
                cache[m] = generic_name(m), SCALE.get(base_name(m), 1.0)
            row[col], scale = cache[m]
            if scale != 1.0 and row[val]:
                row[val] = repr(float(row[val]) * scale)
            out.writerow(row)
    tmp.replace(path)
