"""The CLI contract later evaluation scripts depend on, exercised as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.sim.simulator import fault_names

runner = CliRunner()


def cli(*args: str) -> str:
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_list_faults_prints_one_name_per_line() -> None:
    names = cli("demo", "--list-faults").split()
    assert names == fault_names() and len(names) >= 8


def test_demo_json_contract(tmp_path: Path) -> None:
    out = json.loads(
        cli(
            "demo",
            "--fault",
            "host_cpu_saturation",
            "--seed",
            "2",
            "--hours",
            "3",
            "--json",
            "--home",
            str(tmp_path),
        )
    )
    assert out["samples"] > 10_000 and out["anomalies"] >= 2
    (inc,) = out["incidents"]
    assert set(inc) >= {"id", "opened_at", "resources", "root_cause", "candidates"}
    assert inc["root_cause"] == {"resource": "host-2", "failure_mode": "cpu_saturation"}
    scores = [c["score"] for c in inc["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert [a["action"] for a in out["alerts"]].count("trigger") == 1


def test_demo_shows_incident_report_and_where_it_is_stored(tmp_path: Path) -> None:
    text = cli(
        "demo", "--fault", "redis_memory_exhaustion", "--hours", "3", "--home", str(tmp_path)
    )
    for needle in (
        "Ranked root-cause candidates",
        "redis-cache",
        "memory_exhaustion",
        "Causal chain",
        "Remediation",
        "reports.sqlite",
        "alerts.jsonl",
    ):
        assert needle in text, needle
    home = str(tmp_path / "redis_memory_exhaustion-seed1")
    hits = cli("reports", "search", "evicted", "--home", home)
    assert "redis-cache" in hits
    assert "offline narrator" in text and "foreshock ask --home" in text

    # the three example questions, on the demo's home, offline, citing ids
    def ask(question: str) -> dict[str, object]:
        answer = json.loads(cli("ask", question, "--home", home, "--offline", "--json"))
        assert answer["answered_by"] == "offline" and answer["sources"], answer
        return answer

    why = ask("why was checkout slow at 10:05?")
    assert "root cause redis-cache (memory_exhaustion)" in str(why["text"])
    assert str(why["sources"][0]).startswith("inc-")  # type: ignore[index]
    first = ask("what runs out first?")
    assert str(first["sources"][0]).startswith("forecast:")  # type: ignore[index]
    again = ask("has redis-cache done this before?")
    assert "redis-cache was in 1 incident(s), the root cause of 1" in str(again["text"])


def test_simulate_then_run_finds_the_true_root_cause(tmp_path: Path) -> None:
    replay = tmp_path / "r"
    cli(
        "simulate",
        "--fault",
        "network_latency",
        "--seed",
        "3",
        "--hours",
        "3",
        "--out",
        str(replay),
    )
    assert {p.name for p in replay.iterdir()} >= {"metrics.csv", "topology.yaml", "truth.json"}
    out = json.loads(cli("run", "--replay", str(replay), "--json", "--home", str(tmp_path / "h")))
    truth = json.loads((replay / "truth.json").read_text())
    assert out["incidents"][0]["root_cause"]["resource"] == truth["root_cause"]["resource"]


def test_quiet_fleet_pages_nobody(tmp_path: Path) -> None:
    replay = tmp_path / "q"
    cli("simulate", "--fault", "none", "--seed", "7", "--hours", "24", "--out", str(replay))
    out = json.loads(cli("run", "--replay", str(replay), "--json", "--home", str(tmp_path / "h")))
    assert out["incidents"] == [] and out["alerts"] == []


def _foreign_replay(folder: Path, bad_rows: bool) -> Path:
    """A replay the simulator did not write: own names, unknown metrics, irregular steps."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    t, rows = 1_700_000_000.0, []
    fault_at = None
    for k in range(900):
        t += float(rng.choice([1.0, 7.0, 30.0, 60.0, 300.0], p=[0.2, 0.3, 0.3, 0.15, 0.05]))
        broken = k >= 700
        fault_at = fault_at or (t if broken else None)
        q = 20 + rng.normal(0, 1) + (60 if broken else 0)
        lat = 0.2 + rng.normal(0, 0.01) + (0.5 if broken and k >= 705 else 0)
        rows += [
            f"{t},queue-7,backlog_depth,{q:.3f}",
            f"{t},checkout,p95_latency,{lat:.4f}",
            f"{t},checkout,rps,{100 + rng.normal(0, 3):.2f}",
        ]
    if bad_rows:
        rows += [
            f"{t},queue-7,backlog_depth,lots",
            f"{t},nobody,backlog_depth,1",
            f"{t - 5000},checkout,rps,NaN",
            f"{t - 10},checkout,rps,101",
        ]
    (folder / "metrics.csv").write_text(
        "timestamp,resource,metric,value\n" + "\n".join(rows) + "\n"
    )
    (folder / "topology.yaml").write_text(
        "nodes: [{id: checkout, kind: service}, {id: queue-7, kind: other}]\n"
        "edges: [{from: checkout, to: queue-7, type: consumes_from}]\n"
    )
    return folder


