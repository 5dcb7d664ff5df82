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

A refit fits at most ``fit_points`` points (144 by default): the 5-minute means while the
history is 12 hours or less, then the medians of 2, 3, 4 of them
(:func:`~foreshock.detectors.forecasters.grid.coarsen`: 20-minute blocks once two days are
in); the level-shift check and the forecast grid keep the 5-minute points. A refit then
costs about the same after 12 hours as after a week, and a long run's time grows in
proportion to its length (issue 10: it grew with the history for two days).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.packs.model import base_name
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state, load_state


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


@dataclass(frozen=True)
class SeriesForecast:
    """A forecast with the downsampled history it was made from."""

    forecast: Forecast
    times: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    unit: str | None
    danger: str


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
        fit_points: int = 144,
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
        self.fit_points = fit_points
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
            fit_points=self.fit_points,  # a refit costs the same after a week as at 12 h
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

    # -- on demand ------------------------------------------------------------------------
    def forecast_now(
        self, now: float, keep: Callable[[str, str], bool] | None = None
    ) -> list[SeriesForecast]:
        """Forecast every tracked capacity series (``keep(resource, metric)``) as of ``now``,
        outside the refit schedule: the open 5-minute bucket is closed first. For
        ``foreshock forecast``: a replay read to its end, then one forecast per series."""
        out: list[SeriesForecast] = []
        for s in self._series.values():
            if keep is not None and not keep(s.resource, s.metric):
                continue
            if s.count:  # close the open bucket
                self._add(s, s.bucket + self.bucket_s, 0.0)
                s.total, s.count = 0.0, 0
            if len(s.times) < self.min_points:
                continue
            fc = self._forecast(s, now)
            if fc is not None:
                times = np.asarray(s.times, dtype=np.float64)
                values = np.asarray(s.values, dtype=np.float64)
                out.append(SeriesForecast(fc, times, values, s.unit, s.danger))
        return out

    # -- state as data -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The hyperparameters the state was learned under."""
        return {
            "horizon_s": self.horizon_s,
            "refit_every": self.refit_every,
            "bucket_s": self.bucket_s,
            "history_s": self.history_s,
            "min_points": self.min_points,
            "alert_within": self.alert_within,
            "clear_factor": self.clear_factor,
            "clear_after": self.clear_after,
            "candidates": self.candidates,
            "fit_points": self.fit_points,
        }

    def state_dict(self) -> dict[str, Any]:
        """Every tracked capacity series (history, open bucket, alert state) as plain data."""
        series = []
        for s in self._series.values():
            body = asdict(s)
            body["times"], body["values"] = list(s.times), list(s.values)
            body["active"] = s.active.model_dump(mode="python") if s.active else None
            series.append(body)
        return {
            "series": series,
            "ignored": [list(k) for k in sorted(self._ignored)],
            "forecasts": self.forecasts,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state by one from :meth:`state_dict`."""
        try:
            self._series, self._limit_index = {}, {}
            for body in state["series"]:
                body = dict(body)
                body["times"] = deque(float(x) for x in body["times"])
                body["values"] = deque(float(x) for x in body["values"])
                active = body["active"]
                body["active"] = Anomaly.model_validate(active) if active else None
                s = _Series(**body)
                self._series[(s.resource, s.metric)] = s
                key = (s.resource, base_name(s.limit_metric))
                self._limit_index.setdefault(key, []).append(s)
            self._ignored = {(str(r), str(m)) for r, m in state["ignored"]}
            self.forecasts = int(state["forecasts"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"forecast stage state does not fit: {exc!r}") from None

    def snapshot(self) -> bytes:
        return dump_state("forecast", self.state_dict(), self.config())

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "forecast", self.config()))

    def state_of(self) -> dict[str, Any]:
        return {f"{r}/{m}": len(s.times) for (r, m), s in self._series.items()}
