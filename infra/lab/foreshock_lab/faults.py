"""Faults injected into (and reverted from) the running lab, plus Prometheus helpers.

``python -m foreshock_lab.faults inject|revert NAME`` (``list``, ``status``, ``revert all``;
``targets`` and ``wait-targets`` for Prometheus). Each injection returns once the fault is in
place; faults that need connections held open run them in a background *holder* process
(``python -m foreshock_lab.faults hold NAME``, pid in ``<lab>/run/fault-NAME.pid``), so
``inject`` and ``revert`` may run in different processes. ``lab.sh down`` stops holders too.

=============================== ===========================================================
fault                           what it does
=============================== ===========================================================
redis_maxmemory                 ``CONFIG SET maxmemory`` to half the used memory: the app's
                                writes evict keys (revert: the value before)
mariadb_connections             holds app-user connections until MariaDB says "Too many
                                connections", and takes every slot freed later
mariadb_lock_contention         one transaction holds the row locks of the hot rows 1-20
                                (``SELECT … FOR UPDATE``): the app's updates wait (10 s)
postgresql_idle_in_transaction  app-user sessions left idle in transaction until the
                                non-reserved connection slots run out
redis_down                      stops Redis by its pid (``lab.sh down redis``); revert
                                starts it again with the same config (``lab.sh up redis``)
=============================== ===========================================================
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import pymysql
import redis

from foreshock_lab import LabConfig

__all__ = [
    "FAULTS",
    "FaultError",
    "Target",
    "inject",
    "injected",
    "query",
    "revert",
    "revert_all",
    "scalar",
    "targets",
    "wait_targets_up",
]

#: Name -> one-line description.
FAULTS: dict[str, str] = {
    "redis_maxmemory": "Redis maxmemory lowered below the used memory: evictions",
    "mariadb_connections": "MariaDB connections held until max_connections: exhaustion",
    "mariadb_lock_contention": "a long MariaDB transaction holds the hot rows' locks",
    "postgresql_idle_in_transaction": "PostgreSQL sessions idle in transaction until slots run out",
    "redis_down": "Redis stopped (by pid): app errors, cache misses go to MariaDB",
}
_HELD = ("mariadb_connections", "mariadb_lock_contention", "postgresql_idle_in_transaction")
HOT_ROWS = 20  # as in foreshock_lab.loadgen


class FaultError(RuntimeError):
    """A fault could not be injected or reverted."""


# --- Prometheus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One active Prometheus scrape target."""

    job: str
    instance: str
    health: str
    last_error: str


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def targets(url: str) -> list[Target]:
    """The active targets of the Prometheus at ``url``."""
    data = _get_json(f"{url.rstrip('/')}/api/v1/targets?state=active")
    return [
        Target(
            job=t["labels"].get("job", ""),
            instance=t["labels"].get("instance", ""),
            health=t.get("health", "unknown"),
            last_error=t.get("lastError", ""),
        )
        for t in data["data"]["activeTargets"]
    ]


