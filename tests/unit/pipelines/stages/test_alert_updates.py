"""A paged incident whose diagnosis changes updates its page under the same key: one
update per settle time at most, none for a ranking that flips back, none twice after a
restart, and an update of a held page stays held."""

from __future__ import annotations

from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.pipelines.sinks.outbox import Outbox
from foreshock.pipelines.stages.alerting import AlertStage
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.incident import Incident, RootCauseCandidate
from foreshock.sim.simulator import load_topology


def _inc(root: str, mode: str | None = None, status: str = "open") -> Incident:
    return Incident(
        id="inc-1",
        opened_at=0.0,
        updated_at=0.0,
        status=status,  # type: ignore[arg-type]
        resources=["web", "orders", "mysql-primary"],
        candidates=[RootCauseCandidate(resource=root, score=1.0, failure_mode=mode)],
    )


def _events(out: list[AlertEvent]) -> list[tuple[str, str, int]]:
    return [(e.action, e.source, e.revision) for e in out]


def test_a_changed_root_cause_updates_the_page_once_per_settle_time() -> None:
    stage = AlertStage(settle=60)
    stage.process(_inc("web"))
    assert _events(list(stage.tick(60))) == [("trigger", "web", 0)]
    stage.process(_inc("mysql-primary", "lock_contention"))
    assert list(stage.tick(90)) == []  # 30 s after the page: wait
    stage.process(_inc("orders"))  # still moving: the latest diagnosis is what goes
    assert _events(list(stage.tick(120))) == [("trigger", "orders", 1)]
    stage.process(_inc("orders"))  # unchanged: nothing more
    assert list(stage.tick(150)) == []
    stage.process(_inc("mysql-primary", "lock_contention"))
    assert _events(list(stage.tick(181))) == [("trigger", "mysql-primary", 2)]
    assert stage.process(_inc("mysql-primary", "lock_contention", status="resolved")) == []
    out = list(stage.tick(300))  # quiet for 5 minutes after it cleared (at its time, 0)
    assert _events(out) == [("resolve", "mysql-primary", 0)]
    assert all(e.dedup_key == "inc-1" for e in out)


def test_a_ranking_that_flips_back_before_settle_sends_nothing() -> None:
    stage = AlertStage(settle=60)
    stage.process(_inc("web"))
    list(stage.tick(60))
    stage.process(_inc("orders"))
    stage.process(_inc("web"))  # back to what the page said
    assert list(stage.tick(500)) == []


def test_a_restart_does_not_send_an_update_twice() -> None:
    stage = AlertStage(settle=60)
    stage.process(_inc("web"))
    list(stage.tick(60))
    stage.process(_inc("orders"))
    assert _events(list(stage.tick(130))) == [("trigger", "orders", 1)]
    again = AlertStage(settle=60)
    again.restore(stage.snapshot())
    again.process(_inc("orders"))  # the same version, re-read after the restart
    assert list(again.tick(1000)) == []
    again.process(_inc("mysql-primary"))
    assert _events(list(again.tick(1000))) == [("trigger", "mysql-primary", 2)]


def test_the_outbox_keeps_each_update_once_and_in_order() -> None:
    box = Outbox(":memory:")
    for action, rev in (("trigger", 0), ("trigger", 1), ("trigger", 1), ("resolve", 0)):
        ident = f"{action}#{rev}" if rev else action
        box.put("inc-1", ident, {"rev": rev}, now=0.0)
    sent = []
    while due := box.due(now=1.0):
        sent.append(due[0].action)
        box.delivered(due[0], now=1.0)
    assert sent == ["trigger", "trigger#1", "resolve"]


def test_an_update_of_a_held_page_stays_held() -> None:
    inhibitor = Inhibitor(load_topology())

    def page(key: str, source: str, revision: int = 0) -> AlertEvent:
        return AlertEvent(
            dedup_key=key,
            action="trigger",
            timestamp=0.0,
            summary="",
            source=source,
            revision=revision,
        )

    assert inhibitor.check(page("db", "mysql-primary")) is None
    assert inhibitor.check(page("app", "web")) == "db"  # web depends on mysql-primary
    assert inhibitor.check(page("app", "catalog", revision=1)) == "db"  # still held
    assert inhibitor.check(page("db", "mysql-replica", revision=1)) is None  # paged: goes


def _flap(inc_id: str, opened: float, root: str = "redis-cache") -> Incident:
    return Incident(
        id=inc_id,
        opened_at=opened,
        updated_at=opened,
        resources=[root],
        candidates=[RootCauseCandidate(resource=root, score=1.0)],
    )


def _resolved(inc: Incident, at: float) -> Incident:
    return inc.model_copy(update={"status": "resolved", "updated_at": at})


def _paged_then_cleared_at(t: float) -> AlertStage:
    """A stage (settle 60 s, quiet 300 s) that paged inc-a (root redis-cache) at 60 s,
    and saw it resolve at ``t``."""
    stage = AlertStage(settle=60, quiet=300)
    a = _flap("inc-a", 0.0)
    stage.process(a)
    list(stage.tick(60))
    stage.process(_resolved(a, t))
    return stage


def test_a_fault_back_within_the_quiet_time_is_the_same_page() -> None:
    stage = AlertStage(settle=60, quiet=300)
    a, b = _flap("inc-a", 0.0), _flap("inc-b", 500.0)
    events = [*stage.process(a), *stage.tick(60)]
    events += stage.process(_resolved(a, 400.0)) + list(stage.tick(450))
    events += stage.process(b) + list(stage.tick(560))  # back 160 s after it cleared
    events += stage.process(_resolved(b, 900.0)) + list(stage.tick(1199))
    assert [(e.dedup_key, e.action, e.revision) for e in events] == [
        ("inc-a", "trigger", 0),
        ("inc-a", "trigger", 1),  # the same page, now naming inc-b
    ]
    assert events[1].details["reopened_as"] == "inc-b"
    assert [(e.dedup_key, e.action) for e in stage.tick(1200)] == [("inc-a", "resolve")]


def test_a_fault_back_after_the_quiet_time_or_elsewhere_is_a_new_page() -> None:
    stage = _paged_then_cleared_at(100.0)
    assert [(e.dedup_key, e.action) for e in stage.tick(400)] == [("inc-a", "resolve")]
    stage.process(_flap("inc-b", 500.0))  # same root, but after the quiet time
    stage.process(_flap("inc-c", 500.0, root="mysql-primary"))
    assert sorted((e.dedup_key, e.action) for e in stage.tick(560)) == [
        ("inc-b", "trigger"),
        ("inc-c", "trigger"),
    ]


def test_a_restart_while_a_page_clears_keeps_the_wait_and_the_key() -> None:
    stage = _paged_then_cleared_at(100.0)
    again = AlertStage(settle=60, quiet=300)
    again.restore(stage.snapshot())
    assert list(again.tick(200)) == []  # still waiting
    again.process(_flap("inc-b", 250.0))
    assert [(e.dedup_key, e.revision) for e in again.tick(310)] == [("inc-a", 1)]
    again.process(_resolved(_flap("inc-b", 250.0), 320.0))
    assert [(e.dedup_key, e.action) for e in again.flush()] == [("inc-a", "resolve")]
