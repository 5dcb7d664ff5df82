"""A series' routine excursions do not page; a fault beyond them does (issue 11).

On PetShop's normal days a DynamoDB-backed Lambda's median latency jumped ×6-9 for one
5-minute sample every few hours, and DynamoDB's with it: blips, which never confirm. Once
such a jump lasted two samples, on both resources at once, and opened an incident (several
resources at once are credible at once). A series that makes such short excursions several
times a day, and is now out by no more than twice its largest one, is *routine*
(:meth:`~foreshock.detectors.decision.EpisodeDecider.routine`): its anomaly is evidence, it
joins and ranks, but it does not make an incident credible. The same two resources five
times further out is a fault, and pages.
"""

from __future__ import annotations

import numpy as np

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.schemas.incident import Incident
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology

STEP = 300.0  # 5-minute samples
MEDIAN = 'request_latency_seconds{stat="p50"}'
TOPO = Topology.model_validate(
    {
        "nodes": [{"id": "fn", "kind": "service"}, {"id": "db", "kind": "service"}],
        "edges": [{"from": "fn", "to": "db"}],
    }
)
LEVEL = {"fn": 0.4, "db": 0.08}
EVERY = 48  # a blip every 4 hours
DAYS = 2


def fleet_days(end_jump: float, end_steps: int = 2) -> tuple[list[Incident], list[bool]]:
    """Two days of both medians with a one-sample ×6 blip every 4 hours, then a jump of
    ``end_jump`` times the level for ``end_steps`` samples on both: the incidents and the
    ``routine`` flags of the anomalies opened by that last jump."""
    n = DAYS * 288
    rng = np.random.default_rng(7)
    series = {r: lvl * (1.0 + rng.normal(0.0, 0.03, n + 12)) for r, lvl in LEVEL.items()}
    for r, lvl in LEVEL.items():
        series[r][EVERY:n:EVERY] = 6.0 * lvl
        series[r][n : n + end_steps] = end_jump * lvl
    stage = DetectStage(kinds={"fn": "service", "db": "service"})
    g = NetworkXGraph(TOPO)
    grouper = IncidentGrouper(g, RootCauseRanker(g, PackIndex(load_packs())))
    incidents: list[Incident] = []
    routine: list[bool] = []
    for k in range(n + 12):
        t = k * STEP
        batch = MetricBatch(
            timestamp=t,
            resources=list(LEVEL),
            metrics=[MEDIAN] * len(LEVEL),
            values=[float(series[r][k]) for r in LEVEL],
        )
        for a in stage.process(batch):
            if a.state == "open" and k >= n:
                routine.append(getattr(a, "routine", False))
            incidents += grouper.process(a)
        incidents += grouper.tick(t)
    return incidents, routine


def test_a_jump_the_size_of_the_routine_blips_opens_no_incident() -> None:
    # the old code: two resources anomalous at once, credible at once: a page
    incidents, routine = fleet_days(end_jump=6.0)
    assert incidents == []
    assert routine == [True, True]


def test_the_same_series_five_times_further_out_is_a_fault_and_pages() -> None:
    incidents, routine = fleet_days(end_jump=30.0)
    assert {i.id for i in incidents} and {r for i in incidents for r in i.resources} == {
        "fn",
        "db",
    }
    assert routine == [False, False]
