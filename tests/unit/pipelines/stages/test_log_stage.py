"""The log stage: template rates become series; a new error template becomes one anomaly."""

from __future__ import annotations

import copy
import inspect
import math
import pickle
from pathlib import Path
from typing import Any

import pytest

import foreshock.detectors.logs.miner as miner_module
import foreshock.pipelines.stages.logs as logs_module
from foreshock.pipelines.sources.logs.tail import LogFiles
from foreshock.pipelines.stages.logs import LogStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state

KINDS = {"db-1": "mysql", "db-2": "mysql", "cache": "redis", "pg": "postgresql"}


def rec(t: float, message: str, level: str = "info", resource: str = "db-1") -> LogRecord:
    return LogRecord(timestamp=t, resource=resource, message=message, level=level)


def anomalies(out: Any) -> list[Anomaly]:
    return [x for x in out if isinstance(x, Anomaly)]


def batches(out: Any) -> list[MetricBatch]:
    return [x for x in out if isinstance(x, MetricBatch)]


def series(batch: MetricBatch) -> dict[tuple[str, str], float]:
    return {(r, m): v for r, m, v in zip(batch.resources, batch.metrics, batch.values, strict=True)}


def warm(stage: LogStage, resource: str = "db-1", until: float = 130.0) -> None:
    """Startup chatter, then lines until the warm-up is over."""
    stage.process(rec(0.0, "Starting MariaDB 10.11.6 as process 1", "notice", resource))
    stage.process(rec(until, "InnoDB: Buffer pool(s) load completed", "notice", resource))


def test_counters_per_level_and_template_keep_coming_for_quiet_series() -> None:
    stage = LogStage(KINDS, interval=10.0, lateness=0.0)
    out: list[Any] = []
    out += stage.process(rec(1.0, "Accepted connection from 10.0.0.1"))
    out += stage.process(rec(2.0, "Accepted connection from 10.0.0.2"))
    out += stage.process(rec(3.0, "Disk is slow", "warning"))
    assert out == []  # the window [0, 10) is still open
    out += stage.process(rec(15.0, "Accepted connection from 10.0.0.3"))
    [b10] = batches(out)
    assert b10.timestamp == 10.0
    s = series(b10)
    assert s[("db-1", 'log_lines_total{level="info"}')] == 2.0
    assert s[("db-1", 'log_lines_total{level="warning"}')] == 1.0
    per_template = {m: v for (_, m), v in s.items() if m.startswith("log_template_lines_total")}
    assert sorted(per_template.values()) == [1.0, 2.0]
    assert len(b10) == 4

    b20, b30 = batches(stage.tick(30.0))
    assert (b20.timestamp, b30.timestamp) == (20.0, 30.0)
    assert series(b20)[("db-1", 'log_lines_total{level="info"}')] == 3.0
    assert series(b20)[("db-1", 'log_lines_total{level="warning"}')] == 1.0
    assert series(b30) == series(b20)  # quiet: every known series still sent, unchanged
    assert set(series(b30)) == set(s)


def test_a_late_line_within_lateness_lands_in_its_window() -> None:
    stage = LogStage(KINDS, interval=10.0, lateness=5.0)
    stage.process(rec(1.0, "checkpoint complete", resource="pg"))
    assert stage.process(rec(11.0, "checkpoint complete", resource="pg")) == []
    stage.process(rec(9.5, "checkpoint complete", resource="cache"))  # another file, read later
    [b] = batches(stage.process(rec(16.0, "checkpoint complete", resource="pg")))
    assert b.timestamp == 10.0
    assert series(b)[("cache", 'log_lines_total{level="info"}')] == 1.0


