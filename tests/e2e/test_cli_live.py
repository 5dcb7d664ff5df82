"""``foreshock run --prometheus`` (and ``record``) against no Prometheus, or a misbehaving
one: clear one-line errors with credentials masked, no traceback, a real ``--duration``."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import orjson


def _fakes() -> ModuleType:
    """The throwaway Prometheus servers of the unit tests (tests/ is not a package)."""
    path = Path(__file__).parents[1] / "unit" / "pipelines" / "sources" / "prom_fakes.py"
    spec = importlib.util.spec_from_file_location("e2e_prom_fakes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fakes = _fakes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def foreshock(
    *args: str, home: Path | None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from foreshock.cli.app import main; main()",
            *args,
            *(["--home", str(home)] if home is not None else []),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
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


def test_a_dripping_prometheus_is_one_clear_error_within_the_request_deadline(
    tmp_path: Path,
) -> None:
    with fakes.FakePrometheus("drip") as prom:  # one byte a second, forever
        t0 = time.monotonic()
        res = foreshock(
            "run", "--prometheus", prom.url, "--duration", "3s", home=tmp_path, timeout=30
        )
        took = time.monotonic() - t0
    assert took < 18.0, f"took {took:.0f} s"  # 10 s (prometheus_timeout) and the start
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"cannot query Prometheus at {prom.url}: timed out after 10 s" in res.stderr


def test_duration_is_a_deadline_when_prometheus_starts_dripping_mid_run(tmp_path: Path) -> None:
    # discovery answers, then every range query drips: each poll times out after 1 s, the
    # run still ends at its duration, and the summary says what went wrong
    with fakes.FakePrometheus("drip_ranges") as prom:
        t0 = time.monotonic()
        res = foreshock(
            "run", "--prometheus", prom.url, "--duration", "4s", "--step", "1s",
            home=tmp_path, timeout=30, env={"FORESHOCK_PROMETHEUS_TIMEOUT": "1"},
        )  # fmt: skip
        took = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert took < 12.0, f"a 4 s run took {took:.0f} s"
    assert "polls of Prometheus failed (last: cannot query Prometheus at" in res.stderr
    assert "timed out after 1 s (prometheus_timeout)" in res.stderr


def test_errors_mask_the_password_and_name_the_status(tmp_path: Path) -> None:
    with fakes.FakePrometheus("status", status=503) as prom:
        url = prom.url.replace("http://", "http://alice:s3cret@")
        res = foreshock("run", "--prometheus", url, "--duration", "5s", home=tmp_path)
    masked = url.replace("s3cret", "****")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"cannot query Prometheus at {masked}: HTTP 503 from {masked}/" in res.stderr
    assert "s3cret" not in res.stderr + res.stdout


def test_record_says_a_garbage_body_is_not_json(tmp_path: Path) -> None:
    with fakes.FakePrometheus("garbage") as prom:
        res = foreshock(
            "record", "--prometheus", prom.url, "--last", "5m", "--out", str(tmp_path / "w"),
            home=None,
        )  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "the response is not JSON (it starts with '<html>" in res.stderr
    assert "Expecting value" not in res.stderr


def test_https_is_verified_and_a_private_ca_is_trusted_when_given(tmp_path: Path) -> None:
    certs = fakes.make_certs(tmp_path / "certs")
    with fakes.FakePrometheus("ok", certs=certs) as prom:
        res = foreshock("run", "--prometheus", prom.url, "--duration", "1s", home=tmp_path)
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert "TLS certificate not trusted" in res.stderr
        assert "set prometheus_ca_file" in res.stderr
        res = foreshock(
            "run", "--prometheus", prom.url, "--duration", "1s", "--json",
            home=tmp_path, env={"FORESHOCK_PROMETHEUS_CA_FILE": str(certs.ca)},
        )  # fmt: skip
    assert res.returncode == 0, res.stderr
    body = orjson.loads(res.stdout)
    assert [n["id"] for n in body["topology"]["nodes"]] == ["redis"]
    assert body["batches"] > 0 and body["prometheus_errors"] == 0
