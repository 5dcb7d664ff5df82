"""Pages to PagerDuty through the durable outbox, against a local Events API v2 server:
valid events, once per incident, in order per key, through rate limits, 500s, outages
and a kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_pagerduty import ROUTING_KEY, FakePagerDuty
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.pipelines.sinks.outbox import Outbox
from foreshock.pipelines.sinks.pagerduty import MAX_EVENT_BYTES, PagerDutySink
from foreshock.schemas.alert import AlertEvent
from foreshock.sim.simulator import load_topology, simulate

FAST = (0.05, 0.1, 0.2, 0.4)


def _event(n: int, action: str = "trigger", **kw: object) -> AlertEvent:
    fields: dict[str, object] = {
        "dedup_key": f"inc-{n}",
        "action": action,
        "timestamp": 1_796_428_800.0 + n,
        "summary": f"[foreshock] redis-cache (memory_exhaustion): {n} anomalies",
        "source": "redis-cache",
        "severity": "critical",
        "report_id": f"inc-{n}-v1",
        "details": {"failure_mode": "memory_exhaustion", "dsn": "redis://:s3cr3tpw@cache:6379"},
    }
    return AlertEvent(**(fields | kw))  # type: ignore[arg-type]


def _sink(fake: FakePagerDuty, path: Path, interval: float = 0.0) -> PagerDutySink:
    return PagerDutySink(
        Outbox(path, backoff=FAST), ROUTING_KEY, fake.url, interval, ca_file=fake.ca_file
    )


def _until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_trigger_and_resolve_arrive_valid_masked_and_in_order(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    assert sink.send(_event(1)) and sink.send(_event(1, "resolve"))
    assert sink.flush(10)
    sink.close()
    assert fake_pagerduty.pages() == [("inc-1", "trigger"), ("inc-1", "resolve")]
    trigger = fake_pagerduty.accepted[0]
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["custom_details"]["failure_mode"] == "memory_exhaustion"
    assert "s3cr3tpw" not in json.dumps(fake_pagerduty.accepted)
    assert trigger["payload"]["class"] == "memory_exhaustion"
    assert [s for _, s, _ in fake_pagerduty.requests] == [202, 202]


def test_a_changed_diagnosis_updates_the_alert_under_the_same_key(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    update = _event(1, revision=1, source="mysql-primary", summary="[foreshock] mysql-primary")
    assert sink.send(_event(1)) and sink.send(update)
    assert not sink.send(update)  # re-emitted (a restart): kept once
    assert sink.send(_event(1, "resolve"))
    assert sink.flush(10)
    sink.close()
    assert fake_pagerduty.pages() == [("inc-1", "trigger")] * 2 + [("inc-1", "resolve")]
    assert [e.get("payload", {}).get("source") for e in fake_pagerduty.accepted[:2]] == [
        "redis-cache",
        "mysql-primary",
    ]


def test_a_page_goes_once_however_often_it_is_emitted(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite"
    sink = _sink(fake_pagerduty, path)
    assert sink.send(_event(1)) and not sink.send(_event(1))
    sink.close()
    again = _sink(fake_pagerduty, path)  # a restarted pipeline re-emits its events
    assert not again.send(_event(1))
    again.close()
    assert fake_pagerduty.pages() == [("inc-1", "trigger")]


def test_a_rate_limited_storm_is_delivered_whole_once_each_in_order(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    fake_pagerduty.rate_limit, fake_pagerduty.window_s = 3, 0.5
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    for n in range(8):
        sink.send(_event(n))
        sink.send(_event(n, "resolve"))
    assert sink.flush(60)
    sink.close()
    assert any(s == 429 for _, s, _ in fake_pagerduty.requests)  # the limit did bite
    keys = fake_pagerduty.pages()
    assert sorted(keys) == sorted(
        {(f"inc-{n}", a) for n in range(8) for a in ("trigger", "resolve")}
    )
    for n in range(8):
        assert keys.index((f"inc-{n}", "trigger")) < keys.index((f"inc-{n}", "resolve"))


def test_an_outage_loses_nothing_and_doubles_nothing(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    fake_pagerduty.down = True
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    for n in range(3):
        sink.send(_event(n))
    _until(lambda: len(fake_pagerduty.requests) >= 6)  # tried, failed, retried
    for n in range(3):
        sink.send(_event(n, "resolve"))
    assert sink.outbox.counts() == {"pending": 6}
    fake_pagerduty.down = False
    assert sink.flush(30)
    sink.close()
    keys = fake_pagerduty.pages()
    assert len(keys) == len(set(keys)) == 6
    for n in range(3):
        assert keys.index((f"inc-{n}", "trigger")) < keys.index((f"inc-{n}", "resolve"))


def test_500_is_retried_and_400_is_refused_for_good(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    fake_pagerduty.fail_with = 500
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    sink.send(_event(1))
    _until(lambda: len(fake_pagerduty.requests) >= 3)
    fake_pagerduty.fail_with = None
    assert sink.flush(10)
    fake_pagerduty.fail_with = 400
    sink.send(_event(2))
    _until(lambda: sink.outbox.counts().get("failed") == 1)
    time.sleep(0.5)  # back-off steps pass: a refused event is not tried again
    sink.close()
    assert fake_pagerduty.pages() == [("inc-1", "trigger")]
    assert sum(1 for _, s, b in fake_pagerduty.requests if s == 400) == 1
    assert sink.final_counts == {"delivered": 1, "failed": 1}


def test_an_event_over_512_kb_is_trimmed_not_refused(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    sink = _sink(fake_pagerduty, tmp_path / "outbox.sqlite")
    details = {f"evidence_{i}": "x" * 100_000 for i in range(12)}  # 1.2 MB of details
    sink.send(_event(1, details={**details, "failure_mode": "disk_full"}, summary="s" * 5000))
    assert sink.flush(10)
    sink.close()
    [got] = fake_pagerduty.accepted
    assert len(json.dumps(got).encode()) <= MAX_EVENT_BYTES
    assert len(got["payload"]["summary"]) == 1024
    kept = got["payload"]["custom_details"]
    assert kept["failure_mode"] == "disk_full" and kept["report"] == "inc-1-v1"
    assert all(kept[f"evidence_{i}"].endswith("characters left out)") for i in range(12))


# -- the pipeline -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate("redis_memory_exhaustion", seed=1, hours=6).write(
        tmp_path_factory.mktemp("pd") / "replay"
    )


def _env(fake: FakePagerDuty) -> dict[str, str]:
    return {
        "FORESHOCK_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "FORESHOCK_PAGERDUTY_EVENTS_URL": fake.url,
        "FORESHOCK_PAGERDUTY_CA_FILE": fake.ca_file,
    }


def test_a_run_pages_pagerduty_and_still_writes_the_local_log(
    fake_pagerduty: FakePagerDuty, replay: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    res = CliRunner().invoke(
        app, ["run", "--replay", str(replay), "--home", str(home)], env=_env(fake_pagerduty)
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"PagerDuty {fake_pagerduty.url} via outbox" in text and "2 delivered" in text
    local = [json.loads(x) for x in (home / "alerts.jsonl").read_text().splitlines()]
    assert [(a["dedup_key"], a["action"]) for a in local] == fake_pagerduty.pages()
    assert [a for _, a in fake_pagerduty.pages()] == ["trigger", "resolve"]


def test_kill_9_mid_incident_then_restart_pages_once(
    fake_pagerduty: FakePagerDuty, replay: Path, tmp_path: Path
) -> None:
    """The receiver is down; the pipeline is killed with SIGKILL once its page is in the
    outbox; restarted with the receiver back, it delivers that page, and no second one."""
    home = tmp_path / "home"
    fake_pagerduty.down = True
    env = {**os.environ, **_env(fake_pagerduty), "FORESHOCK_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "foreshock.cli.app",
        "run",
        "--replay",
        str(replay),
        "--home",
        str(home),
        "--json",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def queued() -> bool:
        db = home / "outbox.sqlite"
        if not db.exists():
            return False
        with sqlite3.connect(db) as c:
            try:
                return bool(c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            except sqlite3.OperationalError:
                return False

    try:
        _until(queued, timeout=120)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert fake_pagerduty.accepted == []
    fake_pagerduty.down = False
    res = CliRunner().invoke(
        app,
        ["run", "--replay", str(replay), "--home", str(home), "--json"],
        env=_env(fake_pagerduty),
    )
    assert res.exit_code == 0, res.output
    keys = fake_pagerduty.pages()
    assert len(keys) == len(set(keys)) and [a for _, a in keys] == ["trigger", "resolve"]


def test_config_show_masks_the_routing_key_and_shows_the_url() -> None:
    env = {
        "FORESHOCK_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "FORESHOCK_PAGERDUTY_EVENTS_URL": "https://events.example.test",
        "FORESHOCK_LLM_API_KEY": "sk-live-abcdefghijklmnop",
    }
    out = CliRunner().invoke(app, ["config", "show", "--json"], env=env)
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    settings = shown.get("settings", shown)
    assert settings["pagerduty_routing_key"] == "****" and settings["llm_api_key"] == "****"
    assert settings["pagerduty_events_url"] == "https://events.example.test"
    assert ROUTING_KEY not in out.output and "sk-live" not in out.output


def test_an_http_events_url_is_a_clear_error(tmp_path: Path) -> None:
    from foreshock.schemas.errors import ConfigError

    with pytest.raises(ConfigError, match=r"pagerduty_events_url 'http://x': .*https"):
        PagerDutySink(Outbox(tmp_path / "o.sqlite"), ROUTING_KEY, "http://x")


_STORM_TOPOLOGY = Path(__file__).resolve().parents[3] / "data" / "storm-topology.yaml"


def test_an_alert_storm_pages_once_per_incident_and_resolves_once(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    """Redis crashes under 16 more API services: over 20 resources turn anomalous within
    minutes; on-call gets one trigger and one resolve per incident paged, and every other
    incident is held as explained by a paged one."""
    replay = simulate(
        "redis_down", seed=3, hours=4, topology=load_topology(_STORM_TOPOLOGY), propagate=True
    ).write(tmp_path / "storm")
    home = tmp_path / "home"
    res = CliRunner().invoke(
        app,
        ["run", "--replay", str(replay), "--home", str(home), "--json"],
        env=_env(fake_pagerduty),
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    anomalous = {r for inc in out["incidents"] for r in inc["resources"]}
    assert len(anomalous) >= 20
    pages = fake_pagerduty.pages()
    triggered = [k for k, a in pages if a == "trigger"]
    assert len(triggered) == len(set(triggered)) >= 1  # one trigger per incident paged
    assert sorted(k for k, a in pages if a == "resolve") == sorted(triggered)
    for key in triggered:  # and its resolve after it
        assert pages.index((key, "trigger")) < pages.index((key, "resolve"))
    paged = set(triggered)
    store = SQLiteReportStore(home / "reports.sqlite")
    notes = {r.incident_id: r.paging_note or "" for r in reversed(store.recent(10_000))}
    store.close()
    for inc in out["incidents"]:
        if inc["id"] not in paged:  # a dependent's incident: held, and its report says why
            assert notes[inc["id"]].startswith("not paged: explained by open incident")
    # the root cause leads the incident that paged
    first = next(i for i in out["incidents"] if i["id"] == triggered[0])
    assert first["root_cause"]["resource"] == "redis-cache"
    assert fake_pagerduty.accepted[0]["payload"]["source"] == "redis-cache"
