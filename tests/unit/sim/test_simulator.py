from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foreshock.pipelines.sources.replay import read_replay
from foreshock.schemas.errors import ConfigError, UnknownNameError
from foreshock.schemas.topology import Topology
from foreshock.sim.faults import FAULTS
from foreshock.sim.simulator import Simulation, fault_names, load_topology, simulate


@pytest.mark.parametrize("fault", fault_names())
def test_every_fault_has_a_true_root_in_the_topology_and_bends_real_series(fault: str) -> None:
    sim = simulate(fault, seed=1, hours=3)
    root = sim.truth["root_cause"]["resource"]
    assert root in {n.id for n in sim.topology.nodes}
    assert sim.truth["root_cause"]["failure_mode"] == FAULTS[fault].failure_mode
    assert sim.timestamps[0] < sim.truth["start"] < sim.timestamps[-1]
    # symptoms light up on more than the root for most faults; the root itself always changes
    assert root in sim.truth["affected"]


def test_at_least_eight_faults_with_distinct_failure_modes() -> None:
    assert len(FAULTS) >= 8
    assert len({(f.root, f.failure_mode) for f in FAULTS.values()}) >= 8


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = simulate("redis_memory_exhaustion", seed=4, hours=1)
    b = simulate("redis_memory_exhaustion", seed=4, hours=1)
    c = simulate("redis_memory_exhaustion", seed=5, hours=1)
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert not np.array_equal(a.values, c.values, equal_nan=True)


def test_quiet_run_has_no_root_cause_and_realistic_imperfections() -> None:
    sim = simulate("none", seed=2, hours=12)
    assert sim.truth["fault"] == "none" and "root_cause" not in sim.truth
    assert np.isnan(sim.values).any(), "scrape gaps are part of real telemetry"
    counters = [i for i, s in enumerate(sim.series) if s.counter and s.base > 1]
    resets = sum(
        int((np.diff(sim.values[i][np.isfinite(sim.values[i])]) < 0).any()) for i in counters
    )
    assert resets >= 1, "some counters reset (process restarts)"
    names = {s.metric for s in sim.series}
    assert {
        "redis_memory_used_bytes",
        "mysql_global_status_threads_connected",
        "node_load1",
    } <= names


def test_diurnal_traffic_peaks_in_the_afternoon() -> None:
    sim = simulate("none", seed=1, hours=24)
    i = next(
        k
        for k, s in enumerate(sim.series)
        if s.resource == "redis-cache" and s.metric == "redis_connected_clients"
    )
    hours = (sim.timestamps - sim.timestamps[0]) / 3600
    v = sim.values[i]
    afternoon = np.nanmean(v[(hours >= 13) & (hours < 15)])
    night = np.nanmean(v[(hours >= 1) & (hours < 3)])
    assert afternoon > night * 1.1


def test_unknown_fault_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match="known: none, "):
        simulate("disk_on_fire", seed=1, hours=1)


def test_written_replay_reads_back_every_sample(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sim = simulate("kafka_consumer_lag", seed=1, hours=1)
    folder = sim.write(tmp_path / "r")
    rep = read_replay(folder)
    assert rep.samples == sim.rows()
    assert rep.dead_letters == []
    assert rep.truth is not None and rep.truth["fault"] == "kafka_consumer_lag"
    assert {n.id for n in rep.topology.nodes} == {n.id for n in sim.topology.nodes}


_STORM = Path(__file__).resolve().parents[2] / "data" / "storm-topology.yaml"
_P99 = 'http_request_duration_seconds{quantile="0.99"}'


def _p99(sim: Simulation, resource: str) -> np.ndarray:
    i = next(k for k, s in enumerate(sim.series) if (s.resource, s.metric) == (resource, _P99))
    return sim.values[i]


def test_propagation_reaches_every_dependent_service_of_a_wide_topology() -> None:
    topo = load_topology(_STORM)
    sim = simulate("redis_down", seed=2, hours=4, topology=topo, propagate=True)
    start, end = sim.truth["start"], sim.truth["end"]
    during = (sim.timestamps > start + 300) & (sim.timestamps < end - 300)
    before = sim.timestamps < start
    apis = [n.id for n in topo.nodes if n.id.startswith("api-")]
    assert len(apis) == 16 and set(apis) <= set(sim.truth["affected"])
    assert len(sim.truth["affected"]) >= 20
    for api in apis:  # each API's p99 roughly doubles while Redis is down
        p99 = _p99(sim, api)
        assert np.nanmedian(p99[during]) > 1.6 * np.nanmedian(p99[before])
    # a service that only shares a loaded database (billing-worker) does not slow down
    assert "billing-worker" not in sim.truth["affected"]


def test_without_propagation_a_wide_topology_only_bends_the_fault_own_series() -> None:
    topo = load_topology(_STORM)
    plain = simulate("redis_down", seed=2, hours=4, topology=topo)
    assert not any(r.startswith("api-") for r in plain.truth["affected"])
    assert "propagated" not in plain.truth
    # and the built-in fleet's runs are what they were: propagation is opt-in
    assert (
        simulate("redis_down", seed=2, hours=2).truth
        == simulate("redis_down", seed=2, hours=2, propagate=False).truth
    )


def test_a_topology_without_the_fault_resources_is_a_clear_error() -> None:
    topo = Topology.model_validate({"nodes": [{"id": "a", "kind": "service"}], "edges": []})
    with pytest.raises(ConfigError, match="redis-cache"):
        simulate("redis_down", seed=1, hours=2, topology=topo)
