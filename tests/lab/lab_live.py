"""The pipeline running live on the lab, in a background thread, for the lab tests."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from foreshock_lab import LabConfig

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.runtimes.live import LiveResult, run_live
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.logs.tail import LogFiles
from foreshock.pipelines.sources.prometheus import PrometheusSource
from foreshock.pipelines.sources.replay import read_topology
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident

TOPOLOGY = Path(__file__).resolve().parents[2] / "infra" / "lab" / "topology.yaml"


def settings() -> Settings:
    """The environment's settings, without the forecast stage (the lab tests judge detection
    and root cause; a refit of every capacity series every 15 minutes only costs time)."""
    return Settings.load().model_copy(update={"forecast": False})


def log_specs(config: LabConfig) -> list[str]:
    """The lab servers' own logs, each bound to its resource and format."""
    d = config.log_dir
    return [
        f"{d / 'redis.log'}=redis:redis",
        f"{d / 'mariadb.err'}=mariadb:mariadb",
        f"{d / 'mariadb-slow.log'}=mariadb:mariadb-slow",
        f"{d / 'postgresql.log'}=postgresql:postgresql",
    ]


def source(config: LabConfig, backfill: float = 1800.0) -> PrometheusSource:
    return PrometheusSource(
        config.prometheus_url,
        PackIndex(load_packs()),
        user_topology=read_topology(TOPOLOGY),
        step=5.0,
        backfill=backfill,
    )


class LivePipeline:
    """``run_live`` on the lab's Prometheus and logs; what it emits, as it emits it."""

    def __init__(self, config: LabConfig, home: Path) -> None:
        self.config = config
        self.home = home
        self.lock = threading.Lock()
        self.incidents: dict[str, Incident] = {}
        self.history: list[tuple[float, Incident]] = []  # (wall time received, version)
        self.open: dict[tuple[str, str], Anomaly] = {}
        self.last_change = time.time()
        self.event_time = 0.0
        self.stopped = threading.Event()
        self.started = 0.0
        self.result: LiveResult | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="live-pipeline")

    def start(self) -> LivePipeline:
        self.started = time.time()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(60)

    def _run(self) -> None:
        try:
            self.result = run_live(
                source(self.config),
                self.home,
                logs=LogFiles(log_specs(self.config)),
                stop=self.stopped.is_set,
                on_event=self._on,
                settings=settings(),
            )
        except BaseException as exc:  # surfaced by the tests
            self.error = exc

    def _on(self, msg: Any) -> None:
        with self.lock:
            if isinstance(msg, Anomaly):
                self.event_time = max(self.event_time, msg.detected_at)
                if msg.state == "open":
                    self.open[msg.series] = msg
                else:
                    self.open.pop(msg.series, None)
                self.last_change = time.time()
            elif isinstance(msg, Incident):
                self.incidents[msg.id] = msg
                self.history.append((time.time(), msg))

    def open_anomalies(self) -> list[Anomaly]:
        with self.lock:
            return [a for a in self.open.values() if a.kind != "log"]

    def wait_calm(self, quiet_for: float = 45.0, timeout: float = 420.0) -> None:
        """Until no metric anomaly is open and nothing changed for ``quiet_for`` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check()
            with self.lock:
                calm = not [a for a in self.open.values() if a.kind != "log"]
                still = time.time() - self.last_change >= quiet_for
            if calm and still:
                return
            time.sleep(2.0)
        raise AssertionError(f"the lab did not calm down: open {self.open_anomalies()}")

    def wait_settled(self, timeout: float = 1080.0) -> None:
        """Until the backfill is processed and every incident found in it has resolved.

        A fault test measures the detection of a new fault, so it starts from a calm state
        (an incident still recovering could absorb a recurrence of its series and, with
        it, the fault's anomalies). In CI the backfill is calm and this returns at once.
        """
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check()
            with self.lock:
                live = time.time() - self.started >= 90.0  # the backfill takes ~20 s
                unresolved = [i for i in self.incidents.values() if i.status != "resolved"]
            if live and not unresolved:
                return
            time.sleep(5.0)
        # best effort: an incident that will not resolve is reported, and the tests go on
        print(f"incidents from before the fault tests still open: {[i.id for i in unresolved]}")

    def incidents_since(self, t0: float) -> list[tuple[float, Incident]]:
        """Incident versions received since wall time ``t0``, oldest first."""
        with self.lock:
            return [(w, i) for w, i in self.history if w >= t0]

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"the live pipeline died: {self.error!r}") from self.error
        if not self.thread.is_alive() and not self.stopped.is_set():
            raise AssertionError("the live pipeline stopped on its own")
