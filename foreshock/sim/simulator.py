"""The fleet simulator: healthy telemetry, one injected fault, a replay folder out.

It renders every series of the topology (exporter names, diurnal traffic, noise,
counters that reset, scrape gaps, one-scrape glitches), bends them with one fault from
:mod:`foreshock.sim.faults`, and writes the replay folder contract:
``metrics.csv`` (``timestamp,resource,metric,value``), ``topology.yaml``, ``truth.json``.

Examples
--------
>>> sim = simulate("mysql_lock_contention", seed=1, hours=2.0)
>>> sim.truth["root_cause"]["resource"], len(sim.timestamps) == 2 * 240
('mysql-primary', True)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from foreshock.schemas.errors import ConfigError, UnknownNameError
from foreshock.schemas.topology import Topology
from foreshock.schemas.yaml_input import load_yaml
from foreshock.sim.faults import FAULTS, Fault
from foreshock.sim.profiles import SeriesProfile, series_for
from foreshock.sim.propagation import propagate as spread

STEP = 15.0
#: 2026-01-05T00:00:00Z: simulations start on a Monday at midnight UTC.
START_EPOCH = 1767571200.0
DEFAULT_TOPOLOGY = Path(__file__).with_name("fleet.yaml")

_COUNTER_RESET_P = 0.2  # per counter series per run
_GLITCH_P = 2e-5  # per gauge sample: a one-scrape spike
_DROP_SAMPLE_P = 0.002
_DROP_SCRAPE_P = 0.002


@dataclass
class Simulation:
    """A rendered run: long-form rows plus the topology and the truth."""

    topology: Topology
    truth: dict[str, Any]
    timestamps: np.ndarray
    series: list[SeriesProfile]
    values: np.ndarray  # shape (series, time); NaN where the scrape is missing

    def rows(self) -> int:
        return int(np.isfinite(self.values).sum())

    def write(self, out: Path) -> Path:
        """Write the replay folder; returns it."""
        out.mkdir(parents=True, exist_ok=True)
        with (out / "metrics.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "resource", "metric", "value"])
            for j, t in enumerate(self.timestamps.tolist()):
                col = self.values[:, j]
                ts = f"{t:.0f}"
                for i in np.flatnonzero(np.isfinite(col)).tolist():
                    s = self.series[i]
                    w.writerow([ts, s.resource, s.metric, _fmt(float(col[i]))])
        topo = self.topology.model_dump(by_alias=True, exclude_none=True)
        (out / "topology.yaml").write_text(yaml.safe_dump(topo, sort_keys=False))
        (out / "truth.json").write_bytes(orjson.dumps(self.truth, option=orjson.OPT_INDENT_2))
        return out


def _fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}" if abs(v) < 1e-3 else f"{v:.10g}"


def fault_names() -> list[str]:
    return sorted(FAULTS)


def load_topology(path: Path | None = None) -> Topology:
    """The fleet to simulate: ``path`` (a topology YAML) or the built-in ``fleet.yaml``.

    Read through :func:`~foreshock.schemas.yaml_input.load_yaml`, like every YAML file a
    person writes.

    >>> len(load_topology().nodes)
    13
    """
    data = load_yaml(path or DEFAULT_TOPOLOGY)
    return Topology.model_validate(data)


def _role(topology: Topology, node_id: str, kind: str) -> str | None:
    node = next(n for n in topology.nodes if n.id == node_id)
    extra = node.model_extra or {}
    if kind == "service":
        group = extra.get("consumer_group")
        return str(group) if group else None
    if kind == "mysql":
        replicas = {e.target for e in topology.edges if e.type == "replicates_to"}
        return "replica" if node_id in replicas else None
    return None


def simulate(
    fault: str,
    seed: int = 1,
    hours: float = 6.0,
    topology: Topology | None = None,
    step: float = STEP,
    propagate: bool = False,
) -> Simulation:
    """Render ``hours`` of fleet telemetry with ``fault`` injected (``"none"`` for none).

    A fault bends the series it names on the built-in fleet. With ``propagate``, every
    service of ``topology`` that depends on a bent resource, directly or through other
    services, also slows down and fails some requests, one hop later each
    (:func:`foreshock.sim.propagation.propagate`): a fault on a shared dependency of a
    wide topology becomes the alert storm it would be.
    """
    if fault != "none" and fault not in FAULTS:
        raise UnknownNameError(f"unknown fault {fault!r}; known: none, {', '.join(fault_names())}")
    if hours <= 0:
        raise ValueError("hours must be positive")
    topo = topology or load_topology()
    rng = np.random.default_rng(seed)
    n_t = round(hours * 3600 / step)
    ts = START_EPOCH + step * np.arange(n_t)
    kinds = topo.kinds()
    series: list[SeriesProfile] = []
    for node in topo.nodes:
        series.extend(series_for(node.id, node.kind, _role(topo, node.id, node.kind)))
    index = {(s.resource, s.metric): i for i, s in enumerate(series)}

    # healthy level (gauges) or rate (counters), shape (series, time)
    hour = (ts - START_EPOCH) / 3600.0
    phase = np.sin(2 * math.pi * (hour - 8.0) / 24.0)  # peak at 14:00
    level = np.empty((len(series), n_t))
    for i, s in enumerate(series):
        base = s.base * rng.uniform(0.85, 1.15) if s.base else 0.0
        level[i] = base * (1.0 + s.diurnal * phase)

    truth: dict[str, Any] = {"fault": fault}
    if fault != "none":
        f = spread(FAULTS[fault], topo, index.keys()) if propagate else FAULTS[fault]
        start = _fault_start(rng, hours, f)
        exhaustion_at = _apply_fault(f, start, ts, level, index, rng)
        if exhaustion_at is not None:
            b = f.bends[f.exhausts or 0]
            truth["exhaustion_at"] = exhaustion_at
            truth["capacity_series"] = {"resource": b.resource, "metric": b.metric}
        if propagate:
            truth["propagated"] = True
        truth.update(
            root_cause={"resource": f.root, "failure_mode": f.failure_mode},
            start=float(start),
            end=float(min(start + f.duration, ts[-1] + step)),
            description=f.description,
            affected=sorted({b.resource for b in f.bends}),
        )

    values = np.empty_like(level)
    for i, s in enumerate(series):
        values[i] = _render(s, level[i], step, rng)
    _drop(values, rng)
    truth["kinds"] = {r: kinds[r] for r in sorted(kinds)}
    return Simulation(topo, truth, ts, series, values)


def _fault_start(rng: np.random.Generator, hours: float, f: Fault) -> float:
    if f.exhausts is not None:  # a slow ramp: start early enough to run out within the run
        return START_EPOCH + max(1.5 * 3600.0, 0.25 * hours * 3600) + rng.uniform(0, 1800)
    lead = max(0.5 * hours * 3600, min(2 * 3600.0, 0.6 * hours * 3600))
    jitter = rng.uniform(0, 0.1 * hours * 3600)
    return START_EPOCH + lead + jitter


def _apply_fault(
    f: Fault,
    start: float,
    ts: np.ndarray,
    level: np.ndarray,
    index: dict[tuple[str, str], int],
    rng: np.random.Generator,
) -> float | None:
    """Bend the levels; return the true exhaustion time of a gradual fault (else None)."""
    end = start + f.duration
    exhaustion_at = None
    for k, b in enumerate(f.bends):
        i = index.get((b.resource, b.metric))
        if i is None:
            raise ConfigError(
                f"fault {f.name} needs series {b.metric} of {b.resource}, which the topology "
                "does not have (faults are defined on the built-in fleet's resources)"
            )
        delay = b.delay * rng.uniform(0.8, 1.2)
        amount = b.amount * (rng.uniform(0.7, 1.3) if b.op != "toward" else 1.0)
        ramp = b.ramp * (rng.uniform(0.75, 1.25) if k == f.exhausts else 1.0)
        if k == f.exhausts:
            exhaustion_at = float(start + delay + ramp)
        on = np.clip((ts - start - delay) / max(ramp, 1.0), 0.0, 1.0)
        off = np.clip((ts - end) / 600.0, 0.0, 1.0)  # recovers over 10 minutes
        intensity = on * (1.0 - off)
        if b.op == "mult":
            level[i] = level[i] * np.maximum(1.0 + amount * intensity, 0.0)
        elif b.op == "add":
            level[i] = level[i] + amount * intensity
        else:
            level[i] = level[i] + (amount - level[i]) * intensity
    return exhaustion_at


def _render(
    s: SeriesProfile, level: np.ndarray, step: float, rng: np.random.Generator
) -> np.ndarray:
    n = len(level)
    if s.counter:
        if s.poisson:
            inc = rng.poisson(np.maximum(level, 0.0) * step).astype(float)
        else:
            inc = np.maximum(level, 0.0) * step * (1.0 + s.noise * rng.standard_normal(n))
            inc = np.maximum(inc, 0.0)
        total = np.cumsum(inc) + rng.uniform(1e3, 1e6) * (level.mean() > 0)
        if rng.random() < _COUNTER_RESET_P:  # a restart: the counter starts from zero
            k = int(rng.integers(n // 4, n))
            total[k:] = np.cumsum(inc[k:])
        return np.asarray(np.floor(total) if s.poisson else total, dtype=np.float64)
    if s.lognormal:
        v = level * np.exp(s.noise * rng.standard_normal(n) - 0.5 * s.noise**2)
    else:
        v = level * (1.0 + s.noise * rng.standard_normal(n))
    if s.abs_noise:
        v = v + np.abs(s.abs_noise * rng.standard_normal(n))
    glitch = rng.random(n) < _GLITCH_P
    v = np.where(glitch, v * rng.uniform(1.5, 3.0), v)
    v = np.clip(v, s.lo, s.hi)
    return np.asarray(np.round(v) if s.integer else v, dtype=np.float64)


def _drop(values: np.ndarray, rng: np.random.Generator) -> None:
    """Scrape gaps: lost samples, lost scrapes, and one resource silent for minutes."""
    n_s, n_t = values.shape
    values[rng.random(values.shape) < _DROP_SAMPLE_P] = np.nan
    values[:, rng.random(n_t) < _DROP_SCRAPE_P] = np.nan
    if rng.random() < 0.5:
        i = int(rng.integers(0, n_s))
        j = int(rng.integers(0, max(1, n_t - 16)))
        values[i, j : j + int(rng.integers(8, 16))] = np.nan
