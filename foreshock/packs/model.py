"""The data model of a middleware pack (one ``pack.yaml`` per middleware kind).

Examples
--------
>>> spec = MetricSpec(type="counter", role="errors", bad="up")
>>> spec.suspects("down")
False
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')

Bad = Literal["up", "down", "both"]


def base_name(metric: str) -> str:
    """Metric name without its label set: ``a{b="c"}`` → ``a``.

    >>> base_name('node_cpu_seconds_total{mode="idle"}')
    'node_cpu_seconds_total'
    """
    i = metric.find("{")
    return metric if i < 0 else metric[:i]


#: Labels that name a statistic of one signal (a quantile, a histogram bucket), not a signal.
STAT_LABELS = frozenset({"stat", "quantile", "le"})

#: A statistic written into a metric's name instead of a label (``latency_p99``,
#: ``rt-median``, ``duration_95``). ``max`` and ``min`` are left out: ``connections_max``
#: is more often a limit than a statistic.
_NAME_STAT = re.compile(r"[_.\-](p\d{2,3}|median|avg|mean|50|75|90|95|99|999)$", re.IGNORECASE)


def family_of(metric: str) -> str:
    """A metric's name without its labels and without a statistic written into the name.

    >>> family_of('request_latency_seconds{stat="p99"}'), family_of("latency_p90")
    ('request_latency_seconds', 'latency')
    >>> family_of("carts_latency-50"), family_of("node_load1"), family_of("connections_max")
    ('carts_latency', 'node_load1', 'connections_max')
    """
    name = base_name(metric)
    return _NAME_STAT.sub("", name) or name


def statistic_of(metric: str) -> str | None:
    """The statistic a series carries (``p99``, ``0.95``, ``avg``...): its ``stat`` or
    ``quantile`` label, else a statistic written into its name; None for neither.

    >>> statistic_of('lat{stat="P99"}'), statistic_of("lat_p95"), statistic_of("lat-99")
    ('p99', 'p95', 'p99')
    >>> statistic_of('lat{quantile="0.9"}'), statistic_of("rt_median"), statistic_of("lat")
    ('0.9', 'median', None)
    """
    labels = labels_of(metric)
    for key in ("stat", "quantile"):
        value = labels.get(key, "").strip().lower()
        if value:
            return value
    found = _NAME_STAT.search(base_name(metric))
    if found is None:
        return None
    text = found.group(1).lower()
    return f"p{text}" if text.isdigit() else text


def quantile_of(metric: str) -> float | None:
    """The quantile of a statistic (0.99 for ``p99`` or ``0.99``, 0.5 for a median; None
    for a mean, a max or no statistic).

    >>> quantile_of('lat{stat="p999"}'), quantile_of("lat_p50"), quantile_of('lat{stat="avg"}')
    (0.999, 0.5, None)
    """
    text = statistic_of(metric) or ""
    if text == "median":
        return 0.5
    number = text[1:] if text.startswith("p") else text
    try:
        q = float(number)
    except ValueError:
        return None
    if text.startswith("p"):
        q = q / 100.0 if len(number) <= 2 else float("0." + number)
    return q


def signal_of(metric: str) -> str:
    """One signal of a metric: its name and labels, without the statistic's label.

    The p90 and p99 of one request time are one signal; the request times of one service
    as two different callers measure them are two.

    >>> signal_of('request_latency_seconds{stat="p99",caller="frontend"}')
    'request_latency_seconds{caller="frontend"}'
    >>> signal_of('http_request_duration_seconds{quantile="0.99"}')
    'http_request_duration_seconds'
    >>> signal_of('latency_p90{caller="frontend"}')
    'latency{caller="frontend"}'
    """
    labels = {k: v for k, v in labels_of(metric).items() if k not in STAT_LABELS}
    if not labels:
        return family_of(metric)
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{family_of(metric)}{{{inner}}}"


#: The quantile from which a statistic describes a signal's tail (its slowest requests).
TAIL_QUANTILE = 0.9


def is_tail_statistic(metric: str) -> bool:
    """Whether ``metric`` is a high quantile of its signal (p90 and above, or the max).

    A tail statistic over one scrape rests on its few slowest events (the p99 of 200
    requests is the second slowest): it moves on its own when a handful of requests are
    slow, while a fault of the service moves its bulk as well.

    >>> [is_tail_statistic(m) for m in ('lat{stat="p99"}', 'lat{stat="avg"}',
    ...  'lat{quantile="0.95"}', 'lat{stat="p50",caller="a"}', 'lat{stat="max"}', 'lat',
    ...  'latency_p95', 'latency-50')]
    [True, False, True, False, True, False, True, False]
    """
    if statistic_of(metric) == "max":
        return True
    q = quantile_of(metric)
    return q is not None and q >= TAIL_QUANTILE


def labels_of(metric: str) -> dict[str, str]:
    """Label set of ``a{b="c",d="e"}`` (``{}`` without one).

    >>> labels_of('pg_stat_activity_count{datname="shop",state="idle in transaction"}')
    {'datname': 'shop', 'state': 'idle in transaction'}
    """
    i = metric.find("{")
    if i < 0:
        return {}
    return dict(_LABEL.findall(metric[i + 1 : metric.rfind("}")]))


def selects(key: str, metric: str) -> bool:
    """Whether a pack key (a name with optional label matchers) selects a series.

    Same base name, and every label of the key has that value in the series.

    >>> selects('pg_stat_activity_count{state="active"}',
    ...         'pg_stat_activity_count{datname="shop",state="active"}')
    True
    >>> selects("pg_stat_activity_count", 'pg_stat_activity_count{state="idle"}')
    True
    >>> selects('pg_stat_activity_count{state="active"}', 'pg_stat_activity_count')
    False
    """
    if key == metric:
        return True
    if base_name(key) != base_name(metric):
        return False
    want = labels_of(key)
    if not want:
        return True
    have = labels_of(metric)
    return all(have.get(k) == v for k, v in want.items())


class MetricSpec(BaseModel):
    """What one exporter metric means."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["gauge", "counter"] = "gauge"
    role: str = "other"
    bad: Bad = "both"
    unit: str | None = None
    key: bool = Field(default=False, description="Worth the deep (River) tier too.")
    resolution: float | None = Field(
        default=None,
        gt=0,
        description=(
            "The smallest change worth attention, in the metric's unit (per second for a "
            "counter): the detectors' scale never drops below it, so one more connection on "
            "a pool of one, or a millisecond on a transaction, is never a many-sigma event."
        ),
    )

    def suspects(self, direction: str) -> bool:
        """Whether a change in ``direction`` ('up'/'down') may be a problem."""
        return self.bad == "both" or self.bad == direction


class CapacityPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    used: str
    limit: str
    unit: str | None = None
    danger: Literal["growth", "drop"] = "growth"


class Symptom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    direction: Literal["up", "down"]
    weight: float = 1.0

    def matches(self, metric: str, direction: str) -> bool:
        return direction == self.direction and selects(self.metric, metric)


class Effect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    """A symptom this failure mode causes on *another* resource.

    ``relation`` says which: ``host`` (the host the resource runs on),
    ``dependents`` (resources that depend on it), ``clients_dependencies`` (the other
    dependencies of its dependents, e.g. the database behind a cache).
    """

    relation: Literal["host", "dependents", "clients_dependencies"]
    metric: str
    direction: Literal["up", "down"]
    kind: str | None = None

    def matches(self, metric: str, direction: str) -> bool:
        return direction == self.direction and selects(self.metric, metric)


class FailureMode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    symptoms: list[Symptom]
    effects: list[Effect] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    remediations: list[str] = Field(default_factory=list)


class LogPattern(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str
    failure_mode: str | None = None


class Pack(BaseModel):
    """Knowledge about one middleware kind."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    description: str = ""
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    capacity: list[CapacityPair] = Field(default_factory=list)
    failure_modes: dict[str, FailureMode] = Field(default_factory=dict)
    log_patterns: list[LogPattern] = Field(default_factory=list)

    @model_validator(mode="after")
    def _patterns_name_failure_modes(self) -> Pack:
        for i, p in enumerate(self.log_patterns):
            if p.failure_mode is not None and p.failure_mode not in self.failure_modes:
                raise ValueError(
                    f"log_patterns.{i}.failure_mode: {p.failure_mode!r} is not a failure mode "
                    f"of this pack (it has: {', '.join(sorted(self.failure_modes)) or 'none'})"
                )
        return self

    def metric(self, name: str) -> MetricSpec | None:
        """Spec of ``name``: an exact entry, else the first key selecting it (by label
        subset, see :func:`selects`), else one for its base name."""
        spec = self.metrics.get(name)
        if spec is None and "{" in name:
            spec = next((s for k, s in self.metrics.items() if "{" in k and selects(k, name)), None)
        if spec is None:
            spec = self.metrics.get(base_name(name))
        return spec
