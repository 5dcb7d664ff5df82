"""PetShop root-cause data as replay folders (``foreshock eval petshop``).

The PetShop dataset (Hardt et al., 2023) holds, per traffic scenario, a dependency graph
(``graph.csv``: an adjacency matrix, row calls column), a few days of normal operation
(``noissue/metrics.csv``) and short windows around injected issues
(``{train,test}/issue_N/metrics.csv`` and ``target.json``: the symptom node and the true
root-cause node). Metric files are wide: one column per (node, metric, statistic), one row
per 5-minute step; metrics are ``latency`` (Average, p50…p99), ``availability`` (percent)
and ``requests`` (a sum per step).

Each issue becomes one replay: the normal days, re-timed to end an hour before the issue
window, then the issue window. The windows come from another period than the normal days
(the levels agree); placing them back to back would invent a continuity that never was —
and every issue would inherit whatever the last normal samples hold, 26 times over. The
hour's gap (a collector that was down) is shorter than the pipeline's re-learn threshold,
so the baselines carry over. The normal days alone are one more replay, with no fault: the
incidents it opens are false ones. Metric names are the service pack's:

- ``latency``/``Average`` → ``request_latency_seconds{stat="avg"}`` (``p99`` → ``stat="p99"``)
- ``requests``/``Sum`` (requests per step) → the counter ``http_requests_total``
- ``availability`` (percent of requests served) → the counter
  ``http_request_errors_total`` (requests × (100 − availability) / 100 per step)

Requests and errors are counts, so they go in as counters: the detect stage takes their
rate and knows a count's Poisson noise (50 requests in a step vary by about 7).

Examples
--------
>>> latency_metric("p99"), latency_metric("Average"), latency_metric("Sum")
('request_latency_seconds{stat="p99"}', 'request_latency_seconds{stat="avg"}', None)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from foreshock.schemas.errors import SchemaError

__all__ = ["Wide", "build_scenario", "latency_metric", "read_wide", "scenarios"]

#: Default seconds between the re-timed normal days and an issue window (see the module
#: docstring): shorter than the pipeline's re-learn threshold, so baselines carry over.
GAP = 3600.0

_STATS = {"Average": "avg", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99"}


def latency_metric(stat: str) -> str | None:
    """The service-pack name of one PetShop latency statistic (None: not used)."""
    return f'request_latency_seconds{{stat="{_STATS[stat]}"}}' if stat in _STATS else None


@dataclass
class Wide:
    """A wide PetShop metrics file: timestamps, (node, metric, stat) columns, values."""

    times: list[float]
    columns: list[tuple[str, str, str]]
    rows: list[list[float]]

    @property
    def step(self) -> float:
        return self.times[1] - self.times[0] if len(self.times) > 1 else 300.0


def _num(text: str) -> float:
    try:
        return float(text) if text.strip() else math.nan
    except ValueError:
        return math.nan


def read_wide(path: Path) -> Wide:
    """Read one ``metrics.csv`` (three header rows: node, metric, statistic)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            r = csv.reader(fh)
            nodes, metrics, stats = next(r), next(r), next(r)
            next(r, None)  # the "unix_timestamp" index-name row
            body = [row for row in r if row]
    except (OSError, StopIteration, csv.Error, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: not a PetShop metrics file ({exc})") from None
    if not (len(nodes) == len(metrics) == len(stats)) or len(nodes) < 2:
        raise SchemaError(f"{path}: header rows of different lengths")
    columns = list(zip(nodes[1:], metrics[1:], stats[1:], strict=True))
    times = [_num(row[0]) for row in body]
    rows = [[_num(c) for c in row[1 : len(columns) + 1]] for row in body]
    return Wide(times=times, columns=columns, rows=rows)


def read_graph(path: Path) -> list[tuple[str, str]]:
    """(caller, callee) pairs of an adjacency-matrix ``graph.csv``."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        r = csv.reader(fh)
        head = next(r)[1:]
        edges = []
        for row in r:
            if not row:
                continue
            for callee, cell in zip(head, row[1:], strict=False):
                if _num(cell) > 0 and callee != row[0]:
                    edges.append((row[0], callee))
    return edges


def _write_metrics(out: Path, parts: list[tuple[Wide, float]]) -> None:
    totals: dict[tuple[str, str], float] = {}
    with (out / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "resource", "metric", "value"])
        for wide, shift in parts:
            for t, row in zip(wide.times, wide.rows, strict=True):
                ts = f"{t + shift:.0f}"
                requests: dict[str, float] = {}
                served: dict[str, float] = {}
                for (node, metric, stat), v in zip(wide.columns, row, strict=False):
                    if not math.isfinite(v):
                        continue
                    if metric == "latency":
                        name = latency_metric(stat)
                        if name:
                            w.writerow([ts, node, name, repr(v)])
                    elif metric == "requests" and stat == "Sum":
                        requests[node] = v
                    elif metric == "availability":
                        served[node] = v
                for node, n in requests.items():
                    counts = {"http_requests_total": n}
                    if node in served:
                        counts["http_request_errors_total"] = n * (100.0 - served[node]) / 100.0
                    for name, c in counts.items():
                        total = totals.get((node, name), 0.0) + max(c, 0.0)
                        totals[node, name] = total
                        w.writerow([ts, node, name, f"{total:.3f}"])


def _write_topology(out: Path, nodes: set[str], edges: list[tuple[str, str]]) -> None:
    topo = {
        "nodes": [{"id": n, "kind": "service"} for n in sorted(nodes)],
        "edges": [{"from": a, "to": b} for a, b in edges if a in nodes and b in nodes],
    }
    (out / "topology.yaml").write_text(yaml.safe_dump(topo, sort_keys=False))


def scenarios(data: Path) -> list[Path]:
    """Scenario folders under ``data`` (each with ``graph.csv``), or ``data`` itself."""
    if (data / "graph.csv").is_file():
        return [data]
    found = sorted(p.parent for p in data.glob("*/graph.csv"))
    if not found:
        raise SchemaError(f"{data}: no PetShop scenario (a folder with graph.csv) here")
    return found


def build_scenario(
    scenario: Path, out: Path, with_topology: bool = True, gap: float = GAP
) -> list[Path]:
    """Write the replay folders of one scenario under ``out``; returns them (normal first).

    ``gap``: seconds between the last normal sample and the issue window's first one.
    """
    normal = read_wide(scenario / "noissue" / "metrics.csv")
    edges = read_graph(scenario / "graph.csv") if with_topology else []
    nodes = {c[0] for c in normal.columns}
    folders = []
    quiet = out / f"{scenario.name}-noissue"
    quiet.mkdir(parents=True, exist_ok=True)
    _write_metrics(quiet, [(normal, 0.0)])
    _write_topology(quiet, nodes, edges)
    (quiet / "truth.json").write_bytes(orjson.dumps({"fault": "none"}))
    folders.append(quiet)
    issues = sorted(
        (p.parent for p in scenario.glob("*/issue_*/target.json")),
        key=lambda p: (p.parent.name, int(p.name.split("_")[-1])),
    )
    for issue in issues:
        target = orjson.loads((issue / "target.json").read_bytes())
        wide = read_wide(issue / "metrics.csv")
        if not wide.times:
            continue
        shift = wide.times[0] - max(gap, wide.step) - normal.times[-1]
        folder = out / f"{scenario.name}-{issue.parent.name}-{issue.name}"
        folder.mkdir(parents=True, exist_ok=True)
        _write_metrics(folder, [(normal, shift), (wide, 0.0)])
        _write_topology(folder, nodes | {c[0] for c in wide.columns}, edges)
        truth = {
            "fault": str(target["target"]["metric"]),
            "start": wide.times[0],
            "end": wide.times[-1] + wide.step,
            "root_cause": {"resource": target["root_cause"]["node"]},
            "symptom": target["target"]["node"],
            "normal": [],  # the normal days are scored once, in the noissue replay
        }
        (folder / "truth.json").write_bytes(orjson.dumps(truth))
        folders.append(folder)
    return folders
