"""Scoring labelled replays and building them from PetShop- and Nezha-shaped files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.evaluate.nezha import build_day
from foreshock.evaluate.pet_shop import build_scenario
from foreshock.evaluate.replays import score_run, summarise
from foreshock.pipelines.sources.replay import read_replay
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident, RootCauseCandidate
from foreshock.sim.simulator import simulate


def inc(opened: float, *ranked: str) -> Incident:
    return Incident(
        id=f"inc-{opened:.0f}",
        opened_at=opened,
        updated_at=opened,
        resources=sorted(ranked),
        candidates=[
            RootCauseCandidate(resource=r, score=1.0 - k / 10) for k, r in enumerate(ranked)
        ],
    )


def test_a_fault_counts_only_the_incident_opened_in_its_own_window() -> None:
    truth = {
        "fault": "several",
        "normal": [[0.0, 1000.0]],
        "faults": [
            {"fault": "cpu", "start": 2000.0, "root_cause": {"resource": "cart"}},
            {"fault": "delay", "start": 3000.0, "root_cause": {"resource": "pay"}},
        ],
    }
    incidents = [
        inc(500.0, "db"),  # a false one, in the normal stretch
        inc(1900.0, "pay", "web"),  # opened before the first fault: counts for neither
        inc(2010.0, "web", "cart"),  # the first fault's: cart ranks 2nd
        inc(3050.0, "pay"),  # the second's
    ]
    rows, normal = score_run(incidents, truth, first=0.0, last=4000.0)
    assert [(r["root"], r["rank"], r["incidents"]) for r in rows] == [
        ("cart", 2, 1),
        ("pay", 1, 1),
    ]
    assert normal == {"normal_seconds": 1000.0, "false_incidents": 1.0}
    s = summarise(rows)["all"]
    assert (s["top1"], s["top3"], s["avg5"]) == (0.5, 1.0, 0.9)


def test_each_missed_fault_says_at_which_stage_it_was_lost() -> None:
    def an(resource: str, onset: float) -> Anomaly:
        fields = {"resource": resource, "metric": "m", "onset": onset, "detected_at": onset}
        return Anomaly.model_validate(
            fields
            | {"score": 1, "raw_score": 9, "direction": "up", "value": 1, "baseline": 0}
            | {"detector": "fleet"}
        )

    truth = {
        "fault": "several",
        "faults": [
            {"fault": "a", "start": 1000.0, "root_cause": {"resource": "quiet"}},
            {"fault": "b", "start": 2000.0, "root_cause": {"resource": "blip"}},
            {"fault": "c", "start": 3000.0, "root_cause": {"resource": "old"}},
            {"fault": "d", "start": 4000.0, "root_cause": {"resource": "deep"}},
            {"fault": "e", "start": 5000.0, "root_cause": {"resource": "hit"}},
        ],
    }
    old = inc(500.0, "old")  # opened before the faults
    old.anomalies = [an("old", 500.0), an("old", 3010.0)]  # c's anomaly joined it
    incidents = [old, inc(4010.0, "web", "deep"), inc(5010.0, "hit")]
    anomalies = [an("blip", 2010.0), an("old", 500.0), an("old", 3010.0)]
    rows, _ = score_run(incidents, truth, 0.0, 6000.0, anomalies)
    assert [r["miss"] for r in rows] == [
        "no_anomaly",  # nothing on the root at all
        "not_credible",  # the root was anomalous, no incident opened
        "joined_earlier",  # its anomaly went to an incident opened before it
        "outranked",  # in its incident, second
        None,  # found and first
    ]
    assert summarise(rows)["all"]["misses"] == {
        "no_anomaly": 1,
        "not_credible": 1,
        "joined_earlier": 1,
        "outranked": 1,
    }


def _wide(path: Path, times: list[float], cols: dict[tuple[str, str, str], list[float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(cols)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["microservice", *[k[0] for k in keys]])
        w.writerow(["metric", *[k[1] for k in keys]])
        w.writerow(["statistic", *[k[2] for k in keys]])
        w.writerow(["unix_timestamp", *[""] * len(keys)])
        for i, t in enumerate(times):
            w.writerow([t, *[cols[k][i] for k in keys]])


def test_petshop_issues_become_replays_after_the_normal_days(tmp_path: Path) -> None:
    scen = tmp_path / "low"
    scen.mkdir()
    (scen / "graph.csv").write_text(",site,search\nsite,0.0,1.0\nsearch,0.0,0.0\n")
    normal_t = [1_000_000.0 + 300 * i for i in range(300)]
    rng = np.random.default_rng(0)
    lat = (0.1 + rng.normal(0, 0.002, 300)).tolist()
    _wide(
        scen / "noissue" / "metrics.csv",
        normal_t,
        {
            ("site", "latency", "Average"): lat,
            ("search", "latency", "Average"): lat,
            ("site", "requests", "Sum"): [500.0] * 300,
            ("site", "availability", "Average"): [100.0] * 300,
        },
    )
    issue_t = [2_000_000.0 + 300 * i for i in range(5)]
    _wide(
        scen / "test" / "issue_0" / "metrics.csv",
        issue_t,
        {
            ("site", "latency", "Average"): [0.1, 0.1, 0.4, 0.4, 0.1],
            ("search", "latency", "Average"): [0.1, 0.1, 0.9, 0.9, 0.1],
            ("site", "requests", "Sum"): [500.0] * 5,
            ("site", "availability", "Average"): [100.0, 100.0, 90.0, 90.0, 100.0],
        },
    )
    (scen / "test" / "issue_0" / "target.json").write_text(
        json.dumps(
            {
                "target": {"node": "site", "metric": "latency", "timestamp": issue_t[2]},
                "root_cause": {"node": "search"},
            }
        )
    )
    quiet, issue = build_scenario(scen, tmp_path / "out")
    assert json.loads((quiet / "truth.json").read_text()) == {"fault": "none"}
    rep = read_replay(issue)
    ts = rep.batches.timestamps
    assert ts[-1] == issue_t[-1] and ts[-6] == issue_t[0] - 3600.0  # an hour's gap
    assert rep.truth is not None and rep.truth["root_cause"]["resource"] == "search"
    assert [(e.source, e.target) for e in rep.topology.edges] == [("site", "search")]
    rows = list(csv.reader((issue / "metrics.csv").open()))
    errors = [float(r[3]) for r in rows if r[2] == "http_request_errors_total"]
    assert errors[-3:] == [50.0, 100.0, 100.0]  # 10% of 500 requests, counted


def test_a_nezha_day_puts_its_fault_free_hours_first_with_a_gap(tmp_path: Path) -> None:
    day = tmp_path / "rca_data" / "2022-08-22"
    metric = day / "metric"
    metric.mkdir(parents=True)
    (metric / "dependency.csv").write_text(
        "Source,Target,Weight\nfrontend,cartservice,1\ncartservice,33.3.3.3,1\n"
    )
    head = (
        "Time,PodName,CpuUsageRate(%),PodServerLatencyP99(s),PodWorkload(Ops),NodeCpuUsageRate(%)"
    )
    for pod in ("frontend-579b9bff58-t2dbm", "cartservice-579f59597d-wc2lz"):
        lines = [head]
        for m in range(0, 600):
            h, mm = divmod(m, 60)
            lines.append(f"2022-08-22 {3 + h:02d}:{mm:02d}:19.5 +0000 UTC,{pod},5,0.01,10,20")
        (metric / f"{pod}_metric.csv").write_text("\n".join(lines) + "\n")
    edges = ["time,timestamp,frontend_cartservice"]  # per-call-edge medians, caller side
    edges += [f"2022-08-22 03:{m:02d}:20.0 +0000 UTC m=+1.0,0,0.004" for m in range(5)]
    (metric / "source_50.csv").write_text("\n".join(edges) + "\n")
    (day / "2022-08-22-fault_list.json").write_text(
        json.dumps(
            {
                "03": [
                    {
                        "inject_time": "2022-08-22 03:10:30",
                        "inject_pod": "cartservice-579f59597d-wc2lz",
                        "inject_type": "cpu_contention",
                    }
                ]
            }
        )
    )
    folder = build_day(day, tmp_path / "out")
    rep = read_replay(folder)
    assert rep.truth is not None
    (fault,) = rep.truth["faults"]
    assert fault["root_cause"]["resource"] == "cartservice" and fault["fault"] == "cpu_contention"
    (lo, hi), ts = rep.truth["normal"][0], rep.batches.timestamps
    assert lo <= ts[0] < lo + 60  # the fault-free hours come first
    assert ts[ts >= hi][0] - hi >= 3600  # then a gap of hours, then the day's faults
    kinds = {n.id: n.kind for n in rep.topology.nodes}
    assert kinds == {"frontend": "service", "cartservice": "service", "node-33.3.3.3": "host"}
    # the calls frontend makes to cartservice are request times of cartservice, by caller
    edge = 'request_latency_seconds{stat="p50",caller="frontend",reporter="source"}'
    with (folder / "metrics.csv").open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if r[1:3] == ["cartservice", edge]]
    assert len(rows) == 5 and float(rows[0][3]) == 0.004


def test_eval_replays_scores_a_folder_of_simulated_incidents(tmp_path: Path) -> None:
    simulate("redis_down", seed=1, hours=2.0).write(tmp_path / "set" / "redis_down")
    simulate("none", seed=2, hours=2.0).write(tmp_path / "set" / "quiet")
    out = CliRunner().invoke(app, ["eval", "replays", str(tmp_path / "set"), "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert res["summary"]["all"]["faults"] == 1 and res["summary"]["all"]["top1"] == 1.0
    assert res["false_incidents"] == 0 and res["normal_hours"] > 3.0
