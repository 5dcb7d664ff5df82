"""When a group of anomalies is credible enough to open an incident (and page).

Issue 11: on PetShop's normal days, two of the three incidents were one load balancer's
p99 latency, or one queue's p90, up alone for 15-20 minutes at a 5-minute step. A tail
statistic of a low-traffic signal is a few slow requests; a service that fails moves the
bulk of its requests too. A signal seen only in its tail does not open an incident alone;
seen in its bulk (average, median) it does, after ``single_after``.

On Nezha's fault-free hours the one incident left was a node's network receive rate read as
exactly 0 every other minute for six minutes (stale scrapes): a change of traffic alone is
demand, not a failure, on one resource or on many (a day's traffic rising across the fleet).

A bad-event counter read as counts (errors where there were none for days,
:mod:`foreshock.detectors.rare_events`) is credible alone as soon as it opens.

A lone series an order of magnitude off its baseline is no blip either: on Nezha a delayed
service's callers' median went ×49 for three one-minute samples and closed exactly when a
lone series became credible; it now opens after three of its steps.
"""

from __future__ import annotations

from foreshock.detectors.rare_events import NAME as RARE
from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident
from foreshock.schemas.topology import Topology

STEP = 300.0  # a 5-minute series
TOPO = Topology.model_validate(
    {
        "nodes": [{"id": "lb", "kind": "service"}, {"id": "api", "kind": "service"}],
        "edges": [{"from": "lb", "to": "api"}],
    }
)
PACKS = PackIndex(load_packs())


def lat(stat: str) -> str:
    return f'request_latency_seconds{{stat="{stat}"}}'


def an(resource: str, metric: str, onset: float, role: str = "latency") -> Anomaly:
    a = Anomaly(
        resource=resource,
        metric=metric,
        onset=onset,
        detected_at=onset + STEP,
        score=1.0,
        raw_score=12.0,
        direction="up",
        value=0.3,
        baseline=0.08,
        detector="fleet",
        role=role,
    )
    a.step = STEP
    return a


def run(anomalies: list[Anomaly], minutes: int = 40) -> list[Incident]:
    g = NetworkXGraph(TOPO)
    grouper = IncidentGrouper(g, RootCauseRanker(g, PACKS))
    out: list[Incident] = []
    for a in anomalies:
        out += grouper.process(a)
    for t in range(int(STEP), minutes * 60, 60):
        out += grouper.tick(float(t))
    return out


def test_one_tail_statistic_up_alone_for_half_an_hour_opens_no_incident() -> None:
    assert run([an("lb", lat("p99"), 0.0)]) == []
    assert run([an("lb", lat("p90"), 0.0), an("lb", lat("p95"), 0.0)]) == []


def test_the_same_signal_up_in_its_bulk_opens_an_incident_on_its_own() -> None:
    for stats in (["avg"], ["p50", "p99"]):
        out = run([an("lb", lat(s), 0.0) for s in stats])
        assert out, stats
        assert out[0].root_cause is not None and out[0].root_cause.resource == "lb"
        assert out[0].opened_at >= 900.0  # three steps of the series, not a blip


def test_a_tail_statistic_still_joins_and_corroborates_another_resource() -> None:
    out = run([an("api", lat("avg"), 0.0), an("lb", lat("p99"), 60.0)])
    assert out and set(out[-1].resources) == {"api", "lb"}
    assert out[0].opened_at < 900.0  # two resources at once: credible without waiting


def test_traffic_changes_alone_open_no_incident_on_one_or_many_resources() -> None:
    rx = "node_network_receive_bytes_rate"
    assert run([an("lb", rx, 0.0, role="throughput")]) == []
    surge = [an(r, "http_requests_total", 0.0, role="throughput") for r in ("lb", "api")]
    assert run(surge) == []


def test_traffic_with_a_failing_signal_still_opens_one() -> None:
    out = run(
        [an("lb", "http_requests_total", 0.0, role="throughput"), an("api", lat("avg"), 60.0)]
    )
    assert out and set(out[-1].resources) == {"api", "lb"}
    assert out[0].opened_at < 900.0


def test_a_traffic_metric_whose_pack_calls_a_drop_bad_is_a_failure() -> None:
    # a consumer processing fewer messages (pack: bad down) has failed, not lost demand
    out = run([an("api", "app_messages_processed_total", 0.0, role="throughput")])
    assert out and out[0].root_cause is not None and out[0].root_cause.resource == "api"


def test_errors_read_as_rare_counts_open_an_incident_alone_a_z_score_blip_does_not() -> None:
    # PetShop, petlistadoptions: no error in two days, then 4 and 6 in two 5-minute steps.
    # The detect stage read them as counts (a one-in-10^20 run): evidence as strong as a
    # series held for three steps. The same two steps read as a z-score stay a lone blip.
    errors = "http_request_errors_total"
    counted = an("api", errors, 600.0, role="errors").model_copy(update={"detector": RARE})
    closes = counted.model_copy(update={"state": "closed", "detected_at": 1500.0})
    (inc, *_) = run([counted, closes])
    assert inc.candidates[0].resource == "api" and inc.opened_at == counted.detected_at
    blip = an("api", errors, 600.0, role="errors")
    assert run([blip, blip.model_copy(update={"state": "closed", "detected_at": 1500.0})]) == []


def _lone_minute_episode(ratio: float, hot_steps: int) -> list[Incident]:
    """One series of a 1-minute step, ``ratio`` times its baseline from t=0, hot for
    ``hot_steps`` samples and closed after three cooling samples (the decider's)."""
    a = an("api", lat("p50"), 0.0).model_copy(
        update={"detected_at": 60.0, "value": 0.008 * ratio, "baseline": 0.008, "step": 60.0}
    )
    closed = (hot_steps + 2) * 60.0
    g = NetworkXGraph(TOPO)
    grouper = IncidentGrouper(g, RootCauseRanker(g, PACKS))
    out = grouper.process(a)
    for t in range(120, int(closed), 60):
        out += grouper.tick(float(t))
    out += grouper.process(a.model_copy(update={"state": "closed", "detected_at": closed}))
    for t in range(int(closed) + 60, 1800, 60):
        out += grouper.tick(float(t))
    return out


def test_a_lone_series_an_order_of_magnitude_off_opens_in_three_steps_a_small_one_waits() -> None:
    # Nezha, the recommender's network delay: its callers' median 0.008 s -> 0.42 s for
    # three one-minute samples, then cooling; the episode closed 300 s after its onset,
    # exactly when a lone series became credible, and nobody was paged. Fifty times the
    # baseline is no blip: it is credible after three of its steps.
    (inc, *_) = _lone_minute_episode(ratio=50.0, hot_steps=3)
    assert inc.candidates[0].resource == "api" and inc.opened_at == 180.0
    # the same three minutes at three times the baseline stay a lone blip, and a spike
    # shorter than three steps too, however large
    assert _lone_minute_episode(ratio=3.0, hot_steps=3) == []
    assert _lone_minute_episode(ratio=50.0, hot_steps=1) == []
    # held longer than ``single_after``, the small one opens as before
    assert _lone_minute_episode(ratio=3.0, hot_steps=6)