def wait_targets_up(url: str, timeout: float = 60.0, interval: float = 1.0) -> list[Target]:
    """Wait until Prometheus at ``url`` has active targets and all are ``up``.

    Returns the targets; raises :class:`TimeoutError` naming those not up (or the last
    error talking to Prometheus) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    problem = "no answer yet"
    while True:
        try:
            found = targets(url)
            down = [t for t in found if t.health != "up"]
            if found and not down:
                return found
            problem = (
                ", ".join(f"{t.job} {t.instance} {t.health} {t.last_error}".strip() for t in down)
                or "no active targets"
            )
        except OSError as exc:
            problem = f"Prometheus at {url}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"targets not up after {timeout:.0f}s: {problem}")
        time.sleep(interval)


def query(url: str, expr: str) -> list[tuple[dict[str, str], float]]:
    """Instant PromQL query: ``(labels, value)`` for each series of the result vector."""
    q = urllib.parse.urlencode({"query": expr})
    data = _get_json(f"{url.rstrip('/')}/api/v1/query?{q}")
    if data.get("status") != "success":
        raise FaultError(f"query {expr!r}: {data}")
    result = data["data"]["result"]
    if data["data"]["resultType"] == "scalar":
        return [({}, float(result[1]))]
    return [(r["metric"], float(r["value"][1])) for r in result]


def scalar(url: str, expr: str) -> float | None:
    """The value of a query that yields one series (the first one), or ``None``."""
    res = query(url, expr)
    return res[0][1] if res else None


# --- process bookkeeping ---------------------------------------------------------------------


def _marker(config: LabConfig, name: str) -> str:
    """The environment entry that marks a lab process (see ``infra/lab/lab.sh``)."""
    return f"FORESHOCK_LAB_COMPONENT={config.lab_dir}:{name}"


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _is_ours(config: LabConfig, pid: int, name: str) -> bool:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return _marker(config, name).encode() in env


def _holder_pid(config: LabConfig, name: str) -> int | None:
    """Pid of the running holder of fault ``name``, if any."""
    pf = config.run_dir / f"fault-{name}.pid"
    try:
        pid = int(pf.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and _is_ours(config, pid, f"fault-{name}") else None


def _state_file(config: LabConfig, name: str) -> Path:
    return config.run_dir / f"fault-{name}.json"


def injected(name: str, config: LabConfig | None = None) -> bool:
    """Is fault ``name`` in place (its holder running or its saved state present)?"""
    config = config or LabConfig()
    if name in _HELD:
        return _holder_pid(config, name) is not None
    return _state_file(config, name).exists()


def _lab_sh(config: LabConfig, *args: str) -> str:
    proc = subprocess.run(
        ["bash", str(config.lab_script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "FORESHOCK_LAB_DIR": str(config.lab_dir)},
        check=False,
    )
    if proc.returncode != 0:
        raise FaultError(f"lab.sh {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stderr.strip()


# --- the faults ------------------------------------------------------------------------------


def _redis(config: LabConfig) -> redis.Redis:
    return redis.Redis(host=config.host, port=config.redis_port, socket_timeout=5)


def _inject_redis_maxmemory(config: LabConfig) -> str:
    r = _redis(config)
    before = int(str(r.config_get("maxmemory")["maxmemory"]))
    used = int(r.info("memory")["used_memory"])
    target = max(used // 2, 1 << 20)
    _state_file(config, "redis_maxmemory").write_text(json.dumps({"maxmemory": before}))
    r.config_set("maxmemory", target)
    return f"Redis maxmemory {before} -> {target} bytes (used {used})"


def _revert_redis_maxmemory(config: LabConfig) -> str:
    sf = _state_file(config, "redis_maxmemory")
    before = json.loads(sf.read_text())["maxmemory"] if sf.exists() else 64 << 20
    _redis(config).config_set("maxmemory", before)
    sf.unlink(missing_ok=True)
    return f"Redis maxmemory back to {before} bytes"


def _inject_redis_down(config: LabConfig) -> str:
    _state_file(config, "redis_down").write_text("{}")
    _lab_sh(config, "down", "redis")
    return "Redis stopped"


def _revert_redis_down(config: LabConfig) -> str:
    _lab_sh(config, "up", "redis")
    _state_file(config, "redis_down").unlink(missing_ok=True)
    return "Redis started again"


def _start_holder(config: LabConfig, name: str, timeout: float = 60.0) -> str:
    """Start the holder process of ``name`` and wait until it reports the fault in place."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    ready = config.run_dir / f"fault-{name}.ready"
    ready.unlink(missing_ok=True)
    key, _, value = _marker(config, f"fault-{name}").partition("=")
    here = str(Path(__file__).resolve().parents[1])  # infra/lab: this package's parent
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, key: value, "FORESHOCK_LAB_DIR": str(config.lab_dir), "PYTHONPATH": path}
    repo = config.lab_script.parents[2]
    with open(config.log_dir / f"fault-{name}.log", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "foreshock_lab.faults", "hold", name],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (config.run_dir / f"fault-{name}.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise FaultError(
                f"{name}: holder exited ({proc.returncode}); see {config.log_dir}/fault-{name}.log"
            )
        if time.monotonic() >= deadline:
            _stop_holder(config, name)
            raise FaultError(f"{name}: not in place after {timeout:.0f}s")
        time.sleep(0.1)
    return f"{name}: {ready.read_text().strip()} (holder pid {proc.pid})"


def _stop_holder(config: LabConfig, name: str, timeout: float = 15.0) -> str:
    pid = _holder_pid(config, name)
    for suffix in ("pid", "ready"):
        (config.run_dir / f"fault-{name}.{suffix}").unlink(missing_ok=True)
    if pid is None:
        return f"{name}: no holder running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    return f"{name}: holder (pid {pid}) stopped, its connections closed"


def inject(name: str, config: LabConfig | None = None) -> str:
    """Put fault ``name`` in place on the running lab; returns what was done."""
    config = config or LabConfig()
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r} (one of {', '.join(FAULTS)})")
    if injected(name, config):
        return f"{name}: already injected"
    if name in _HELD:
        return _start_holder(config, name)
    if name == "redis_maxmemory":
        return _inject_redis_maxmemory(config)
    return _inject_redis_down(config)


def revert(name: str, config: LabConfig | None = None) -> str:
    """Undo fault ``name`` (safe when it is not injected); returns what was done."""
    config = config or LabConfig()
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r} (one of {', '.join(FAULTS)})")
    if name in _HELD:
        return _stop_holder(config, name)
    if not injected(name, config):
        return f"{name}: not injected"
    if name == "redis_maxmemory":
        return _revert_redis_maxmemory(config)
    return _revert_redis_down(config)


def revert_all(config: LabConfig | None = None) -> list[str]:
    """Undo every injected fault (``redis_down`` first: the others may need Redis)."""
    config = config or LabConfig()
    return [revert(name, config) for name in reversed(FAULTS)]


# --- holders (run in the background process) -------------------------------------------------


