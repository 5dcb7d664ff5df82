"""Silences: a silenced resource's fault pages no one and its report says why; other
faults still page; `foreshock silence` adds, lists and removes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_pagerduty import ROUTING_KEY, FakePagerDuty
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.schemas.errors import ConfigError
from foreshock.sim.simulator import simulate

runner = CliRunner()


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    res = runner.invoke(app, [*args, "--home", str(home)], env=env)
    assert res.exit_code == 0, res.output
    return res.output


def test_add_list_remove(tmp_path: Path) -> None:
    out = _cli(
        tmp_path,
        "silence",
        "add",
        "--resource",
        "redis-cache",
        "--for",
        "2h",
        "--reason",
        "upgrade to 7.2 (ana)",
    )
    assert out.startswith("added s-1 (resource=redis-cache, until ")
    _cli(
        tmp_path,
        "silence",
        "add",
        "--kind",
        "mysql",
        "--failure-mode",
        "replication_lag",
        "--for",
        "30m",
        "--reason",
        "reseeding the replica",
    )
    listed = json.loads(_cli(tmp_path, "silence", "list", "--json"))
    assert [(s["id"], s["resource"], s["kind"], s["failure_mode"]) for s in listed] == [
        ("s-1", "redis-cache", None, None),
        ("s-2", None, "mysql", "replication_lag"),
    ]
    assert listed[1]["ends_at"] - listed[1]["starts_at"] == 1800
    assert "removed s-1" in _cli(tmp_path, "silence", "remove", "s-1")
    assert [s["id"] for s in json.loads(_cli(tmp_path, "silence", "list", "--json"))] == ["s-2"]
    gone = runner.invoke(app, ["silence", "remove", "s-1", "--home", str(tmp_path)])
    assert gone.exit_code == 1 and "no silence s-1 in force" in gone.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--for", "2h", "--reason", "x"], "needs --resource or --kind"),
        (["--resource", "r", "--for", "2h", "--reason", " "], "needs a --reason"),
        (["--resource", "r", "--for", "soon", "--reason", "x"], "not a duration"),
        (["--resource", "r", "--for", "0s", "--reason", "x"], "positive --for"),
    ],
)
def test_a_bad_silence_is_a_clear_error(tmp_path: Path, args: list[str], why: str) -> None:
    res = runner.invoke(app, ["silence", "add", *args, "--home", str(tmp_path)])
    assert isinstance(res.exception, ConfigError) and why in str(res.exception)


def test_a_silenced_fault_pages_no_one_and_its_report_says_why_others_still_page(
    fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {
        "FORESHOCK_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "FORESHOCK_PAGERDUTY_EVENTS_URL": fake_pagerduty.url,
        "FORESHOCK_PAGERDUTY_CA_FILE": fake_pagerduty.ca_file,
    }
    _cli(
        home,
        "silence",
        "add",
        "--resource",
        "redis-cache",
        "--for",
        "2h",
        "--reason",
        "redis upgrade",
    )
    redis = simulate("redis_memory_exhaustion", seed=1, hours=4).write(tmp_path / "redis")
    out = json.loads(_cli(home, "run", "--replay", str(redis), "--json", env=env))
    [inc] = out["incidents"]
    assert inc["root_cause"]["resource"] == "redis-cache"  # recorded, as ever
    assert out["alerts"] == [] and fake_pagerduty.accepted == []
    assert out["silenced"] == [{"incident": inc["id"], "silence": "s-1"}]
    report = json.loads(_cli(home, "reports", "show", inc["id"], "--json"))
    assert report["paging_note"].startswith("not paged: silence s-1 (resource=redis-cache")
    assert report["paging_note"].endswith("redis upgrade")
    shown = _cli(home, "reports", "show", inc["id"])
    assert "Paging: not paged: silence s-1" in " ".join(shown.split())

    mysql = simulate("mysql_lock_contention", seed=1, hours=4).write(tmp_path / "mysql")
    out = json.loads(_cli(home, "run", "--replay", str(mysql), "--json", env=env))
    assert [a["action"] for a in out["alerts"]] == ["trigger", "resolve"]
    assert [a for _, a in fake_pagerduty.pages()] == ["trigger", "resolve"]


def test_false_positive_feedback_stops_pages_of_that_signature_on_a_replay(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    redis = simulate("redis_memory_exhaustion", seed=1, hours=4).write(tmp_path / "redis")
    first = json.loads(_cli(home, "run", "--replay", str(redis), "--json"))
    [inc] = first["incidents"]
    assert [a["action"] for a in first["alerts"]] == ["trigger", "resolve"]
    out = _cli(home, "feedback", inc["id"], "--false-positive", "--note", "load test")
    assert "(resource=redis-cache, failure_mode=memory_exhaustion, until removed)" in out

    again = simulate("redis_memory_exhaustion", seed=2, hours=4).write(tmp_path / "again")
    second = json.loads(_cli(home, "run", "--replay", str(again), "--json"))
    assert second["incidents"] and second["alerts"] == []  # recorded, not paged
    note = json.loads(_cli(home, "reports", "show", second["incidents"][0]["id"], "--json"))
    assert "false positive (feedback on " + inc["id"] + "): load test" in note["paging_note"]

    mysql = simulate("mysql_lock_contention", seed=1, hours=4).write(tmp_path / "mysql")
    third = json.loads(_cli(home, "run", "--replay", str(mysql), "--json"))
    assert [a["action"] for a in third["alerts"]] == ["trigger", "resolve"]


def test_wrong_root_cause_feedback_is_recorded_on_the_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    redis = simulate("redis_memory_exhaustion", seed=1, hours=4).write(tmp_path / "redis")
    [inc] = json.loads(_cli(home, "run", "--replay", str(redis), "--json"))["incidents"]
    _cli(home, "feedback", inc["id"], "--wrong-root-cause", "catalog", "--note", "bad deploy")
    report = json.loads(_cli(home, "reports", "show", inc["id"], "--json"))
    assert report["feedback"] == "operator feedback: the root cause was catalog (bad deploy)"
    assert "catalog" in _cli(home, "reports", "search", "bad", "deploy")
    both = runner.invoke(app, ["feedback", inc["id"], "--home", str(home)])
    assert isinstance(both.exception, ConfigError)