def test_warm_up_is_silent_then_a_new_error_template_is_one_anomaly() -> None:
    stage = LogStage(KINDS)
    out: list[Any] = []
    for i in range(10):  # startup errors are learned, not raised
        out += stage.process(rec(10.0 * i, f"Plugin 'feedback{i}' is disabled", "error"))
        out += stage.process(rec(10.0 * i + 1, "InnoDB: Unable to lock ./ibdata1", "error"))
    out += stage.process(rec(150.0, "Server socket created on IP: '0.0.0.0'", "notice"))
    assert anomalies(out) == []

    out = stage.process(
        rec(200.0, "Lock wait timeout exceeded; try restarting transaction", "warning")
    )
    [a] = anomalies(out)
    assert (a.resource, a.kind, a.state, a.detector, a.role, a.direction) == (
        "db-1",
        "log",
        "open",
        "logs:new_template",
        "errors",
        "up",
    )
    assert a.metric.startswith('log_template{template="') and a.metric.endswith('"}')
    assert a.onset == a.detected_at == 200.0
    assert (a.value, a.baseline) == (1.0, 0.0)
    assert a.evidence[:2] == [
        "Lock wait timeout exceeded; try restarting transaction",
        "Lock wait timeout exceeded; try restarting transaction",
    ]
    assert "failure_mode:lock_contention" in a.evidence  # from packs/mysql log_patterns
    assert 0.0 <= a.score <= 1.0


def test_info_line_with_error_words_is_raised_and_plain_info_is_not() -> None:
    stage = LogStage(KINDS)
    warm(stage)
    assert anomalies(stage.process(rec(140.0, "Event scheduler started", "notice"))) == []
    [a] = anomalies(stage.process(rec(141.0, "Connection to replica refused", "info")))
    assert a.evidence[1] == "Connection to replica refused"
    fatal = anomalies(stage.process(rec(142.0, "Out of disk space on /data", "fatal")))
    assert fatal[0].score > a.score  # fatal ranks above an info line that looks like an error


def test_same_template_is_not_raised_again_then_closes_after_quiet() -> None:
    stage = LogStage(KINDS, quiet=600.0)
    warm(stage)
    out: list[Any] = []
    for i in range(5):  # the same template, different values
        out += stage.process(rec(200.0 + i, f"Too many connections (limit {100 + i})", "error"))
    [opened] = anomalies(out)
    assert "failure_mode:connection_exhaustion" in opened.evidence

    assert anomalies(stage.tick(200.0 + 4 + 599.0)) == []  # not quiet long enough yet
    [closed] = anomalies(stage.tick(200.0 + 4 + 600.0))
    assert closed.state == "closed" and closed.metric == opened.metric
    assert closed.value == 5.0 and closed.onset == opened.onset


def test_an_error_that_returns_after_closing_opens_again_until_it_is_normal() -> None:
    stage = LogStage(KINDS, quiet=100.0, max_episodes=2)
    warm(stage)
    opened: list[Anomaly] = []
    for k in range(4):
        t = 200.0 + 1000.0 * k
        opened += [a for a in anomalies(stage.process(rec(t, "Deadlock found", "error"))) if a]
        stage.tick(t + 200.0)
    assert [a.state for a in opened] == ["open", "open"]  # the 3rd and 4th time: normal


def test_a_template_known_on_one_resource_is_still_new_on_another() -> None:
    stage = LogStage(KINDS)
    warm(stage, "db-1")
    warm(stage, "db-2")
    line = "Disk is full writing './shop/orders.ibd'; waiting for someone to free space"
    [a1] = anomalies(stage.process(rec(200.0, line, "error", "db-1")))
    [a2] = anomalies(stage.process(rec(210.0, line, "error", "db-2")))
    assert (a1.resource, a2.resource) == ("db-1", "db-2")
    assert a1.metric == a2.metric  # one miner per kind: the same template id


def test_the_warm_up_covers_every_resource_starting_with_the_stage() -> None:
    stage = LogStage(KINDS)
    stage.process(rec(0.0, "Starting MariaDB 10.11.6 as process 1", "notice"))
    out = stage.process(rec(60.0, "WARNING overcommit_memory is set to 0", "warning", "cache"))
    assert anomalies(out) == []  # cache's startup chatter, in the stage's first two minutes


def test_a_silent_resource_s_first_line_after_the_warm_up_is_not_startup_chatter() -> None:
    # a file tailed from its end: Redis logs nothing for an hour, then its shutdown
    stage = LogStage(KINDS)
    stage.tick(0.0)  # the pipeline starts (metric batches tick the stage)
    stage.tick(3600.0)
    out = stage.process(rec(3601.0, "User requested shutdown...", "warning", "cache"))
    [a] = anomalies(out)
    assert (a.resource, a.state) == ("cache", "open")
    assert "User requested shutdown" in a.evidence[0]


