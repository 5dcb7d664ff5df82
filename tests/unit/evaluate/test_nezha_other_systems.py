"""`eval nezha` on a Nezha-format day of a system other than OnlineBoutique.

The loader was written against OnlineBoutique's files: the service-level file's series went
to a resource called ``frontend`` whatever the system's entry service, a per-edge column
was split at its first ``_``, and a column the mapping did not know was dropped. Another
system in the same format (other service names, more columns) lost its user-facing
symptoms and any series the mapping did not list.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from foreshock.evaluate.nezha import build_day
from foreshock.packs.naming import guess_role
from foreshock.pipelines.sources.replay import read_replay

UI, ORDERS = "ts-ui-dashboard", "ts_order_service"  # a name with "_" on purpose
PODS = {UI: f"{UI}-5d4f8c7b9-abcde", ORDERS: f"{ORDERS}-6b7c8d9e0f-vwxyz"}


def _day(tmp_path: Path, service_name: str) -> Path:
    day = tmp_path / "rca_data" / "2023-01-29"
    metric = day / "metric"
    metric.mkdir(parents=True)
    (metric / "dependency.csv").write_text(
        f"Source,Target,Weight\nloadgenerator,10.0.0.1,1\n{UI},{ORDERS},1\n{ORDERS},10.0.0.2,1\n"
    )
    head = (
        "Unnamed: 0,Time,PodName,CpuUsageRate(%),PodLatencyAvg(ms),NodeCpuUsageRate(%),"
        "NodeDiskIo(Bps)"
    )
    for pod in PODS.values():
        lines = [head]
        for m in range(0, 600):
            h, mm = divmod(m, 60)
            lines.append(f"{m},2023-01-29 {3 + h:02d}:{mm:02d}:19.5 +0000 UTC,{pod},5,12.5,20,300")
        (metric / f"{pod}_metric.csv").write_text("\n".join(lines) + "\n")
    front = ["Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP50(s)"]
    front += [f"2023-01-29 03:{m:02d}:19.5 +0000 UTC,0,{service_name},97,0.2" for m in range(5)]
    (metric / "front_service.csv").write_text("\n".join(front) + "\n")
    edges = ["time,timestamp," + f"{UI}_{ORDERS},{ORDERS}_{UI}"]  # and a callback
    edges += [f"2023-01-29 03:{m:02d}:20.0 +0000 UTC,0,0.004,0.002" for m in range(5)]
    (metric / "source_50.csv").write_text("\n".join(edges) + "\n")
    (day / "2023-01-29-fault_list.json").write_text(
        json.dumps(
            {
                "3": [
                    {
                        "inject_time": "2023-01-29 03:10:30",
                        "inject_pod": PODS[ORDERS],
                        "inject_type": "cpu_contention",
                    }
                ]
            }
        )
    )
    return day


def _series(folder: Path) -> set[tuple[str, str]]:
    with (folder / "metrics.csv").open(newline="") as fh:
        return {(r[1], r[2]) for r in csv.reader(fh)}


def test_the_user_facing_series_go_to_the_system_s_entry_service(tmp_path: Path) -> None:
    for named in ("Ts-Ui-Dashboard", "Gateway"):  # named as a service, and as nothing known
        folder = build_day(_day(tmp_path / named, named), tmp_path / named / "out")
        series = _series(folder)
        assert (UI, "request_errors_percent") in series
        assert (UI, 'request_latency_seconds{stat="p50",scope="service"}') in series
        assert not any(r == "frontend" for r, _ in series)


def test_calls_between_services_with_underscores_in_their_names(tmp_path: Path) -> None:
    folder = build_day(_day(tmp_path, UI), tmp_path / "out")
    edge = f'request_latency_seconds{{stat="p50",caller="{UI}",reporter="source"}}'
    back = f'request_latency_seconds{{stat="p50",caller="{ORDERS}",reporter="source"}}'
    series = _series(folder)
    assert (ORDERS, edge) in series and (UI, back) in series
    rep = read_replay(folder)
    assert {n.id for n in rep.topology.nodes} >= {UI, ORDERS}


def test_columns_the_mapping_does_not_know_are_kept_and_read_by_their_words(
    tmp_path: Path,
) -> None:
    folder = build_day(_day(tmp_path, UI), tmp_path / "out")
    series = _series(folder)
    assert (ORDERS, "pod_latency_ms_avg") in series
    assert ("node-10.0.0.2", "node_disk_io_bps") in series
    assert not any(m == "pod_latency_ms_avg" for r, m in series if r.startswith("node-"))
    assert guess_role("pod_latency_ms_avg") == ("latency", "up", "ms")
    # a data-frame index column (rises by one a row) is not a measurement
    assert not any(m.startswith("unnamed") for _, m in series)
