"""Stages are pure and restartable: a snapshot mid-stream continues exactly."""

from __future__ import annotations

from pathlib import Path

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.sources.replay import read_replay
from foreshock.pipelines.stages.correlate import CorrelateStage
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.metrics import MetricBatch


def _drive(rep, detect: DetectStage, correlate: CorrelateStage, batches):  # type: ignore[no-untyped-def]
    anomalies: list[Anomaly] = []
    incidents = []
    for b in batches:
        for a in detect.process(b):
            anomalies.append(a)
            incidents += correlate.process(a)
        incidents += correlate.tick(b.timestamp)
    return anomalies, incidents


def test_snapshot_and_restore_mid_replay_gives_the_same_result(lock_replay: Path) -> None:
    rep = read_replay(lock_replay)
    kinds = rep.topology.kinds()
    d1, c1 = DetectStage(kinds=kinds), CorrelateStage(NetworkXGraph(rep.topology))
    whole = _drive(rep, d1, c1, rep.batches)

    half = len(rep.batches) * 3 // 4  # the fault is under way by then
    d2, c2 = DetectStage(kinds=kinds), CorrelateStage(NetworkXGraph(rep.topology))
    first = _drive(rep, d2, c2, rep.batches[:half])
    d3, c3 = DetectStage(kinds=kinds), CorrelateStage(NetworkXGraph(rep.topology))
    d3.restore(d2.snapshot())
    c3.restore(c2.snapshot())
    second = _drive(rep, d3, c3, rep.batches[half:])
    assert first[0] + second[0] == whole[0]
    assert [(i.id, i.version) for i in first[1] + second[1]] == [
        (i.id, i.version) for i in whole[1]
    ]
    assert whole[1][-1].root_cause is not None


def test_replays_are_deterministic_and_reruns_do_not_page_twice(
    lock_replay: Path, tmp_path: Path
) -> None:
    a = run_replay(lock_replay, tmp_path / "home")
    b = run_replay(lock_replay, tmp_path / "home")  # same home: alerts.jsonl remembers
    assert [i.model_dump() for i in a.incidents] == [i.model_dump() for i in b.incidents]
    assert [e.action for e in a.alerts] == ["trigger", "resolve"]
    assert b.alerts == []
    lines = (tmp_path / "home" / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_detect_stage_uses_pack_direction(lock_replay: Path) -> None:
    rep = read_replay(lock_replay)
    stage = DetectStage(kinds=rep.topology.kinds())
    out = [a for b in rep.batches for a in stage.process(b) if a.state == "open"]
    # questions dropping is suspect for MySQL (both ways); connected clients dropping on
    # Redis is too; but no "good news" direction ever opens an anomaly
    for a in out:
        spec = stage.packs.spec(rep.topology.kinds()[a.resource], a.metric)
        assert spec.suspects(a.direction), (a.metric, a.direction)


def _flat_then_flapping(metric: str, tail: list[float]) -> list[Anomaly]:
    """A gauge flat at 1 for 10 minutes, then ``tail``, scraped every 5 s (the lab's case:
    a second exporter session on PostgreSQL's maintenance database, active at some scrapes)."""
    stage = DetectStage(kinds={"pg": "postgresql"})
    values = [1.0] * 120 + tail
    out: list[Anomaly] = []
    for t, v in enumerate(values):
        batch = MetricBatch(timestamp=5.0 * t, resources=["pg"], metrics=[metric], values=[v])
        out += stage.process(batch)
    return [a for a in out if a.state == "open"]


FLAP = [2.0 if k % 3 else 1.0 for k in range(240)]  # 20 minutes of 1, 2, 2, 1, 2, 2...


def test_one_more_connection_is_not_an_anomaly_but_a_pile_up_is() -> None:
    # the pack gives pg_stat_activity_count a resolution of one connection
    assert _flat_then_flapping('pg_stat_activity_count{state="active"}', FLAP) == []
    [a] = _flat_then_flapping('pg_stat_activity_count{state="active"}', [1.0] * 10 + [30.0] * 10)
    assert (a.resource, a.direction, a.value) == ("pg", "up", 30.0)
    # a gauge no pack gives a resolution learns nothing from its flat start but "rounding noise"
    assert _flat_then_flapping("some_gauge_nobody_knows", FLAP) != []


def test_a_counter_sample_that_is_not_a_number_is_skipped_not_taken_as_a_reset() -> None:
    from foreshock.pipelines.stages.detect import DetectStage
    from foreshock.schemas.metrics import MetricBatch

    def run(with_nan: bool) -> list[tuple[str, float]]:
        stage = DetectStage(kinds={"db": "mysql"})
        out = []
        for k in range(400):
            v = 1000.0 * k + (k % 7)  # a steady counter: ~66/s at a 15 s scrape
            if with_nan and k in (300, 302, 304, 306):
                v = float("nan")  # failed scrapes of that series
            batch = MetricBatch(
                timestamp=15.0 * k,
                resources=["db"],
                metrics=["mysql_global_status_questions"],
                values=[v],
            )
            out += [(a.state, a.detected_at) for a in stage.process(batch)]
        return out

    # before: the NaN became the counter's last value, the next sample looked like a reset
    # and its whole value a rate of thousands per second
    assert run(with_nan=True) == run(with_nan=False) == []
