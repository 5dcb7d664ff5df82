"""Ranking and grouping on real-data shapes (issue 11, failure classes 3 and 4).

Each test fails on the method of before issue 11: the deepest dependency won whenever its
traffic changed, the earliest onset won even for a lone blip, three quantiles of one
latency made a blip credible, a lingering episode absorbed the next fault, a dependency
slower by far less than its client took the blame, and a host's load blip took the fault
of a process running on it.
"""

from __future__ import annotations

from foreshock.graph.backends.embedded import NetworkXGraph
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.topology import Topology

TOPO = Topology.model_validate(
    {
        "nodes": [
            {"id": "web", "kind": "service"},
            {"id": "carts", "kind": "service"},
            {"id": "db", "kind": "mysql"},
            {"id": "cache", "kind": "redis"},
        ],
        "edges": [
            {"from": "web", "to": "carts"},
            {"from": "carts", "to": "db"},
            {"from": "web", "to": "cache"},
        ],
    }
)
PACKS = PackIndex(load_packs())
LAT = 'request_latency_seconds{stat="p99"}'


def an(
    r: str,
    m: str,
    onset: float,
    z: float = 20.0,
    role: str | None = None,
    direction: str = "up",
    step: float = 300.0,
    value: float = 1.0,
    baseline: float = 0.0,
    unit: str | None = None,
) -> Anomaly:
    return Anomaly(
        resource=r,
        metric=m,
        onset=onset,
        detected_at=onset + step,
        score=1.0,
        raw_score=z if direction == "up" else -z,
        direction=direction,
        value=value,
        baseline=baseline,
        detector="fleet",
        role=role,
        step=step,
        unit=unit,
    )


def ranked(anomalies: list[Anomaly]) -> list[str]:
    g = NetworkXGraph(TOPO)
    return [c.resource for c in RootCauseRanker(g, PACKS).rank(anomalies)]


def explained_by(anomalies: list[Anomaly], resource: str) -> list[str]:
    g = NetworkXGraph(TOPO)
    (c,) = [c for c in RootCauseRanker(g, PACKS).rank(anomalies) if c.resource == resource]
    return c.evidence.explained_resources


def test_a_dependency_whose_traffic_dropped_is_not_the_cause_of_its_broken_client() -> None:
    # carts slows down (no resource metric says why); its database sees fewer queries
    order = ranked(
        [
            an("carts", LAT, 0, role="latency"),
            an("web", LAT, 0, role="latency"),
            an("db", "mysql_global_status_questions", 0, role="throughput", direction="down"),
        ]
    )
    assert order[0] == "carts", order


def test_a_database_40_ms_slower_does_not_explain_a_client_400_ms_slower() -> None:
    # PetShop's payforadoption faults: the database's p99 rose 40 ms one step before the
    # service's latency rose 400 ms; request times add up along a call chain
    def lat(r: str, onset: float, base: float, value: float) -> Anomaly:
        return an(r, LAT, onset, role="latency", unit="s", value=value, baseline=base)

    order = ranked([lat("db", 0, 0.013, 0.056), lat("carts", 300, 0.19, 0.43)])
    assert order[0] == "carts", order
    # a database that slowed down as much as its client still explains it
    order = ranked([lat("db", 0, 0.013, 0.5), lat("carts", 300, 0.19, 0.43)])
    assert order[0] == "db", order


def test_an_erring_service_far_slower_than_its_slightly_slower_database_is_the_cause() -> None:
    # PetShop's payforadoption error mode: the service errs and its p95 rises 0.7 s; its
    # database's p99 rose 76 ms a step earlier. A database that only got slower cannot
    # account for a client 9 times slower than itself, nor for that client's errors.
    db_avg = an("db", 'request_latency_seconds{stat="avg"}', 0, value=0.0076, baseline=0.0038)
    db_p99 = an("db", 'request_latency_seconds{stat="p99"}', 0, value=0.089, baseline=0.013)
    errs = an("carts", "http_request_errors_total", 300, role="errors", unit="/s")
    p95 = an("carts", 'request_latency_seconds{stat="p95"}', 300, value=1.01, baseline=0.31)
    for a in (db_avg, db_p99, p95):
        a.role, a.unit = "latency", "s"
    assert explained_by([db_avg, db_p99, errs, p95], "db") == []  # old: ["carts"]


