"""The grouper on long runs: what it holds stays bounded, and behaviour does not change.

Issue 10: resolved groups used to be kept forever, and every anomaly was checked against
all of them. A resolved group can no longer change, so it is dropped as it resolves; its
id stays reserved, and a recurrence while an incident is recovering still joins it.
"""

from __future__ import annotations

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident
from foreshock.schemas.topology import Topology

TOPO = Topology.model_validate(
    {
        "nodes": [
            {"id": "web", "kind": "service"},
            {"id": "db", "kind": "mysql"},
            {"id": "lonely", "kind": "other"},
        ],
        "edges": [{"from": "web", "to": "db", "type": "depends_on"}],
    }
)
PACKS = PackIndex(load_packs())
DB = "mysql_global_status_slow_queries"
WEB = "http_request_errors_total"


def an(r: str, m: str, onset: float) -> Anomaly:
    return Anomaly(
        resource=r,
        metric=m,
        onset=onset,
        detected_at=onset + 45,
        score=1.0,
        raw_score=9.0,
        direction="up",
        value=1.0,
        baseline=0.0,
        detector="fleet",
    )


def grouper() -> IncidentGrouper:
    g = NetworkXGraph(TOPO)
    return IncidentGrouper(g, RootCauseRanker(g, PACKS))


def closed(a: Anomaly, t: float) -> Anomaly:
    return a.model_copy(update={"state": "closed", "detected_at": t})


def one_fault(gr: IncidentGrouper, t0: float) -> list[Incident]:
    """Two connected anomalies that close after 10 minutes, a blip, and an hour of calm."""
    a1, a2 = an("db", DB, t0), an("web", WEB, t0 + 30)
    out = gr.process(a1) + gr.process(a2)
    blip = an("lonely", "q", t0 + 60)
    out += gr.process(blip)
    for a in (a1, a2, blip):
        out += gr.process(closed(a, t0 + 600))
    for t in range(int(t0) + 600, int(t0) + 3600, 60):  # the stream's ticks
        out += gr.tick(float(t))
    return out


def test_resolved_groups_are_dropped_so_the_state_stays_bounded_over_a_long_stream() -> None:
    gr = grouper()
    incidents: dict[str, list[str]] = {}
    held = []
    for k in range(200):  # 200 hours, one fault an hour
        for inc in one_fault(gr, 3600.0 * k):
            incidents.setdefault(inc.id, []).append(inc.status)
        held.append(len(gr.state_dict()["groups"]))
    assert len(incidents) == 200  # one incident per fault, each opened and resolved
    assert all(s[0] == "open" and s[-1] == "resolved" for s in incidents.values())
    assert gr.suppressed == 200  # and every blip was dropped without paging
    assert max(held) == 0 and gr.groups == 0 and gr.incidents == []


def test_a_recurrence_while_recovering_still_joins_and_after_resolution_does_not() -> None:
    gr = grouper()
    a1, a2 = an("db", DB, 0), an("web", WEB, 30)
    gr.process(a1)
    (inc,) = gr.process(a2)
    gr.process(closed(a1, 600))
    gr.process(closed(a2, 600))
    assert gr.tick(900) == [] and gr.groups == 1  # recovering: held
    again = gr.process(an("db", DB, 1000))  # the same series flaps: same incident
    assert again == [] or {i.id for i in again} == {inc.id}
    gr.process(closed(an("db", DB, 1000), 1100))
    (done,) = [i for t in range(1100, 2100, 60) for i in gr.tick(float(t))]
    assert done.id == inc.id and done.status == "resolved" and gr.groups == 0
    gr.process(an("db", DB, 3000))
    (new,) = gr.process(an("web", WEB, 3030))
    assert new.id != inc.id and new.version == 1


def test_an_id_is_never_issued_twice_even_after_its_group_was_dropped() -> None:
    gr = grouper()
    a1, a2 = an("db", DB, 0), an("web", WEB, 30)
    gr.process(a1)
    (first,) = gr.process(a2)
    for a in (a1, a2):
        gr.process(closed(a, 100))
    assert [i.status for i in gr.tick(1000)] == ["resolved"] and gr.groups == 0
    # the same first anomaly again (a redelivery, a replay of the same window): the
    # incident it starts must not take the dropped incident's id
    gr.process(a1)
    (second,) = gr.process(a2)
    assert second.id != first.id and second.id.startswith(first.id)


def test_a_snapshot_holds_only_what_can_change_and_restores_the_reserved_ids() -> None:
    gr = grouper()
    a1, a2 = an("db", DB, 0), an("web", WEB, 30)
    gr.process(a1)
    (first,) = gr.process(a2)
    for a in (a1, a2):
        gr.process(closed(a, 100))
    gr.tick(1000)
    state = gr.state_dict()
    assert state["groups"] == [] and state["retired"] == [first.id]
    restored = grouper()
    restored.load_state_dict(state)
    restored.process(a1)
    (again,) = restored.process(a2)
    assert again.id != first.id