def _script() -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("rec", rec(0.0, "Starting MariaDB 10.11.6", "notice"))]
    for i in range(1, 60):
        t = 5.0 * i
        steps.append(("rec", rec(t, f"Accepted connection {i} from 10.0.0.{i}")))
        if i in (30, 31, 45):
            steps.append(("rec", rec(t + 1, f"Too many connections (limit {i})", "error")))
        if i == 50:
            steps.append(("rec", rec(t + 2, "Redo log write failed: no space left", "error")))
    steps.append(("tick", 2000.0))
    return steps


def _run(stage: LogStage, steps: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    out: list[Any] = []
    for what, x in steps:
        out += stage.process(x) if what == "rec" else stage.tick(x)
    return [o.model_dump() for o in out]


def test_snapshot_and_restore_continue_exactly() -> None:
    steps = _script()
    whole = _run(LogStage(KINDS), steps)
    assert len([o for o in whole if o.get("kind") == "log"]) == 4  # 2 opened, 2 closed

    cut = 33  # mid-episode, mid-window
    first = LogStage(KINDS)
    before = _run(first, steps[:cut])
    second = LogStage(KINDS)
    second.restore(first.snapshot())
    after = _run(second, steps[cut:])
    assert before + after == whole


def test_from_a_postgresql_file_to_an_anomaly(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text(
        "2026-11-25 13:50:00.000 UTC [1] LOG:  database system is ready to accept connections\n"
    )
    files = LogFiles([f"{log}=pg:postgresql"])
    stage = LogStage(KINDS)
    out: list[Any] = []
    for r in files.poll() + files.poll():
        out += stage.process(r)
    with log.open("a") as f:
        f.write(
            "2026-11-25 13:55:00.000 UTC [90] FATAL:  sorry, too many clients already\n"
            "2026-11-25 13:55:00.100 UTC [91] FATAL:  sorry, too many clients already\n"
        )
    for r in files.poll() + files.poll():
        out += stage.process(r)
    files.close()
    [a] = anomalies(out)
    assert (a.resource, a.evidence[0], a.score) == ("pg", "sorry, too many clients already", 0.99)
    assert batches(out)  # and the rates went out as series


def _busy_script() -> list[tuple[str, Any]]:
    """Three resources of three kinds, errors that open, close and come back, gaps, ticks."""
    steps: list[tuple[str, Any]] = [("tick", 0.0)]
    for i in range(1, 120):
        t = 7.0 * i
        steps.append(("rec", rec(t, f"Accepted connection {i} from 10.0.0.{i % 250}")))
        steps.append(
            ("rec", rec(t + 0.5, f"DB saved on disk after {i} changes", "notice", "cache"))
        )
        if i % 9 == 0:
            steps.append(
                ("rec", rec(t + 1, f"checkpoint complete: wrote {i} buffers", "log", "pg"))
            )
        if i in (30, 31, 45, 90, 91):
            steps.append(("rec", rec(t + 2, f"Too many connections (limit {i})", "error")))
        if i in (50, 100):
            steps.append(("rec", rec(t + 3, "OOM command not allowed", "warning", "cache")))
        if i == 70:
            steps.append(("tick", t + 4))
            steps.append(("rec", rec(t - 20, "late line: Deadlock found", "error", "db-2")))
    steps.append(("tick", 5000.0))
    return steps


@pytest.mark.parametrize("cut", [0, 1, 2, 40, 66, 100, 180, 262])
def test_a_stage_restored_from_a_snapshot_continues_like_the_original(cut: int) -> None:
    steps = _busy_script()
    whole = _run(LogStage(KINDS, quiet=60.0), steps)
    assert len([o for o in whole if o.get("kind") == "log"]) >= 6
    first = LogStage(KINDS, quiet=60.0)
    before = _run(first, steps[:cut])
    blob = first.snapshot()
    second = LogStage(KINDS, quiet=60.0)
    second.restore(blob)
    assert second.state_dict() == first.state_dict()
    assert second.state_of() == first.state_of()
    after = _run(second, steps[cut:])
    assert before + after == whole
    assert _run(first, steps[cut:]) == after  # taking the snapshot changed nothing


def test_state_dict_is_plain_data_with_infinite_clocks_before_any_event() -> None:
    stage = LogStage(KINDS)
    state = stage.state_dict()
    assert (state["window"], state["clock"], state["started"]) == (None, -math.inf, math.inf)
    restored = LogStage(KINDS)
    restored.restore(stage.snapshot())
    assert restored.state_dict() == state
    assert _run(restored, _script()) == _run(LogStage(KINDS), _script())


@pytest.mark.parametrize("at", [0, 4, 5, 12, 40, -1])
def test_a_tampered_snapshot_is_refused_and_the_stage_left_as_it_was(at: int) -> None:
    first = LogStage(KINDS)
    _run(first, _script()[:40])
    blob = bytearray(first.snapshot())
    blob[at] ^= 0x01
    second = LogStage(KINDS)
    _run(second, _script()[:3])
    kept = second.state_dict()
    with pytest.raises(SnapshotError):
        second.restore(bytes(blob))
    assert second.state_dict() == kept


@pytest.mark.parametrize(
    "setting",
    [
        {"interval": 60.0},
        {"lateness": 0.0},
        {"warmup": 0.0},
        {"quiet": 60.0},
        {"max_episodes": 1},
        {"max_template_series": 10},
        {"max_fill": 5},
    ],
)
def test_a_snapshot_taken_with_other_hyperparameters_is_refused(setting: dict[str, Any]) -> None:
    first = LogStage(KINDS)
    _run(first, _script()[:40])
    with pytest.raises(SnapshotError, match="snapshot learned under"):
        LogStage(KINDS, **setting).restore(first.snapshot())


def test_a_pickle_or_a_snapshot_of_another_stage_is_refused() -> None:
    stage = LogStage(KINDS)
    with pytest.raises(SnapshotError, match="FSKS"):
        stage.restore(pickle.dumps(({}, ({}, None, 0.0, 0, 0, 0.0))))
    with pytest.raises(SnapshotError, match="'detect' stage"):
        stage.restore(dump_state("detect", {}, config=stage.state_dict()))


DEFAULTS = {
    "interval": 10.0,
    "lateness": 5.0,
    "warmup": 120.0,
    "quiet": 600.0,
    "max_episodes": 3,
    "max_template_series": 200,
    "max_fill": 60,
}


def _mangle(state: dict[str, Any], how: str) -> dict[str, Any]:
    s = copy.deepcopy(state)
    res = s["resources"]["db-1"]
    tid = next(iter(res["episodes"]))
    if how == "missing key":
        del s["clock"]
    elif how == "lines as text":
        s["lines"] = "12"
    elif how == "window as text":
        s["window"] = "0"
    elif how == "resource missing seen":
        del res["seen"]
    elif how == "seen as a list":
        res["seen"] = sorted(res["seen"])
    elif how == "level count as float":
        res["levels"]["info"] = 1.5
    elif how == "episode not a dict":
        res["episodes"][tid] = [1, 2, 3]
    elif how == "anomaly out of range":
        res["episodes"][tid]["anomaly"]["score"] = 7.0
    elif how == "anomaly missing a field":
        del res["episodes"][tid]["anomaly"]["metric"]
    elif how == "miner state broken":
        s["miners"]["mysql"]["tree"] = []
    elif how == "miners not a dict":
        s["miners"] = []
    return s


@pytest.mark.parametrize(
    "how",
    [
        "missing key",
        "lines as text",
        "window as text",
        "resource missing seen",
        "seen as a list",
        "level count as float",
        "episode not a dict",
        "anomaly out of range",
        "anomaly missing a field",
        "miner state broken",
        "miners not a dict",
    ],
)
def test_a_malformed_state_is_refused_with_a_snapshot_error(how: str) -> None:
    first = LogStage(KINDS)
    _run(first, _script()[:40])  # an episode is open on db-1
    blob = dump_state("logs", _mangle(first.state_dict(), how), config=DEFAULTS)
    second = LogStage(KINDS)
    assert second.config() == DEFAULTS
    kept = second.state_dict()
    with pytest.raises(SnapshotError, match=r"^(log stage|miner) state: "):
        second.restore(blob)
    assert second.state_dict() == kept


def test_no_pickle_in_the_log_stage_or_the_miner() -> None:
    for module in (logs_module, miner_module):
        source = inspect.getsource(module)
        assert "import pickle" not in source and "pickle." not in source
