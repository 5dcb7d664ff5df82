"""The alert stage on long runs: it forgets resolved incidents, and pages exactly as before.

Issue 10: the stage kept the latest version of every incident it had ever seen and
scanned all of them on every tick. These runs resolve a page as its incident resolves
(``quiet=0``); the quiet time is tested in ``test_alert_updates.py``.
"""

from __future__ import annotations

from foreshock.pipelines.stages.alerting import AlertStage
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.incident import Incident, RootCauseCandidate


def incident(k: int, t: float, status: str = "open", version: int = 1) -> Incident:
    return Incident(
        id=f"inc-{k}",
        opened_at=3600.0 * k,
        updated_at=t,
        status=status,  # type: ignore[arg-type]
        version=version,
        resources=["db"],
        candidates=[RootCauseCandidate(resource="db", score=1.0)],
    )


def test_resolved_incidents_are_forgotten_so_state_and_ticks_stay_bounded() -> None:
    stage = AlertStage(settle=120.0, quiet=0)
    pages: list[AlertEvent] = []
    held = []
    for k in range(300):  # 300 hours, one incident an hour: opened, paged, resolved
        t0 = 3600.0 * k
        pages += stage.process(incident(k, t0))
        for t in range(int(t0), int(t0) + 1800, 15):
            pages += stage.tick(float(t))
        pages += stage.process(incident(k, t0 + 1800, "resolved", 2))
        held.append(len(stage.state_dict()["latest"]))
    assert [(p.dedup_key, p.action) for p in pages] == [
        (f"inc-{k}", action) for k in range(300) for action in ("trigger", "resolve")
    ]
    assert [p.timestamp for p in pages[:2]] == [120.0, 1800.0]
    assert max(held) == 0 and stage.pending == 0


def test_a_stale_version_after_the_resolution_pages_nothing_again() -> None:
    stage = AlertStage(settle=60.0, quiet=0)
    assert stage.process(incident(0, 0.0)) == []
    assert [e.action for e in stage.tick(60.0)] == ["trigger"]
    assert [e.action for e in stage.process(incident(0, 900.0, "resolved", 2))] == ["resolve"]
    assert stage.process(incident(0, 30.0)) == []  # redelivered, out of order
    assert list(stage.tick(2000.0)) == [] and stage.flush() == []


def test_an_incident_resolved_before_it_settled_pages_trigger_and_resolve_at_once() -> None:
    stage = AlertStage(settle=600.0, quiet=0)
    stage.process(incident(0, 0.0))
    assert list(stage.tick(300.0)) == []
    out = stage.process(incident(0, 400.0, "resolved", 2))
    assert [(e.action, e.timestamp) for e in out] == [("trigger", 400.0), ("resolve", 400.0)]
    assert stage.pending == 0


def test_state_round_trips_and_an_older_state_holding_resolved_incidents_loads() -> None:
    stage = AlertStage(settle=60.0)
    stage.process(incident(0, 0.0))
    stage.tick(60.0)  # inc-0 paged
    stage.process(incident(1, 3600.0))  # inc-1 not paged yet
    restored = AlertStage(settle=60.0)
    restored.load_state_dict(stage.state_dict())
    assert [(e.dedup_key, e.action) for e in restored.tick(3660.0)] == [("inc-1", "trigger")]
    # a state written before resolved incidents were forgotten keeps them in "latest"
    old = {
        "latest": [incident(2, 50.0, "resolved", 2).model_dump(mode="python")],
        "triggered": {"inc-2"},
        "resolved": {"inc-2"},
    }
    restored.load_state_dict(old)
    assert restored.pending == 0 and restored.flush() == []
