"""Inhibition at the pipeline's outputs: a paged root cause holds the pages of incidents it
explains, and their reports say so; once it resolves, dependents page again."""

from __future__ import annotations

from pathlib import Path

from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.pipelines.runtimes.outputs import Outputs
from foreshock.pipelines.sinks.alerts import JsonlAlertSink
from foreshock.pipelines.sinks.inhibition import Inhibitor
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.report import RootCauseReport
from foreshock.sim.simulator import load_topology


def _page(key: str, source: str, action: str = "trigger") -> AlertEvent:
    return AlertEvent(dedup_key=key, action=action, timestamp=0.0, summary=key, source=source)


def _report(key: str, root: str) -> RootCauseReport:
    return RootCauseReport(
        id=f"{key}-v1",
        incident_id=key,
        created_at=0.0,
        title=key,
        summary="s",
        root_cause_resource=root,
    )


def test_a_paged_database_holds_its_dependents_pages_until_it_resolves(tmp_path: Path) -> None:
    out = Outputs(
        SQLiteReportStore(tmp_path / "r.sqlite"),
        JsonlAlertSink(tmp_path / "alerts.jsonl"),
        inhibitor=Inhibitor(load_topology()),  # web → orders → mysql-primary
    )
    for key, root in (
        ("inc-db", "mysql-primary"),
        ("inc-web", "web"),
        ("inc-redis", "redis-cache"),
    ):
        out.report(_report(key, root))
    assert out.alert(_page("inc-db", "mysql-primary"))
    assert not out.alert(_page("inc-web", "web"))  # web depends on orders → mysql-primary
    assert out.alert(_page("inc-redis", "redis-cache"))  # redis does not depend on MySQL
    assert not out.alert(_page("inc-web", "web", "resolve"))  # follows its trigger
    assert out.alert(_page("inc-db", "mysql-primary", "resolve"))
    assert not out.alert(_page("inc-web-2", "web"))  # web → catalog → redis-cache, still open
    assert out.alert(_page("inc-redis", "redis-cache", "resolve"))
    assert out.alert(_page("inc-web-3", "web"))  # nothing it depends on is paged: it pages
    held = out.store.get("inc-web-v1")
    assert held is not None and held.paging_note == "not paged: explained by open incident inc-db"
    assert [(a.dedup_key, a.action) for a in out.alerts] == [
        ("inc-db", "trigger"),
        ("inc-redis", "trigger"),
        ("inc-db", "resolve"),
        ("inc-redis", "resolve"),
        ("inc-web-3", "trigger"),
    ]
    out.close()


def test_a_silence_made_after_a_page_holds_neither_its_update_nor_its_resolve(
    tmp_path: Path,
) -> None:
    from foreshock.pipelines.sinks.silences import Silencer, SilenceStore

    silences = SilenceStore(tmp_path / "silences.sqlite")
    out = Outputs(
        SQLiteReportStore(tmp_path / "r.sqlite"),
        JsonlAlertSink(tmp_path / "alerts.jsonl"),
        silencer=Silencer(silences),
    )
    out.report(_report("inc-db", "mysql-primary"))
    assert out.alert(_page("inc-db", "mysql-primary"))
    silences.add(3600, "maintenance starts now", resource="mysql-primary")
    update = _page("inc-db", "mysql-primary").model_copy(update={"revision": 1})
    assert out.alert(update)  # the open page is updated...
    assert out.alert(_page("inc-db", "mysql-primary", "resolve"))  # ...and resolved
    assert not out.alert(_page("inc-new", "mysql-primary"))  # a new page is held
    assert [(a.dedup_key, a.action, a.revision) for a in out.alerts] == [
        ("inc-db", "trigger", 0),
        ("inc-db", "trigger", 1),
        ("inc-db", "resolve", 0),
    ]
    out.close()
    silences.close()
