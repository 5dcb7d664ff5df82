"""One chain, many settings: every registered detector, user packs, logs in a replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.detectors.registry import names

runner = CliRunner()


@pytest.mark.parametrize("detector", names())
def test_run_replay_with_each_registered_detector(
    lock_replay: Path, tmp_path: Path, detector: str
) -> None:
    res = runner.invoke(
        app,
        [
            "run",
            "--replay",
            str(lock_replay),
            "--detector",
            detector,
            "--json",
            "--home",
            str(tmp_path),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["samples"] > 50_000 and out["series"] > 50
    anomalies = out["anomalies"]
    assert isinstance(anomalies, int)
    if detector == "fleet":  # the default finds the simulated fault, as in every run
        assert out["incidents"][0]["root_cause"]["resource"] == "mysql-primary"


def test_an_unknown_detector_is_refused_with_the_known_names(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", "--replay", str(tmp_path), "--detector", "nope"])
    assert res.exit_code != 0
    assert "unknown detector 'nope'" in str(res.exception or res.output)


def test_a_user_pack_changes_what_the_pipeline_knows(lock_replay: Path, tmp_path: Path) -> None:
    base = json.loads(
        runner.invoke(
            app, ["run", "--replay", str(lock_replay), "--json", "--home", str(tmp_path / "a")]
        ).output
    )
    # a user pack for mysql that knows nothing: every mysql series becomes an unknown metric
    packs = tmp_path / "packs" / "mysql"
    packs.mkdir(parents=True)
    (packs / "pack.yaml").write_text("kind: mysql\ndescription: an empty mysql pack\n")
    res = runner.invoke(
        app,
        [
            "run",
            "--replay",
            str(lock_replay),
            "--packs",
            str(packs.parent),
            "--json",
            "--home",
            str(tmp_path / "b"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    modes = {c["failure_mode"] for i in out["incidents"] for c in i["candidates"]}
    base_modes = {c["failure_mode"] for i in base["incidents"] for c in i["candidates"]}
    assert "lock_contention" in base_modes and "lock_contention" not in modes


def test_a_bad_pack_is_refused_with_file_field_and_reason(
    lock_replay: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "packs" / "redis"
    bad.mkdir(parents=True)
    (bad / "pack.yaml").write_text(
        "kind: redis\nfailure_modes:\n  oom:\n    title: out of memory\n"
        "    symptoms: [{metric: redis_memory_used_bytes, direction: sideways}]\n"
    )
    res = runner.invoke(
        app,
        [
            "run",
            "--replay",
            str(lock_replay),
            "--packs",
            str(bad.parent),
            "--home",
            str(tmp_path / "h"),
        ],
    )
    assert res.exit_code == 1
    message = " ".join(str(res.exception).split())
    assert f"pack {bad / 'pack.yaml'}" in message
    assert "failure_modes.oom.symptoms.0.direction" in message and "'up' or 'down'" in message


def test_run_replay_merges_server_logs_into_the_stream(lock_replay: Path, tmp_path: Path) -> None:
    replay = tmp_path / "replay"
    shutil.copytree(lock_replay, replay)
    first = float((replay / "metrics.csv").read_text().splitlines()[1].split(",")[0])
    log = tmp_path / "mysql.err"
    lines = []
    for k in range(0, 4 * 3600, 60):  # a line a minute, then an error never seen before
        lines.append(f"{_iso(first + k)} 0 [Note] InnoDB: Buffer pool(s) load completed")
    lines.append(f"{_iso(first + 3 * 3600)} 0 [ERROR] Disk full (/var/lib/mysql/ibdata1)")
    log.write_text("\n".join(sorted(lines)) + "\n")
    res = runner.invoke(
        app,
        [
            "run",
            "--replay",
            str(replay),
            "--logs",
            f"{log}=mysql-primary:mariadb",
            "--json",
            "--home",
            str(tmp_path / "h"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["log_records"] == len(lines)
    # the never-seen error template is an anomaly whose evidence is the line; the routine
    # line, learned in the warm-up, is none
    from foreshock.pipelines.runtimes.embedded import run_replay

    result = run_replay(replay, tmp_path / "h2", logs=[f"{log}=mysql-primary:mariadb"])
    found = [a for a in result.anomalies if a.detector == "logs:new_template"]
    assert [(a.resource, a.state) for a in found] == [
        ("mysql-primary", "open"),
        ("mysql-primary", "closed"),
    ]
    assert any("Disk full" in e for e in found[0].evidence)


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
