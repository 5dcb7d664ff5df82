"""``foreshock run --prometheus`` without a Prometheus: clear errors, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def foreshock(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from foreshock.cli.app import main; main()",
            *args,
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unreachable_prometheus_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    res = foreshock("run", "--prometheus", url, "--duration", "5s", home=tmp_path)
    assert res.returncode == 1
    assert f"cannot query Prometheus at {url}" in res.stderr
    assert "Traceback" not in res.stderr


def test_replay_or_prometheus_exactly_one(tmp_path: Path) -> None:
    res = foreshock("run", home=tmp_path)
    assert res.returncode == 2 and "exactly one of --replay DIR or --prometheus URL" in res.stderr
    res = foreshock("run", "--replay", str(tmp_path), "--prometheus", "http://x", home=tmp_path)
    assert res.returncode == 2


def test_a_bad_duration_and_a_missing_topology_say_what_is_wrong(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    res = foreshock("run", "--prometheus", url, "--duration", "soon", home=tmp_path)
    assert res.returncode == 1 and "not a duration: 'soon'" in res.stderr
    missing = tmp_path / "nope.yaml"
    res = foreshock("run", "--prometheus", url, "--topology", str(missing), home=tmp_path)
    assert res.returncode == 1 and "no such topology file" in res.stderr