def test_a_dependency_called_twice_per_request_still_explains_its_client() -> None:
    # OnlineBoutique's checkout calls currency twice per request: a network delay into
    # currency makes checkout 2.03 times slower than each call (Nezha, 2022-08-22); the
    # delay still explains checkout's other symptoms (with a bound of 2: it did not)
    cur = an("db", 'request_latency_seconds{stat="p50"}', 0, value=0.74, baseline=0.01)
    co = an("carts", 'request_latency_seconds{stat="p50"}', 0, value=1.49, baseline=0.01)
    for a in (cur, co):
        a.role, a.unit = "latency", "s"
    errs = an("carts", "http_request_errors_total", 0, role="errors", unit="/s")
    assert explained_by([cur, co, errs], "db") == ["carts"]


def test_a_dependency_slow_for_one_caller_is_compared_by_its_slowest_series() -> None:
    # Nezha's product catalogue burning CPU: its median time as the recommender calls it
    # (a heavy list) rose 0.35 s, as the frontend calls it (one item) 0.05 s; the
    # recommender got 0.36 s slower. Old code compared the recommender's median with the
    # dependency's *fastest* median series (0.05 s: "7 times slower, fails on its own")
    def lat(r: str, m: str, value: float, baseline: float) -> Anomaly:
        return an(r, m, 0, value=value, baseline=baseline, role="latency", unit="s", step=60)

    anomalies = [
        lat("db", 'request_latency_seconds{stat="p50",caller="web"}', 0.06, 0.006),
        lat("db", 'request_latency_seconds{stat="p50",caller="carts"}', 0.36, 0.007),
        lat("carts", 'request_latency_seconds{stat="p50",caller="web"}', 0.37, 0.013),
        lat("carts", 'client_latency_seconds{stat="p90"}', 0.5, 0.03),
    ]
    assert explained_by(anomalies, "db") == ["carts"]  # old: []


def test_a_host_load_blip_does_not_take_a_fault_of_a_process_on_it() -> None:
    # the lab: the host's load rose a little (alone, 4 minutes before); then Redis, on that
    # host, hit its memory limit and evicted keys, and its client missed the cache
    topo = Topology.model_validate(
        {
            "nodes": [
                {"id": "app", "kind": "service"},
                {"id": "redis", "kind": "redis"},
                {"id": "host", "kind": "host"},
            ],
            "edges": [
                {"from": "app", "to": "redis"},
                {"from": "redis", "to": "host", "type": "runs_on"},
                {"from": "app", "to": "host", "type": "runs_on"},
            ],
        }
    )
    anomalies = [
        an("host", "node_load1", -240, z=5, role="saturation", step=5),
        an("redis", "redis_evicted_keys_total", 0, role="errors", step=5),
        an("app", "app_cache_misses_total", 5, role="throughput", step=5),
        an("app", "app_request_seconds_sum", 5, role="latency", step=5),
    ]
    order = [c.resource for c in RootCauseRanker(NetworkXGraph(topo), PACKS).rank(anomalies)]
    assert order[0] == "redis", order


def test_a_lone_early_blip_does_not_win_the_onset() -> None:
    # the cache had one latency blip ten minutes early; carts then broke with its client
    order = ranked(
        [
            an("cache", "redis_commands_duration_seconds_total", 0, z=12.0, role="latency"),
            an("carts", LAT, 600, role="latency"),
            an("carts", "http_request_errors_total", 600, role="errors"),
            an("web", LAT, 600, role="latency"),
        ]
    )
    assert order[0] == "carts", order


def grouper() -> IncidentGrouper:
    g = NetworkXGraph(TOPO)
    return IncidentGrouper(g, RootCauseRanker(g, PACKS))


def test_three_quantiles_of_one_latency_are_one_signal_not_a_credible_incident() -> None:
    gr = grouper()
    out = []
    for stat in ("p50", "p90", "p99"):  # (a tail alone never opens: test_credibility.py)
        out += gr.process(an("carts", f'request_latency_seconds{{stat="{stat}"}}', 0, step=60.0))
    assert out == [] and gr.tick(240.0) == []  # old: three series, an incident at once
    assert gr.tick(300.0) != []  # still there after single_after: now it is one


def test_a_service_slower_for_two_of_its_callers_is_two_signals_and_pages_after_3_steps() -> None:
    # a network delay into carts: its own series stay flat, the calls web and a batch job
    # make to it are slower (a mesh's per-caller request times, median); two observers
    gr = grouper()
    out = []
    for caller in ("web", "batch"):
        m = f'request_latency_seconds{{stat="p50",caller="{caller}",reporter="source"}}'
        out += gr.process(an("carts", m, 0, step=60.0, role="latency"))
    assert out == []  # one resource: not at once
    assert gr.tick(240.0) != []  # old: one signal, nothing until single_after (600 s)


