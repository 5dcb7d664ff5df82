"""Detect stage: metric batches → anomalies (the fleet tier, vectorised).

Per batch: look up dense series ids, turn counters into rates (reset-safe), score every
series against its robust baseline in one vectorised update, keep only the direction the
pack calls bad (both for metrics no pack knows), calibrate to [0, 1] (a sparse counter of
bad events is also read as Poisson counts, :mod:`foreshock.detectors.rare_events`, and the
larger score wins), and let the episode decider open and close anomalies.

Examples
--------
>>> from foreshock.schemas.metrics import MetricBatch
>>> stage = DetectStage(kinds={"r": "redis"})
>>> out = []
>>> for t in range(200):
...     v = 100.0 + (t % 5) if t < 150 else 400.0
...     out += stage.process(MetricBatch(timestamp=15.0 * t, resources=["r"],
...                                      metrics=["redis_connected_clients"], values=[v]))
>>> [(a.resource, a.direction, a.state) for a in out]
[('r', 'up', 'open')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from foreshock.detectors.base import BatchDetector
from foreshock.detectors.counters import CounterRates
from foreshock.detectors.decision import EpisodeDecider
from foreshock.detectors.fleet import RobustBaseline
from foreshock.detectors.grouped_calibration import GroupedCalibrator
from foreshock.detectors.rare_events import NAME as RARE_EVENTS
from foreshock.detectors.rare_events import RareEvents
from foreshock.detectors.tails import SeriesTails
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.partitioning import partition_of
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state, load_state

_DIR = {"up": 1, "down": -1, "both": 0}


class DetectStage:
    """Fleet-tier detection over every series of every batch.

    Parameters
    ----------
    kinds
        Resource id → kind (from the topology), used to find each metric's pack spec.
    packs
        Pack index; the built-in packs by default.
    detector, calibrator, decider
        The three steps (score → calibrated score → decision). The detector is any
        :class:`~foreshock.detectors.base.BatchDetector` (default: the fleet tier's
        :class:`~foreshock.detectors.fleet.RobustBaseline`; others by name from
        :mod:`foreshock.detectors.registry`). Defaults are tuned on the simulator's quiet
        runs; for a z-score detector the calibrator never calls a score more extreme than
        its normal probability (a mostly flat fleet would teach it to).
    calibration_groups
        Calibration is shared by the resources of one group, ``partition_of(resource,
        calibration_groups)`` (:class:`~foreshock.detectors.grouped_calibration.
        GroupedCalibrator`). The assembly sets it to ``kafka_partitions``: the distributed
        runtime's split, so that a detect partition of the worker, which sees exactly one
        group, and the embedded and live runtimes, which see them all, compute the same
        scores. Groups stay large (a share of the fleet): one resource's slow ramp is not
        learned as its own normal, as a per-resource calibrator would.
    """

    def __init__(
        self,
        kinds: dict[str, str] | None = None,
        packs: PackIndex | None = None,
        detector: BatchDetector | None = None,
        calibrator: GroupedCalibrator | None = None,
        decider: EpisodeDecider | None = None,
        calibration_groups: int = 1,
        tails: SeriesTails | None = None,
    ) -> None:
        self.kinds = dict(kinds or {})
        self.packs = packs or PackIndex(load_packs())
        self.detector: BatchDetector = detector or RobustBaseline()
        self.calibrator = calibrator or GroupedCalibrator(normal_ceiling=self.detector.zscore)
        self.calibration_groups = calibration_groups
        self.decider = decider or EpisodeDecider()
        self.tails = tails or SeriesTails()
        self._ids: dict[tuple[str, str], int] = {}
        self._keys: list[tuple[str, str]] = []
        self._counter: list[bool] = []
        self._bad: list[int] = []
        self._role: list[str] = []
        self._unit: list[str | None] = []
        self._resolution: list[float] = []
        self._group: list[int] = []
        self._group_arr = np.zeros(0, dtype=np.int64)
        self._counter_arr = np.zeros(0, dtype=bool)
        self._bad_arr = np.zeros(0, dtype=np.int64)
        self._resolution_arr = np.zeros(0)
        self.rates = CounterRates()
        self.rare = RareEvents()
        self.samples = 0
        self.anomalies = 0

    # -- series registry ---------------------------------------------------------------
    def _series_id(self, resource: str, metric: str) -> int:
        key = (resource, metric)
        sid = self._ids.get(key)
        if sid is None:
            sid = len(self._keys)
            self._ids[key] = sid
            self._keys.append(key)
            spec = self.packs.spec(self.kinds.get(resource, "other"), metric)
            self._counter.append(spec.type == "counter")
            self._bad.append(_DIR[spec.bad])
            self._role.append(spec.role)
            self._resolution.append(spec.resolution or 0.0)
            self._group.append(partition_of(resource, self.calibration_groups))
            unit = spec.unit
            self._unit.append(
                f"{unit}/s"
                if spec.type == "counter" and unit
                else ("/s" if spec.type == "counter" else unit)
            )
        return sid

    @property
    def n_series(self) -> int:
        return len(self._keys)

    def state_bytes(self) -> int:
        return (
            self.detector.state_bytes()
            + self.rates.state_bytes()
            + self.decider.state_bytes()
            + self.calibrator.state_bytes()
            + self.tails.state_bytes()
            + self.rare.state_bytes()
        )

    # -- the stage contract --------------------------------------------------------------
    def process(self, item: MetricBatch) -> list[Anomaly]:
        t = float(item.timestamp)
        keys = list(zip(item.resources, item.metrics, strict=True))
        found = list(map(self._ids.get, keys))  # the hot path: C-level lookups
        if None in found:
            found = [
                self._series_id(*k) if f is None else f for k, f in zip(keys, found, strict=True)
            ]
        ids = np.fromiter(found, dtype=np.int64, count=len(found))
        values = np.asarray(item.values, dtype=np.float64)
        self.samples += len(ids)
        finite = np.isfinite(values)
        if not finite.all():  # a sample that is not a number is skipped (and a counter's
            ids, values = ids[finite], values[finite]  # rate is taken across it)
        if len(self._counter_arr) != len(self._counter):  # new series since last batch
            self._counter_arr = np.asarray(self._counter, dtype=bool)
            self._bad_arr = np.asarray(self._bad, dtype=np.int64)
            self._resolution_arr = np.asarray(self._resolution, dtype=np.float64)
            self._group_arr = np.asarray(self._group, dtype=np.int64)
        counter = self._counter_arr[ids]
        floor = self._resolution_arr[ids]  # the pack's smallest change worth attention
        rare = np.zeros(len(ids))
        if counter.any():
            cids = ids[counter]
            rates = self.rates.update(cids, values[counter], t)
            dt = self.rates.last_dt
            # bad events where there were almost none: a Poisson surprise (errors, aborts)
            bad_up = self._bad_arr[cids] == 1
            if bad_up.any():
                rare_ids = np.flatnonzero(counter)[bad_up]
                rare[rare_ids] = self.rare.update(cids[bad_up], (rates * dt)[bad_up], dt[bad_up])
            values = values.copy()
            values[counter] = rates
            floor[counter] = np.maximum(
                floor[counter], CounterRates.poisson_floor(self.detector.level_of(cids), dt)
            )
        ok = np.isfinite(values)
        ids, values, floor, rare = ids[ok], values[ok], floor[ok], rare[ok]
        if ids.size == 0:
            return []
        gapped = self.decider.arrive(ids, t)
        if gapped.size:  # back after a long gap: what was learned before is stale
            self.detector.forget(gapped)
        warm = self.detector.is_warm(ids)
        baseline = self.detector.baseline(ids, t)
        z = self.detector.update(ids, values, t, floor)
        # a series whose excursions are routine is judged against its own tail
        z_own = z / self.tails.update(ids, z, warm)
        bad = self._bad_arr[ids]
        directed = np.where(bad == 0, np.abs(z_own), np.maximum(z_own * bad, 0.0))
        groups = self._group_arr[ids]
        calibrated = self.calibrator.transform(groups, directed)
        scores = np.maximum(calibrated, rare)
        opened, closed = self.decider.update(ids, np.where(warm, scores, 0.0), t, directed)
        # calibration learns what normal looks like: not from series in an episode
        normal = warm & ~self.decider.is_active(ids).astype(bool)
        self.calibrator.learn(groups[normal], z_own[normal])
        if opened.size == 0 and closed.size == 0:
            return []
        pos = {int(s): k for k, s in enumerate(ids.tolist())}
        onsets = self.decider.onset_of(opened)
        steps = self.decider.step_of(opened)
        young = self.decider.on_probation(opened)
        routine = self.decider.routine(opened, t)
        out = []
        for sid, onset, step, prob, usual in zip(
            opened.tolist(),
            onsets.tolist(),
            steps.tolist(),
            young.tolist(),
            routine.tolist(),
            strict=True,
        ):
            a = self._anomaly(sid, pos[sid], "open", onset, t, scores, z, values, baseline)
            if rare[pos[sid]] > calibrated[pos[sid]]:  # read as counts, not as a z-score
                a.detector = RARE_EVENTS
            a.step = step if np.isfinite(step) else None
            a.probation = bool(prob)
            a.routine = bool(usual)
            out.append(a)
        for sid in closed.tolist():
            out.append(self._anomaly(sid, pos[sid], "closed", t, t, scores, z, values, baseline))
        self.anomalies += sum(1 for a in out if a.state == "open")
        # a canonical order, so that any split of the series over partitions gives the
        # same anomaly sequence at the same event time
        out.sort(key=lambda a: (a.resource, a.metric, a.state))
        return out

    def _anomaly(
        self,
        sid: int,
        k: int,
        state: str,
        onset: float,
        t: float,
        scores: np.ndarray,
        z: np.ndarray,
        values: np.ndarray,
        baseline: np.ndarray,
    ) -> Anomaly:
        resource, metric = self._keys[sid]
        zk = float(z[k])
        return Anomaly(
            resource=resource,
            metric=metric,
            onset=onset if np.isfinite(onset) else t,
            detected_at=t,
            score=float(scores[k]),
            raw_score=zk,
            direction="up" if zk >= 0 else "down",
            value=float(values[k]),
            baseline=float(baseline[k]),
            detector=self.detector.name,
            role=self._role[sid],
            state=state,  # type: ignore[arg-type]
            unit=self._unit[sid],
        )

    def tick(self, now: float) -> Iterable[Anomaly]:
        return ()

    # -- state as data -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """What the learned state depends on: the three steps' classes and settings."""
        return {
            "detector": type(self.detector).__name__,
            "detector_params": self.detector.params(),
            "calibrator": self.calibrator.params(),
            "decider": self.decider.params(),
            "tails": self.tails.params(),
            "rare": self.rare.params(),
            "calibration_groups": self.calibration_groups,
        }

    def state_dict(self) -> dict[str, Any]:
        """Series registry, the three steps' state, counter rates, counts (plain data)."""
        return {
            "kinds": self.kinds,
            "keys": [list(k) for k in self._keys],
            "detector": self.detector.state_dict(),
            "calibrator": self.calibrator.state_dict(),
            "decider": self.decider.state_dict(),
            "tails": self.tails.state_dict(),
            "rates": self.rates.state_dict(),
            "rare": self.rare.state_dict(),
            "samples": self.samples,
            "anomalies": self.anomalies,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict` (same configuration)."""
        try:
            keys = [(str(r), str(m)) for r, m in state["keys"]]
            self.kinds = {str(k): str(v) for k, v in state["kinds"].items()}
            self._ids, self._keys = {}, []
            self._counter, self._bad, self._role, self._unit = [], [], [], []
            self._resolution = []
            self._group = []
            for r, m in keys:
                self._series_id(r, m)
            self._counter_arr = np.zeros(0, dtype=bool)  # rebuilt on the next batch
            self.detector.load_state_dict(state["detector"])
            self.calibrator.load_state_dict(state["calibrator"])
            self.decider.load_state_dict(state["decider"])
            self.tails.load_state_dict(state["tails"])
            self.rates.load_state_dict(state["rates"])
            self.rare.load_state_dict(state["rare"])
            self.samples, self.anomalies = int(state["samples"]), int(state["anomalies"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"detect stage state does not fit: {exc!r}") from None

    def snapshot(self) -> bytes:
        return dump_state("detect", self.state_dict(), self.config())

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "detect", self.config()))
