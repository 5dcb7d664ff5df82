"""Careless or hostile use of the CLI loses nothing and pages once (issue 10)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.pipelines.runtimes.home import HomeLock

runner = CliRunner()


def test_demo_refuses_an_unknown_fault_before_touching_the_file_system(tmp_path: Path) -> None:
    victim = tmp_path / "victim-seed1"  # what `--fault <tmp>/victim --seed 1` used to delete
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    res = runner.invoke(
        app,
        [
            "demo",
            "--fault",
            str(tmp_path / "victim"),
            "--seed",
            "1",
            "--home",
            str(tmp_path / "home"),
        ],
    )
    assert res.exit_code == 1
    assert "unknown fault" in str(res.exception)
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "home").exists()


def test_a_second_run_on_the_same_home_is_refused_and_pages_nothing(
    lock_replay: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    holder = subprocess.Popen(  # another foreshock process holds the home
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from foreshock.pipelines.runtimes.home import HomeLock\n"
            "lock = HomeLock(Path(sys.argv[1])).acquire()\n"
            "print('held', flush=True); time.sleep(60)",
            str(home),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        res = runner.invoke(app, ["run", "--replay", str(lock_replay), "--home", str(home)])
        assert res.exit_code == 1
        message = str(res.exception)
        assert "in use by another foreshock process" in message and str(holder.pid) in message
        assert not (home / "alerts.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died (kill -9 included): its lock went with it, the next run proceeds
    time.sleep(0.1)
    res = runner.invoke(app, ["run", "--replay", str(lock_replay), "--home", str(home)])
    assert res.exit_code == 0, res.output
    with HomeLock(home):  # and released it at the end
        pass