class _Holder:
    """Connections held open by a holder process until SIGTERM."""

    def __init__(self, config: LabConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.stop = threading.Event()
        self.held: list[Any] = []

    def report_ready(self, what: str) -> None:
        ready = self.config.run_dir / f"fault-{self.name}.ready"
        if not ready.exists():
            ready.write_text(what + "\n")
            print(f"{time.strftime('%H:%M:%S')} in place: {what}", flush=True)

    def fill(self, connect: Callable[[], Any], limit: int = 500, poll: float = 0.5) -> None:
        """Open connections until refused, then keep taking every slot that frees up."""
        last_error = ""
        while not self.stop.is_set():
            if len(self.held) < limit:
                try:
                    self.held.append(connect())
                    continue
                except Exception as exc:
                    if not self.held:
                        raise FaultError(f"{self.name}: no connection at all: {exc}") from exc
                    last_error = str(exc)
                    self.report_ready(f"{len(self.held)} connections held; refused: {last_error}")
            else:
                self.report_ready(f"{len(self.held)} connections held (limit)")
            self.stop.wait(poll)

    def close(self) -> None:
        for conn in self.held:
            with contextlib.suppress(Exception):  # the server ends the session either way
                conn.close()
        print(f"{time.strftime('%H:%M:%S')} released {len(self.held)} connections", flush=True)
        self.held.clear()


def _mariadb_connect(config: LabConfig) -> Any:
    return pymysql.connect(
        host=config.host,
        port=config.mariadb_port,
        user=config.app_user,
        password=config.app_password,
        database=config.database,
        connect_timeout=3,
    )


def _pg_idle_in_transaction(config: LabConfig) -> psycopg.Connection[Any]:
    conn = psycopg.connect(
        host=config.host,
        port=config.pg_port,
        user=config.app_user,
        password=config.app_password,
        dbname=config.database,
        connect_timeout=3,
        application_name="foreshock-fault",
    )
    conn.execute("SELECT count(*) FROM orders WHERE id < 100")  # opens the transaction
    return conn  # ... and leaves it idle


def hold(name: str, config: LabConfig | None = None) -> None:
    """Run the holder of fault ``name`` until SIGTERM (``python -m ... hold NAME``)."""
    config = config or LabConfig()
    holder = _Holder(config, name)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        holder.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if name == "mariadb_connections":
            holder.fill(lambda: _mariadb_connect(config))
        elif name == "postgresql_idle_in_transaction":
            holder.fill(lambda: _pg_idle_in_transaction(config))
        elif name == "mariadb_lock_contention":
            conn = _mariadb_connect(config)
            holder.held.append(conn)
            conn.begin()
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT id FROM products WHERE id BETWEEN 1 AND %s FOR UPDATE", (HOT_ROWS,)
                )
                rows = len(cur.fetchall())
            holder.report_ready(f"row locks held on {rows} hot rows (products 1-{HOT_ROWS})")
            holder.stop.wait()
            conn.rollback()
        else:
            raise FaultError(f"{name}: nothing to hold")
    finally:
        holder.close()


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m foreshock_lab.faults inject|revert|list|status|targets|wait-targets``."""
    config = LabConfig()
    p = argparse.ArgumentParser(
        prog="python -m foreshock_lab.faults", description="Faults on the running lab."
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for cmd in ("inject", "revert"):
        s = sub.add_parser(cmd, help=f"{cmd} a fault")
        s.add_argument("name", choices=[*FAULTS, *(["all"] if cmd == "revert" else [])])
    sub.add_parser("list", help="the faults")
    sub.add_parser("status", help="which faults are injected")
    sub.add_parser("targets", help="Prometheus targets and their health (exit 1 if not all up)")
    w = sub.add_parser("wait-targets", help="wait until every Prometheus target is up")
    w.add_argument("--timeout", type=float, default=60.0)
    w.add_argument("--url", default=config.prometheus_url)
    h = sub.add_parser("hold", help=argparse.SUPPRESS)
    h.add_argument("name", choices=_HELD)
    args = p.parse_args(argv)

    try:
        if args.cmd == "inject":
            print(inject(args.name, config))
        elif args.cmd == "revert":
            done = revert_all(config) if args.name == "all" else [revert(args.name, config)]
            print("\n".join(done))
        elif args.cmd == "list":
            for name, what in FAULTS.items():
                print(f"{name:32} {what}")
        elif args.cmd == "status":
            for name in FAULTS:
                print(f"{name:32} {'INJECTED' if injected(name, config) else '-'}")
        elif args.cmd == "targets":
            found = targets(config.prometheus_url)
            for t in sorted(found, key=lambda t: t.job):
                print(f"target {t.job:10} {t.instance:18} {t.health:7} {t.last_error}".rstrip())
            return 0 if found and all(t.health == "up" for t in found) else 1
        elif args.cmd == "wait-targets":
            found = wait_targets_up(args.url, args.timeout)
            print(f"{len(found)} targets up: {', '.join(sorted(t.job for t in found))}")
        elif args.cmd == "hold":
            hold(args.name, config)
    except (FaultError, TimeoutError, OSError, redis.RedisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
