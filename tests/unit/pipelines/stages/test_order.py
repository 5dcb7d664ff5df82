"""The correlation half applies the anomalies of one instant in one order, whatever order
they were produced in (the lab's distributed worker once lost a symptom this way)."""

from __future__ import annotations

import itertools

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.assembly import correlation
from foreshock.pipelines.chain import Tick
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.stages.order import OrderStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident
from foreshock.schemas.topology import Topology

TOPOLOGY = Topology.model_validate(
    {
        "nodes": [
            {"id": "app", "kind": "service"},
            {"id": "mariadb", "kind": "mysql"},
            {"id": "redis", "kind": "redis"},
        ],
        "edges": [{"from": "app", "to": "mariadb"}, {"from": "app", "to": "redis"}],
    }
)


def anomaly(resource: str, metric: str, t: float, state: str = "open") -> Anomaly:
    return Anomaly(
        resource=resource,
        metric=metric,
        onset=t - 30.0 if state == "open" else 100.0,
        detected_at=t,
        value=10.0,
        baseline=1.0,
        score=0.9999,
        raw_score=12.0,
        direction="up",
        detector="fleet",
        state=state,  # type: ignore[arg-type]
    )


def run(order: list[Anomaly]) -> list[tuple[str, list[str]]]:
    half = correlation(
        Settings.load(env={}, config=None), NetworkXGraph(TOPOLOGY), PackIndex(load_packs())
    )
    chain = half.chain
    first = [anomaly("mariadb", "mysql_slow_queries", 100.0), anomaly("app", "latency", 100.0)]
    incidents: dict[str, Incident] = {}
    for item in [*first, Tick(100.0), *order, Tick(200.0), Tick(260.0)]:
        for out in chain.push(item):
            if isinstance(out, Incident):
                incidents[out.id] = out
    return sorted((i.id, i.resources) for i in incidents.values())


def test_a_symptom_at_the_instant_its_incident_recovers_joins_it_in_any_order() -> None:
    at_200 = [
        anomaly("mariadb", "mysql_slow_queries", 200.0, "closed"),
        anomaly("app", "latency", 200.0, "closed"),
        anomaly("redis", "redis_connected_clients", 200.0),
    ]
    results = [run(list(p)) for p in itertools.permutations(at_200)]
    assert all(r == results[0] for r in results), results
    # the redis anomaly coincides with the incident's last instant: it joins it
    assert [resources for _, resources in results[0]] == [["app", "mariadb", "redis"]]


def test_anomalies_wait_for_the_clock_and_survive_a_snapshot() -> None:
    stage = OrderStage()
    late, early = anomaly("redis", "m", 20.0), anomaly("app", "m", 10.0)
    assert stage.process(late) == [] and stage.process(early) == []
    assert stage.tick(15.0) == [early]
    again = OrderStage()
    again.restore(stage.snapshot())
    assert again.tick(30.0) == [late]
    assert again.tick(40.0) == []
