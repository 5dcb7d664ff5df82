"""Metrics no pack knows are read from the words of their names (issue 11).

Nezha's OnlineBoutique data under generic names (``cpu_usage``, ``latency_p90``,
``net_rx``, ``error_rate`` instead of the service pack's) lost half its root causes and
opened 11 incidents in its fault-free hours: with every series of role "other", the rules
that know what a series means (traffic alone is demand, a tail statistic alone is a few slow
requests, a CPU is a resource's own usage, a p50 and a p99 are one signal) were all off.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from foreshock.packs.loader import guess_spec
from foreshock.packs.model import family_of, is_tail_statistic, signal_of, statistic_of
from foreshock.packs.naming import guess_role
from foreshock.pipelines.runtimes.embedded import run_replay


@pytest.mark.parametrize(
    ("metric", "role", "bad"),
    [
        ("cart_error_rate", "errors", "up"),
        ("http_requests_failed_total", "errors", "up"),
        ("checkout_latency_p95", "latency", "up"),
        ("orders_response_time_ms", "latency", "up"),
        ("RequestDuration", "latency", "up"),
        ("pod_memory_usage", "utilisation", "up"),
        ("cpu", "utilisation", "up"),
        ("node_memory_available_bytes", "utilisation", "down"),
        ("consumer_lag", "saturation", "up"),
        ("net_rx", "throughput", "both"),
        ("requests_per_second", "throughput", "both"),
        ("syscalls", "other", "both"),
    ],
)
def test_a_metric_no_pack_knows_gets_its_role_from_its_name(
    metric: str, role: str, bad: str
) -> None:
    assert guess_role(metric)[:2] == (role, bad)
    spec = guess_spec(metric)
    assert (spec.role, spec.bad) == (role, bad)


def test_a_statistic_written_into_the_name_is_a_statistic_of_one_signal() -> None:
    assert signal_of("latency_p50") == signal_of("latency_p99") == "latency"
    assert signal_of('latency_p90{caller="web"}') != signal_of('latency_p90{caller="api"}')
    assert family_of("carts_latency-90") == "carts_latency"
    assert statistic_of("carts_latency-90") == "p90"
    assert is_tail_statistic("latency_p99") and not is_tail_statistic("latency_p50")
    # names that end in a number or a limit are not statistics
    assert family_of("node_load1") == "node_load1"
    assert family_of("connections_max") == "connections_max"


STEP = 15.0
NODES = ("web", "api", "db")


def _replay(folder: Path, bends: dict[tuple[str, str], float]) -> Path:
    """Two hours of three services under generic names, then 10 minutes where each
    ``(resource, metric)`` in ``bends`` is multiplied by its factor."""
    folder.mkdir(parents=True)
    (folder / "topology.yaml").write_text(
        "nodes:\n"
        + "".join(f"- id: {n}\n  kind: service\n" for n in NODES)
        + "edges:\n- from: web\n  to: api\n- from: api\n  to: db\n"
    )
    base = {"requests_per_second": 50.0, "latency_p50": 0.02, "error_rate": 0.5}
    rows = ["timestamp,resource,metric,value"]
    n, fault = 560, 480
    for k in range(n):
        t = 1_700_000_000 + k * STEP
        for j, r in enumerate(NODES):
            for i, (m, level) in enumerate(base.items()):
                wobble = 1.0 + 0.05 * math.sin(k * 0.7 + 1.3 * j + 2.1 * i)
                wobble += 0.03 * math.sin(k * 1.9 + j + i)
                factor = bends.get((r, m), 1.0) if fault <= k < fault + 40 else 1.0
                rows.append(f"{t:.0f},{r},{m},{level * wobble * factor:.6f}")
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_a_traffic_surge_under_generic_names_opens_no_incident(tmp_path: Path) -> None:
    surge = {(r, "requests_per_second"): 3.0 for r in NODES}
    res = run_replay(_replay(tmp_path / "surge", surge), tmp_path / "home")
    assert res.anomalies, "the surge is seen"
    assert {a.role for a in res.anomalies} == {"throughput"}
    assert res.incidents == []


def test_a_failing_database_under_generic_names_is_found(tmp_path: Path) -> None:
    fault = {("db", "error_rate"): 40.0, ("api", "latency_p50"): 8.0, ("web", "latency_p50"): 8.0}
    res = run_replay(_replay(tmp_path / "fault", fault), tmp_path / "home")
    assert res.incidents
    top = res.incidents[-1].root_cause
    assert top is not None and top.resource == "db"


def test_eval_can_rewrite_a_replay_under_generic_names(tmp_path: Path) -> None:
    from foreshock.evaluate.generic_names import rename_replay

    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "metrics.csv").write_text(
        "timestamp,resource,metric,value\n"
        '1,checkout,"request_latency_seconds{stat=""p90"",caller=""frontend""}",0.2\n'
        "1,checkout,container_cpu_usage_percent,40\n"
        "1,checkout,my_own_metric,3\n"
    )
    rename_replay(folder)
    lines = (folder / "metrics.csv").read_text().splitlines()
    assert lines[1:] == [
        '1,checkout,"latency_ms_p90{caller=""frontend""}",200.0',
        "1,checkout,cpu_usage,40",
        "1,checkout,my_own_metric,3",
    ]
