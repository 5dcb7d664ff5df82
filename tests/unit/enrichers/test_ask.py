"""`foreshock ask`: questions answered from stored incidents, reports and forecasts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.enrichers.ask import Asker
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import EvidenceRow, RootCauseReport

DAY = 1_796_428_800.0  # 2026-12-05 00:00 UTC
runner = CliRunner()


def _incident(n: int, start_h: float, root: str, mode: str, others: list[str]) -> None:
    opened = DAY + start_h * 3600
    STORE.put_incident(
        Incident(
            id=f"inc-{n}", opened_at=opened, updated_at=opened + 1800, resources=[root, *others]
        )
    )
    STORE.put(
        RootCauseReport(
            id=f"inc-{n}-v1",
            incident_id=f"inc-{n}",
            created_at=opened + 60,
            title=f"{mode} on {root}",
            summary=f"{root} had {mode.replace('_', ' ')}; {', '.join(others)} followed.",
            root_cause_resource=root,
            failure_mode=mode,
            candidates=[root, *others],
            evidence=[
                EvidenceRow(
                    resource=root,
                    metric="m_up",
                    onset=opened,
                    direction="up",
                    value=2.0,
                    baseline=1.0,
                    score=0.99,
                )
            ],
            checks=["redis-cli INFO memory — used_memory vs maxmemory"],
        )
    )


def _forecast(resource: str, metric: str, p50_h: float | None) -> Forecast:
    made = DAY + 12 * 3600
    at = None if p50_h is None else made + p50_h * 3600
    return Forecast(
        resource=resource,
        metric=metric,
        made_at=made,
        model="ets",
        horizon_s=7 * 86400.0,
        limit=100.0,
        exhaustion_p10=at and at - 3600,
        exhaustion_p50=at,
        exhaustion_p90=at and at + 3600,
    )


STORE = SQLiteReportStore(":memory:")
_incident(1, 10.0, "redis-cache", "memory_exhaustion", ["checkout"])
_incident(2, 14.0, "mysql-primary", "lock_contention", ["checkout", "redis-cache"])
_incident(3, 16.0, "redis-cache", "overload", ["catalog"])
STORE.put_forecasts(
    [
        _forecast("mysql-primary", "disk_used_bytes", 30.0),
        _forecast("redis-cache", "redis_memory_used_bytes", 6.0),
        _forecast("kafka-1", "kafka_log_size", None),
    ]
)


@pytest.fixture
def asker() -> Asker:
    return Asker(STORE)


def test_what_runs_out_first_names_the_soonest_forecast(asker: Asker) -> None:
    a = asker.ask("What runs out first?")
    assert a.intent == "capacity"
    assert a.sources == [
        "forecast:redis-cache/redis_memory_used_bytes",
        "forecast:mysql-primary/disk_used_bytes",
    ]
    assert a.text.splitlines()[0].startswith("redis-cache redis_memory_used_bytes reaches")
    assert "in about 6.0 h" in a.text and "kafka-1" not in a.text


def test_capacity_of_a_named_resource(asker: Asker) -> None:
    a = asker.ask("when will mysql-primary be full?")
    assert a.sources == ["forecast:mysql-primary/disk_used_bytes"]
    assert "in about 30.0 h" in a.text
    assert "nothing runs out" in asker.ask("is kafka-1 running out of space?").text


def test_history_counts_incidents_and_root_causes(asker: Asker) -> None:
    a = asker.ask("has redis-cache done this before?")
    assert a.intent == "history"
    assert a.text.splitlines()[0] == "redis-cache was in 3 incident(s), the root cause of 2:"
    assert a.sources == ["inc-3", "inc-2", "inc-1"]
    assert "catalog" not in asker.ask("has web ever failed before?").text


@pytest.mark.parametrize(
    ("question", "incident"),
    [
        ("why was checkout slow at 10:05?", "inc-1"),
        ("why was checkout slow at 14:20?", "inc-2"),
        ("what happened to catalog?", "inc-3"),
    ],
)
def test_why_finds_the_incident_of_that_time_or_resource(
    asker: Asker, question: str, incident: str
) -> None:
    a = asker.ask(question)
    assert a.intent == "explain"
    assert a.sources == [incident, f"{incident}-v1"]
    assert "E1: " in a.text and "First check: redis-cli INFO memory" in a.text


def test_a_time_with_no_incident_says_how_far_the_nearest_is(asker: Asker) -> None:
    """The nearest incident *of checkout* (inc-3 at 16:00 is nearer but not checkout's)."""
    a = asker.ask("why was checkout slow at 20:00?")
    assert a.text.splitlines()[0] == "No incident was open at 20:00 UTC; the nearest, 5.5 h away:"
    assert a.sources[0] == "inc-2"
    assert asker.ask("why was it slow at 20:00?").sources[0] == "inc-3"


def test_anything_else_searches_reports_once_per_incident(asker: Asker) -> None:
    a = asker.ask("lock contention")
    assert a.intent == "search" and a.sources[0] == "inc-2-v1"
    assert len({s.rsplit("-v", 1)[0] for s in a.sources}) == len(a.sources)


def test_the_cli_answers_with_sources_and_says_who_answered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = SQLiteReportStore(home / "reports.sqlite")
    db.put_forecasts([_forecast("redis-cache", "redis_memory_used_bytes", 6.0)])
    db.close()
    res = runner.invoke(
        app,
        ["ask", "what", "runs", "out", "first?", "--home", str(home)],
        env={"FORESHOCK_LLM_BASE_URL": ""},
    )
    assert res.exit_code == 0, res.output
    assert "sources: forecast:redis-cache/redis_memory_used_bytes" in res.output
    assert "answered by offline (templates)" in res.output
    out = runner.invoke(app, ["ask", "what runs out first?", "--home", str(home), "--json"])
    assert json.loads(out.output)["intent"] == "capacity"


def test_the_cli_without_a_store_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ask", "anything", "--home", str(tmp_path / "none")])
    assert isinstance(res.exception, ConfigError) and "no report store" in str(res.exception)
