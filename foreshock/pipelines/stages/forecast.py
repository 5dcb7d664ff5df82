"""Forecast stage: capacity series → forecasts, and predicted-exhaustion anomalies.

The packs name each kind's capacity pairs (``used`` vs ``limit``, and whether growth or
a drop is the danger: disk *available* bytes run out at 0, Redis *used* memory at
``maxmemory``). This stage keeps a downsampled history of every capacity series it sees
(5-minute means, two days by default: 576 floats per series), refits on a schedule, not
per sample (every ``refit_every`` seconds of event time per series), and emits:

- a :class:`~foreshock.schemas.forecast.Forecast` per refit (model chosen per series by
  rolling-origin backtest, 80/95% intervals, time-to-exhaustion p10/p50/p90);
- a ``predicted_exhaustion`` :class:`~foreshock.schemas.anomaly.Anomaly` when the median
  time-to-exhaustion comes within ``alert_within`` seconds, which enters the same incident
  and alert path as every other anomaly. Hysteresis keeps it from flapping: it only
  clears once the median exhaustion is beyond ``clear_factor × alert_within`` (or gone)
  for ``clear_after`` consecutive refits.
"""

from __future__ import annotations

import math
import pickle
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.packs.model import base_name
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.metrics import MetricBatch


@dataclass
class _Series:
    resource: str
    metric: str
    danger: Literal["growth", "drop"]
    limit_metric: str
    unit: str | None
    times: deque[float] = field(default_factory=deque)
    values: deque[float] = field(default_factory=deque)
    bucket: float = math.nan
    total: float = 0.0
    count: int = 0
    limit: float | None = None
    last_fit: float = -math.inf
    active: Anomaly | None = None
    calm: int = 0


class ForecastStage:
    """Stage: forecasts of every capacity series the packs know, on a refit schedule."""

    absorbs = False  # the detect stage needs the same batches

    def __init__(
        self,
        kinds: dict[str, str],
        packs: PackIndex | None = None,
        horizon_s: float = 24 * 3600.0,
        refit_every: float = 900.0,
        bucket_s: float = 300.0,
        history_s: float = 2 * 86400.0,
        min_points: int = 24,
        alert_within: float = 6 * 3600.0,
        clear_factor: float = 1.5,
        clear_after: int = 2,
        candidates: Sequence[str] | None = None,
    ) -> None:
        self.kinds = dict(kinds)
        self.packs = packs or PackIndex(load_packs())
        self.horizon_s = horizon_s
        self.refit_every = refit_every
        self.bucket_s = bucket_s
        self.history_s = history_s
        self.min_points = min_points
        self.alert_within = alert_within
        self.clear_factor = clear_factor
        self.clear_after = clear_after
        self.candidates = list(candidates) if candidates else None
        self._series: dict[tuple[str, str], _Series] = {}
        self._ignored: set[tuple[str, str]] = set()
        self._limit_index: dict[tuple[str, str], list[_Series]] = {}
        self.forecasts = 0

    # -- which series are capacity series ----------------------------------------------------
    def _track(self, resource: str, metric: str) -> _Series | None:
        key = (resource, metric)
        s = self._series.get(key)
        if s is not None or key in self._ignored:
            return s
        pack = self.packs.packs.get(self.kinds.get(resource, "other"))
        for pair in pack.capacity if pack else []:
            if metric == pair.used or base_name(metric) == base_name(pair.used):
                s = _Series(resource, metric, pair.danger, pair.limit, pair.unit)
                self._series[key] = s
                self._limit_index.setdefault((resource, base_name(pair.limit)), []).append(s)
                return s
        self._ignored.add(key)
        return None

    def _limit_of(self, resource: str, metric: str) -> list[_Series]:
        return self._limit_index.get((resource, base_name(metric)), [])

    # -- stage contract ------------------------------------------------------------------------
    def process(self, item: MetricBatch) -> list[Anomaly | Forecast]:
        t = float(item.timestamp)
        for r, m, v in zip(item.resources, item.metrics, item.values, strict=True):
            if not math.isfinite(v):
                continue
            s = self._track(r, m)
            if s is not None:
                self._add(s, t, v)
                continue
            for used in self._limit_of(r, m):
                used.limit = v
        return []

    def _add(self, s: _Series, t: float, v: float) -> None:
        b = math.floor(t / self.bucket_s) * self.bucket_s
        if b != s.bucket:
            if s.count:
                s.times.append(s.bucket + self.bucket_s / 2)
                s.values.append(s.total / s.count)
                keep = int(self.history_s / self.bucket_s)
                while len(s.times) > keep:
                    s.times.popleft()
                    s.values.popleft()
            s.bucket, s.total, s.count = b, 0.0, 0
        s.total += v
        s.count += 1

    def tick(self, now: float) -> Iterable[Anomaly | Forecast]:
        out: list[Anomaly | Forecast] = []
        for s in self._series.values():
            if now - s.last_fit < self.refit_every or len(s.times) < self.min_points:
                continue
            s.last_fit = now
            fc = self._forecast(s, now)
            if fc is None:
                continue
            self.forecasts += 1
            out.append(fc)
            out += self._decide(s, fc, now)
        return out

    def _threshold(self, s: _Series) -> float | None:
        if s.danger == "drop":
            return 0.0  # available bytes run out at zero
        return s.limit

    def _forecast(self, s: _Series, now: float) -> Forecast | None:
        from foreshock.detectors.forecasters.selection import DEFAULT_CANDIDATES, forecast_series

        t = np.asarray(s.times, dtype=np.float64)
        y = np.asarray(s.values, dtype=np.float64)
        return forecast_series(  # floored at zero: free space cannot go below it
            s.resource,
            s.metric,
            t,
            y,
            self.horizon_s,
            limit=self._threshold(s),
            danger=s.danger,
            candidates=self.candidates or DEFAULT_CANDIDATES,
            made_at=now,
        )

    def _decide(self, s: _Series, fc: Forecast, now: float) -> list[Anomaly]:
        p50 = fc.exhaustion_p50
        left = (p50 - now) if p50 is not None else math.inf
        if s.active is None:
            if left <= self.alert_within:
                s.calm = 0
                s.active = Anomaly(
                    resource=s.resource,
                    metric=s.metric,
                    onset=now,
                    detected_at=now,
                    score=1.0 - min(max(left, 0.0) / self.alert_within, 1.0) * 0.5,
                    raw_score=left / 3600.0,
                    direction="up" if s.danger == "growth" else "down",
                    value=float(s.values[-1]),
                    baseline=float(self._threshold(s) or 0.0),
                    detector=f"forecast:{fc.model}",
                    kind="predicted_exhaustion",
                    role="capacity",
                    unit=s.unit,
                )
                return [s.active]
            return []
        if left > self.clear_factor * self.alert_within:
            s.calm += 1
            if s.calm >= self.clear_after:
                closed = s.active.model_copy(update={"state": "closed", "detected_at": now})
                s.active = None
                return [closed]
        else:
            s.calm = 0
        return []

    def snapshot(self) -> bytes:
        return pickle.dumps((self._series, self._ignored, self._limit_index, self.forecasts))

    def restore(self, state: bytes) -> None:
        body = pickle.loads(state)  # our own snapshot
        self._series, self._ignored, self._limit_index, self.forecasts = body

    def state_of(self) -> dict[str, Any]:
        return {f"{r}/{m}": len(s.times) for (r, m), s in self._series.items()}
