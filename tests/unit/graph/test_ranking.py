from __future__ import annotations

from graph.embedded import NetworkXGraph
from graph.grouping import IncidentGrouper
from graph.ranking import RootCauseRanker
from packs.loader import PackIndex, load_packs
from schemas.anomaly import Anomaly
from schemas.topology import Topology

TOPO = Topology.model_validate(
    {
        "nodes": [
            {"id": "web", "kind": "service"},
            {"id": "db", "kind": "mysql"},
            {"id": "broker", "kind": "kafka"},
            {"id": "h1", "kind": "host"},
            {"id": "lonely", "kind": "other"},
        ],
        "edges": [
            {"from": "web", "to": "db", "type": "depends_on"},
            {"from": "web", "to": "broker", "type": "produces_to"},
            {"from": "broker", "to": "h1", "type": "runs_on"},
        ],
    }
)
PACKS = PackIndex(load_packs())


def an(
    r: str, m: str, onset: float, z: float = 9.0, direction: str = "up", role: str | None = None
) -> Anomaly:
    return Anomaly(
        resource=r,
        metric=m,
        onset=onset,
        detected_at=onset + 45,
        score=1.0,
        raw_score=z,
        direction=direction,
        value=1.0,
        baseline=0.0,
        detector="fleet",
        role=role,  # type: ignore[arg-type]
    )


def ranker() -> RootCauseRanker:
    return RootCauseRanker(NetworkXGraph(TOPO), PACKS)


def test_the_dependency_beats_its_dependent_and_evidence_names_the_path() -> None:
    ranked = ranker().rank(
        [
            an("db", "mysql_global_status_innodb_row_lock_waits", 0),
            an("web", 'http_request_duration_seconds{quantile="0.99"}', 120),
        ]
    )
    top = ranked[0]
    assert top.resource == "db" and top.failure_mode == "lock_contention"
    assert top.evidence.explained_resources == ["web"]
    assert top.evidence.paths == [["web", "db"]]
    assert top.evidence.parts.direction == 1.0


def test_pack_effects_make_the_filling_broker_the_cause_not_its_host() -> None:
    # the broker's log grows and the host's disk fills at the same moment: the kafka pack
    # says a disk_full broker explains the host's free space dropping, not the reverse
    ranked = ranker().rank(
        [
            an("h1", 'node_filesystem_avail_bytes{mountpoint="/"}', 0, -20, "down", "utilisation"),
            an("broker", "kafka_log_log_size", 0, 20, "up", "utilisation"),
            an("broker", "kafka_server_brokertopicmetrics_failedproducerequests_total", 900),
            an("web", "http_request_errors_total", 930),
        ]
    )
    assert [c.resource for c in ranked][:2] == ["broker", "h1"]
    assert ranked[0].failure_mode == "disk_full"


def test_unknown_kinds_and_metrics_rank_by_direction_and_onset() -> None:
    topo = Topology.model_validate(
        {
            "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
            "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
        }
    )
    r = RootCauseRanker(NetworkXGraph(topo), PACKS)
    ranked = r.rank([an("a", "x", 100), an("b", "y", 50), an("c", "z", 0)])
    assert [c.resource for c in ranked] == ["c", "b", "a"]
    assert all(c.failure_mode is None for c in ranked)


def test_grouping_makes_one_incident_of_connected_anomalies_and_none_of_a_blip() -> None:
    g = NetworkXGraph(TOPO)
    grouper = IncidentGrouper(g, RootCauseRanker(g, PACKS))
    assert grouper.process(an("lonely", "q", 0)) == []  # one series, not yet credible
    out = grouper.process(an("db", "mysql_global_status_slow_queries", 10))
    out += grouper.process(an("web", 'http_request_duration_seconds{quantile="0.99"}', 60))
    incidents = {i.id: i for i in out}
    assert len(incidents) == 1
    (inc,) = incidents.values()
    assert inc.resources == ["db", "web"] and inc.root_cause is not None
    assert inc.root_cause.resource == "db"
    # the lonely blip closes quickly: it is dropped, never opened
    closed = an("lonely", "q", 0).model_copy(update={"state": "closed", "detected_at": 90})
    grouper.process(closed)
    assert grouper.tick(90 + 901) == [] and grouper.suppressed == 1


def test_incident_resolves_after_its_anomalies_close_and_quiet_passes() -> None:
    g = NetworkXGraph(TOPO)
    grouper = IncidentGrouper(g, RootCauseRanker(g, PACKS), resolve_after=300)
    a1 = an("db", "mysql_global_status_slow_queries", 0)
    a2 = an("web", "http_request_errors_total", 30)
    grouper.process(a1)
    (inc,) = grouper.process(a2)
    for a in (a1, a2):
        grouper.process(a.model_copy(update={"state": "closed", "detected_at": 600}))
    assert grouper.tick(800) == []
    (done,) = grouper.tick(901)
    assert done.id == inc.id and done.status == "resolved" and done.version == inc.version + 1
    # a new anomaly afterwards is a new incident
    grouper.process(an("db", "mysql_global_status_slow_queries", 2000))
    (new,) = grouper.process(an("web", "http_request_errors_total", 2010))
    assert new.id != inc.id