def test_run_on_a_foreign_replay_with_unknown_metrics_and_irregular_intervals(
    tmp_path: Path,
) -> None:
    out = json.loads(
        cli(
            "run",
            "--replay",
            str(_foreign_replay(tmp_path / "f", False)),
            "--json",
            "--home",
            str(tmp_path / "h"),
        )
    )
    (inc,) = out["incidents"]
    assert inc["root_cause"]["resource"] == "queue-7"
    assert out["dead_letters"]["total"] == 0


def test_bad_input_finishes_reports_drops_and_loses_nothing_else(tmp_path: Path) -> None:
    good = json.loads(
        cli(
            "run",
            "--replay",
            str(_foreign_replay(tmp_path / "g", False)),
            "--json",
            "--home",
            str(tmp_path / "h1"),
        )
    )
    bad = json.loads(
        cli(
            "run",
            "--replay",
            str(_foreign_replay(tmp_path / "b", True)),
            "--json",
            "--home",
            str(tmp_path / "h2"),
        )
    )
    assert bad["dead_letters"]["by_reason"] == {
        "non-numeric value 'lots'": 1,
        "unknown resource 'nobody' (not in topology.yaml)": 1,
        "non-finite value 'NaN'": 1,
    }
    assert bad["samples"] == good["samples"] + 1  # the late but valid row is kept
    assert bad["reordered_rows"] == 1
    assert [i["root_cause"] for i in bad["incidents"]] == [
        i["root_cause"] for i in good["incidents"]
    ]
    letters = [json.loads(x) for x in Path(bad["dead_letters"]["path"]).read_text().splitlines()]
    assert {x["reason"] for x in letters} == set(bad["dead_letters"]["by_reason"])


def test_schemas_export_writes_valid_json_schema(tmp_path: Path) -> None:
    cli("schemas", "export", str(tmp_path))
    names = {p.name for p in tmp_path.iterdir()}
    assert {"MetricBatch.schema.json", "Incident.schema.json", "AlertEvent.schema.json"} <= names
    inc = json.loads((tmp_path / "Incident.schema.json").read_text())
    assert "candidates" in inc["properties"]


def test_errors_are_one_clear_line_and_exit_code_1(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "foreshock.cli.app", "run", "--replay", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 1
    assert "no metrics.csv" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("detector", ["fleet", "hst"])
def test_score_writes_a_score_in_0_1_for_every_row(tmp_path: Path, detector: str) -> None:
    rng = np.random.default_rng(1)
    lines = ["timestamp,value"] + [
        f"2026-01-01 00:{k // 60:02d}:{k % 60:02d},{(50 if k == 500 else 0) + rng.normal():.3f}"
        for k in range(600)
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    cli("score", "--input", str(src), "--output", str(tmp_path / "out.csv"), "--detector", detector)
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert out[0].split(",") == ["timestamp", "value", "anomaly_score"]
    scores = [float(r.split(",")[-1]) for r in out[1:]]
    assert len(scores) == 600 and all(0 <= s <= 1 for s in scores)
    ranked = sorted(scores[100:], reverse=True)
    # the planted spike stands out: the top score for the fleet tier, the top 10% for River
    # HST (a value beyond the range seen so far only scores like the top of that range)
    assert scores[500] >= (ranked[0] if detector == "fleet" else ranked[len(ranked) // 10])


def test_score_param_turns_the_breakout_gate_off_and_a_bad_param_is_refused(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(2)
    spikes = {200: 30, 250: 30, 300: 30, 350: 30, 450: 25}
    values = [spikes.get(k, 0) + rng.normal() for k in range(600)]
    lines = ["timestamp,value"] + [
        f"2026-01-01 {k // 60:02d}:{k % 60:02d}:00,{v:.3f}" for k, v in enumerate(values)
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")

    def scores(*extra: str) -> list[float]:
        cli("score", "--input", str(src), "--output", str(tmp_path / "out.csv"), *extra)
        rows = (tmp_path / "out.csv").read_text().splitlines()[1:]
        return [float(r.split(",")[-1]) for r in rows]

    gated, plain = scores(), scores("--param", "novelty=false")
    # spikes no higher than earlier ones are not news to the default fleet tier once the
    # first ones have widened what the series has shown (by at most its width each)
    assert gated[200] > 0.99 and gated[350] == gated[450] == 0.0
    assert plain[350] > 0.99 and plain[450] > 0.99
    bad = ["score", "--input", str(src), "--output", str(tmp_path / "x.csv"), "--param", "x=1"]
    r = subprocess.run(
        [sys.executable, "-m", "foreshock.cli.app", *bad],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and "does not take" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.csv").exists()


def test_bench_detect_json_contract() -> None:
    out = json.loads(
        cli(
            "bench", "detect", "--series", "300", "--samples", "40", "--river-series", "2", "--json"
        )
    )
    assert set(out) >= {"fleet", "river_hst", "ratio"}
    for k in ("fleet", "river_hst"):
        assert out[k]["samples_per_s"] > 0 and out[k]["bytes_per_series"] > 0
