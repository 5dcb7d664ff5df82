"""Failure-mode symptoms seen on series no pack names, read from their names.

Issue 11: a pack writes a failure mode's symptoms with its exporters' names
(``container_cpu_usage_percent``); the same data exported as ``cpu_usage`` matched none, so
under another tool's names the knowledge factor was silent and a CPU contention ranked 2nd
and 3rd behind its host (Nezha with generic names: cpu_contention top-1 81%, now 94%).
"""

from __future__ import annotations

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.packs.naming import guess_role
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.topology import Topology

TOPO = Topology.model_validate({"nodes": [{"id": "app", "kind": "service"}], "edges": []})
RANKER = RootCauseRanker(NetworkXGraph(TOPO), PackIndex(load_packs()))


def an(metric: str, direction: str = "up") -> Anomaly:
    return Anomaly(
        resource="app",
        metric=metric,
        onset=0.0,
        detected_at=60.0,
        score=1.0,
        raw_score=12.0,
        direction=direction,  # type: ignore[arg-type]
        value=2.0,
        baseline=1.0,
        detector="fleet",
        role=guess_role(metric)[0],
        step=60.0,
    )


def test_a_cpu_named_by_another_tool_is_the_cpu_saturation_symptom() -> None:
    mode, knowledge, matched = RANKER.best_mode("app", [an("cpu_usage"), an("latency_p90")])
    assert mode == "cpu_saturation"
    assert knowledge == 1.0
    assert "container_cpu_usage_percent up (read as cpu_usage)" in matched


def test_a_usage_of_something_else_is_not_read_as_the_cpu() -> None:
    mode, _, matched = RANKER.best_mode("app", [an("memory_usage"), an("latency_p90")])
    assert mode != "cpu_saturation"
    assert not any("cpu" in m for m in matched)


def test_one_error_rate_reads_as_one_error_symptom_not_every_name_of_it() -> None:
    # error_burst lists three exporters' names of an error count (weight 2 each): one
    # error_rate standing in for all three would outweigh a CPU saturation fully seen
    own = [an("error_rate"), an("cpu_usage"), an("latency_p90"), an("client_latency_p90")]
    mode, knowledge, _ = RANKER.best_mode("app", own)
    assert (mode, knowledge) == ("cpu_saturation", 1.0)
    burst = RANKER.best_mode("app", [an("error_rate")])
    assert burst[0] == "error_burst"
    assert burst[1] == 2.0 / 7.0  # one error symptom (weight 2) of 7
    assert len(burst[2]) == 1


def test_a_pack_name_matches_as_before_and_a_wrong_direction_does_not_read() -> None:
    named = RANKER.best_mode("app", [an("container_cpu_usage_percent")])
    assert named[0] == "cpu_saturation"
    assert named[2] == ["container_cpu_usage_percent up"]
    assert RANKER.best_mode("app", [an("cpu_usage", direction="down")])[0] is None


def test_request_times_in_milliseconds_add_up_like_seconds() -> None:
    # the same PetShop shape as test_ranking_biases' 40 ms database, exported in ms by
    # someone else: the unit comes from the name (``_ms``) and the rise is compared in
    # seconds, so a database 43 ms slower does not explain a client 240 ms slower
    topo = Topology.model_validate(
        {
            "nodes": [{"id": "carts", "kind": "service"}, {"id": "db", "kind": "mysql"}],
            "edges": [{"from": "carts", "to": "db"}],
        }
    )
    ranker = RootCauseRanker(NetworkXGraph(topo), PackIndex(load_packs()))

    def lat(r: str, onset: float, base: float, value: float) -> Anomaly:
        role, _, unit = guess_role("latency_ms_p50")
        return Anomaly(
            resource=r,
            metric="latency_ms_p50",
            onset=onset,
            detected_at=onset + 300,
            score=1.0,
            raw_score=20.0,
            direction="up",
            value=value,
            baseline=base,
            detector="fleet",
            role=role,
            step=300.0,
            unit=unit,
        )

    order = [
        c.resource for c in ranker.rank([lat("db", 0, 13.0, 56.0), lat("carts", 300, 190.0, 430.0)])
    ]
    assert order[0] == "carts", order
    order = [
        c.resource
        for c in ranker.rank([lat("db", 0, 13.0, 500.0), lat("carts", 300, 190.0, 430.0)])
    ]
    assert order[0] == "db", order


def test_a_service_short_of_memory_is_named_so_under_any_name() -> None:
    # a memory leak or hog (Sock Shop's memory faults): the service pack knew no memory
    # failure of a service, so a service whose memory filled matched no mode at all
    for metric in ("container_memory_usage_percent", "mem", "memory_usage"):
        mode, knowledge, _ = RANKER.best_mode("app", [an(metric), an("latency_p90")])
        assert (mode, knowledge) == ("memory_pressure", 1.0), metric


def test_without_a_topology_a_resource_is_read_by_the_pack_that_names_its_metrics() -> None:
    # a replay with no topology.yaml: every resource is of kind "other", which no pack
    # covers, so no failure mode was ever matched (the knowledge factor silent for all)
    bare = RootCauseRanker(NetworkXGraph(Topology(nodes=[], edges=[])), PackIndex(load_packs()))
    assert bare.best_mode("app", [an("cpu_usage"), an("latency_p90")])[0] == "cpu_saturation"
    db = [an("mysql_global_status_threads_connected"), an("mysql_global_status_aborted_connects")]
    assert bare.best_mode("app", db)[0] == "connection_exhaustion"
    (cand,) = bare.rank([an("memory_usage"), an("latency_p90")])
    assert cand.failure_mode == "memory_pressure" and cand.evidence.parts.knowledge == 1.0
