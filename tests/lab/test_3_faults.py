"""Real faults on real middleware, found through the real Prometheus path (issue 5).

For each fault: the pipeline runs live on the lab's Prometheus and server logs; once the
lab is calm the fault is injected, and within 2 minutes of the injection an incident must
name the right resource first, with the right failure mode; the server logs' templates
appear as evidence where the server logs the fault. Then the fault is reverted and the
lab left to calm down before the next one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from foreshock_lab import LabConfig
from foreshock_lab.faults import inject, revert
from lab_live import LivePipeline

from foreshock.schemas.incident import Incident

WITHIN = 120.0  # seconds from injection to a correct incident

# fault -> (root resource, accepted failure modes, a log template expected as evidence)
EXPECTED: dict[str, tuple[str, set[str], str | None]] = {
    "redis_maxmemory": ("redis", {"memory_exhaustion"}, "key eviction"),
    "mariadb_connections": ("mariadb", {"connection_exhaustion"}, None),
    "mariadb_lock_contention": ("mariadb", {"lock_contention"}, "slow query"),
    "postgresql_idle_in_transaction": (
        "postgresql",
        {"idle_in_transaction", "connection_exhaustion"},
        "connection slots are reserved",
    ),
    "redis_down": ("redis", {"unreachable"}, "shutdown"),
}


@pytest.fixture(scope="module")
def live(lab: LabConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePipeline]:
    pipe = LivePipeline(lab, tmp_path_factory.mktemp("live")).start()
    pipe.wait_settled()
    yield pipe
    pipe.stop()


def _right(inc: Incident, root: str, modes: set[str]) -> bool:
    top = inc.candidates[0] if inc.candidates else None
    return top is not None and top.resource == root and top.failure_mode in modes


def _describe(versions: list[tuple[float, Incident]]) -> str:
    return "; ".join(
        f"{i.id} v{i.version}: "
        + ", ".join(f"{c.resource}/{c.failure_mode}={c.score:.2f}" for c in i.candidates[:3])
        for _, i in versions
    )


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_fault_is_found_with_its_root_and_failure_mode(
    live: LivePipeline, lab: LabConfig, fault: str
) -> None:
    root, modes, log_hint = EXPECTED[fault]
    live.wait_calm()
    t0 = time.time()
    inject(fault, lab)
    try:
        found: Incident | None = None
        found_at = 0.0
        while time.time() < t0 + WITHIN + 20.0:  # + the source's lag behind real time
            live.check()
            for wall, inc in live.incidents_since(t0):
                if _right(inc, root, modes) and inc.opened_at >= t0 - 30.0:
                    found, found_at = inc, wall
                    break
            if found is not None:
                break
            time.sleep(2.0)
        seen = live.incidents_since(t0)
        assert found is not None, (
            f"{fault}: no correct incident in {WITHIN:.0f} s: {_describe(seen)}"
        )
        detected = found.updated_at - t0  # event time of the version that named the root
        assert detected <= WITHIN, f"{fault}: named after {detected:.0f} s"
        got = found_at - t0
        print(f"{fault}: {found.id} root {root} after {detected:.0f} s (received at {got:.0f} s)")
        if log_hint is not None:  # give the logs a moment more, then look at the evidence
            deadline = time.time() + 30.0
            while True:
                latest = live.incidents.get(found.id, found)
                texts = [t for c in latest.candidates for t in c.evidence.log_templates]
                texts += [e for a in latest.anomalies for e in a.evidence]
                if any(log_hint.lower() in t.lower() for t in texts) or time.time() > deadline:
                    break
                time.sleep(2.0)
            assert any(log_hint.lower() in t.lower() for t in texts), (
                f"{fault}: no log template with {log_hint!r} in the incident: {texts}"
            )
    finally:
        revert(fault, lab)


def test_the_live_pipeline_read_logs_and_metrics(live: LivePipeline) -> None:
    live.check()
    assert live.thread.is_alive()
    assert Path(live.home / "reports.sqlite").exists()