def test_a_fault_that_starts_later_next_to_a_lingering_episode_is_a_new_incident() -> None:
    gr = grouper()
    lat = an("carts", LAT, 0, step=60.0, role="latency")
    mem = an("carts", "container_memory_usage_percent", 0, step=60.0, role="utilisation")
    first = gr.process(lat) + gr.process(mem) + gr.tick(240.0)  # one resource: 3 steps
    assert first and first[-1].resources == ["carts"]
    # carts recovers, but its memory stays up (still open); twenty minutes later the
    # cache breaks and web, which depends on both, slows down
    gr.process(lat.model_copy(update={"state": "closed", "detected_at": 300.0}))
    later = gr.process(an("cache", "redis_commands_duration_seconds_total", 1200, step=60.0))
    later += gr.process(an("web", LAT, 1200, step=60.0, role="latency"))
    assert later and later[-1].id != first[-1].id
    assert later[-1].resources == ["cache", "web"]


def test_a_service_that_breaks_again_while_only_its_memory_stayed_up_is_a_new_incident() -> None:
    gr = grouper()
    lat = an("carts", LAT, 0, step=60.0, role="latency")
    mem = an("carts", "container_memory_usage_percent", 0, step=60.0, role="utilisation")
    first = gr.process(lat) + gr.process(mem) + gr.tick(240.0)
    assert first and first[-1].resources == ["carts"]
    # the CPU fault ends (latency back), its memory stays up; 20 minutes later carts
    # slows down again: a second fault, not more of the first (old: it joined the first)
    gr.process(lat.model_copy(update={"state": "closed", "detected_at": 300.0}))
    again = an("carts", 'request_latency_seconds{stat="p90"}', 1200, step=60.0, role="latency")
    cpu = an("carts", "container_cpu_usage_percent", 1200, step=60.0, role="utilisation")
    later = gr.process(again) + gr.process(cpu) + gr.tick(1200.0 + 240.0)
    assert later and later[-1].id != first[-1].id


def test_a_redis_whose_memory_nears_its_limit_and_then_evicts_is_one_incident() -> None:
    # memory used is bounded (maxmemory, a capacity pair of the redis pack): while it is up
    # the exhaustion is in progress, and the evictions 20 minutes later are the same fault
    gr = grouper()
    mem = an("cache", "redis_memory_used_bytes", 0, step=15.0, role="utilisation")
    lat = an("cache", "redis_commands_duration_seconds_total", 0, step=15.0, role="latency")
    first = gr.process(mem) + gr.process(lat) + gr.tick(60.0)
    assert first
    gr.process(lat.model_copy(update={"state": "closed", "detected_at": 120.0}))
    evict = an("cache", "redis_evicted_keys_total", 1200, step=15.0, role="errors")
    later = gr.process(evict) + gr.tick(1200.0 + 700.0)  # past single_after
    assert all(i.id == first[-1].id for i in later)  # old: a second incident


def test_a_cpu_spike_over_before_the_fault_does_not_make_its_service_the_cause() -> None:
    # checkout burns CPU for 5 minutes and recovers; 3 minutes later currency, which it
    # calls, slows down: checkout's calls to it and the web's requests slow down too. Old:
    # checkout's finished CPU spike and its slow calls read as CPU saturation together,
    # and it out-ranked the service that broke
    topo = Topology.model_validate(
        {
            "nodes": [{"id": s, "kind": "service"} for s in ("web", "checkout", "currency")],
            "edges": [
                {"from": "web", "to": "checkout"},
                {"from": "checkout", "to": "currency"},
                {"from": "web", "to": "currency"},
            ],
        }
    )
    g = NetworkXGraph(topo)
    gr = IncidentGrouper(g, RootCauseRanker(g, PACKS))
    cpu = an("checkout", "container_cpu_usage_percent", 0, step=60.0, role="utilisation")
    assert gr.process(cpu) == []
    gr.process(cpu.model_copy(update={"state": "closed", "detected_at": 300.0}))

    def slow(r: str, m: str, value: float, baseline: float) -> Anomaly:
        return an(r, m, 480, step=60.0, role="latency", unit="s", value=value, baseline=baseline)

    out = gr.process(slow("checkout", 'client_latency_seconds{stat="p90"}', 3.1, 0.04))
    for caller in ("checkout", "web"):
        m = f'request_latency_seconds{{stat="p50",caller="{caller}",reporter="source"}}'
        out += gr.process(slow("currency", m, 3.1, 0.02))
    out += gr.process(slow("web", 'request_latency_seconds{stat="p90"}', 3.5, 0.5))
    assert out, "no incident"
    top = out[-1].candidates
    assert top[0].resource == "currency", [(c.resource, c.failure_mode, c.score) for c in top]
    # the spike stays in the incident as evidence, and is said to be there
    assert (
        "container_cpu_usage_percent"
        in next(c for c in top if c.resource == "checkout").evidence.anomalous_metrics
    )
