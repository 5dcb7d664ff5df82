"""Metric records: one sample, and the columnar batch that flows on the hot path.

A :class:`MetricBatch` is one scrape of many series at one timestamp. Series are
identified by ``(resource, metric)``; the detector keeps per-series state in numpy
arrays indexed by a dense series id, so a batch is one vectorised update.

Examples
--------
>>> b = MetricBatch(timestamp=60.0, resources=["redis-1"], metrics=["redis_connected_clients"],
...                 values=[12.0])
>>> len(b), list(b.samples())[0].value
(1, 12.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from foreshock.schemas.errors import SchemaError


class MetricSample(BaseModel):
    """One observation of one series."""

    model_config = ConfigDict(frozen=True)

    timestamp: float = Field(description="Epoch seconds.")
    resource: str = Field(min_length=1, description="Topology node id the series belongs to.")
    metric: str = Field(
        min_length=1, description="Exporter metric name, e.g. redis_memory_used_bytes."
    )
    value: float
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def series(self) -> tuple[str, str]:
        return (self.resource, self.metric)


class MetricBatch(BaseModel):
    """Columnar batch: one scrape of many series at one timestamp."""

    timestamp: float = Field(description="Epoch seconds shared by every value in the batch.")
    resources: list[str]
    metrics: list[str]
    values: list[float]

    @field_validator("values", mode="before")
    @classmethod
    def _null_is_missing(cls, values: object) -> object:
        # JSON has no NaN: a batch written as JSON carries a missing value as null
        if isinstance(values, list) and None in values:
            return [math.nan if v is None else v for v in values]
        return values

    @model_validator(mode="after")
    def _same_length(self) -> MetricBatch:
        if not (len(self.resources) == len(self.metrics) == len(self.values)):
            raise SchemaError(
                "MetricBatch columns differ in length: "
                f"{len(self.resources)} resources, {len(self.metrics)} metrics, "
                f"{len(self.values)} values"
            )
        if not math.isfinite(self.timestamp):
            raise SchemaError(f"MetricBatch timestamp is not finite: {self.timestamp}")
        return self

    def __len__(self) -> int:
        return len(self.values)

    def samples(self) -> Iterator[MetricSample]:
        for r, m, v in zip(self.resources, self.metrics, self.values, strict=True):
            yield MetricSample(timestamp=self.timestamp, resource=r, metric=m, value=v)
