"""Log stage per partition group: one resource's lines never depend on another group's.

The distributed runtime keys log records by resource over ``kafka_partitions`` partitions,
and each partition runs its own :class:`~foreshock.pipelines.stages.logs.LogStage`, which
sees only its resources' lines and every metric batch's tick. A single log stage over the
whole fleet behaves differently: a line of one resource advances the event-time clock that
closes every resource's rate windows (so a window's rate batch reaches the detectors before
or after a metric batch depending on who else logged), a kind's template miner learns from
every resource of the kind (so template ids differ), and the warm-up starts at the first
line of any resource. Scores then drift between runtimes (the detect stage calibrates per
partition group, see :class:`~foreshock.pipelines.stages.detect.DetectStage`), and a
borderline anomaly is raised in one runtime and not in another.

:class:`GroupedLogStage` is the log stage every runtime runs: one ``LogStage`` per group of
:func:`~foreshock.pipelines.partitioning.partition_of` (``groups`` = ``kafka_partitions``),
each fed its resources' lines and every tick — exactly what a partition sees — so the
embedded, live and distributed runtimes raise the same anomalies.

Examples
--------
>>> from foreshock.schemas.logs import LogRecord
>>> stage = GroupedLogStage(groups=4, kinds={"pg-1": "postgresql"}, warmup=0.0, lateness=0.0)
>>> [a] = stage.process(LogRecord(timestamp=5.0, resource="pg-1", level="fatal",
...                               message="sorry, too many clients already"))
>>> a.resource, a.kind
('pg-1', 'log')
>>> stage.lines, stage.state_of()
(1, {'pg-1': {'templates': 1, 'open': ['T1']}})
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from foreshock.pipelines.partitioning import partition_of
from foreshock.pipelines.stages.logs import LogStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state, load_state

__all__ = ["GroupedLogStage"]


class GroupedLogStage:
    """Stage: log records → rate batches and new-template anomalies, one
    :class:`~foreshock.pipelines.stages.logs.LogStage` per partition group.

    Parameters
    ----------
    groups
        Number of groups (the runtime's ``kafka_partitions``); a resource belongs to
        ``partition_of(resource, groups)``.
    **options
        The :class:`~foreshock.pipelines.stages.logs.LogStage` parameters, for every group.
    """

    absorbs = True  # log records stop here; the rate batches go on to the detectors

    def __init__(self, groups: int = 1, **options: Any) -> None:
        if groups < 1:
            raise ValueError(f"groups must be at least 1, not {groups}")
        self.groups = groups
        self._options = options
        # every group exists from the start: each sees every tick, as a partition does
        self.parts = [LogStage(**options) for _ in range(groups)]

    @property
    def lines(self) -> int:
        """Log lines mined."""
        return sum(p.lines for p in self.parts)

    @property
    def anomalies(self) -> int:
        """New-template anomalies raised."""
        return sum(p.anomalies for p in self.parts)

    def process(self, item: LogRecord) -> list[MetricBatch | Anomaly]:
        return self.parts[partition_of(item.resource, self.groups)].process(item)

    def tick(self, now: float) -> Iterable[MetricBatch | Anomaly]:
        out: list[MetricBatch | Anomaly] = []
        for part in self.parts:
            out += part.tick(now)
        return out

    def state_of(self) -> dict[str, Any]:
        """Templates seen and open episodes per resource."""
        found: dict[str, Any] = {}
        for part in self.parts:
            found.update(part.state_of())
        return dict(sorted(found.items()))

    # -- state as data -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The groups and the log stage's hyperparameters (a snapshot must match them)."""
        return {**self.parts[0].config(), "groups": self.groups}

    def state_dict(self) -> dict[str, Any]:
        """Each group's :meth:`LogStage.state_dict`, in group order."""
        return {"groups": [p.state_dict() for p in self.parts]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace every group's state (:class:`SnapshotError` if it does not fit; the
        stage is then left as it was)."""
        parts = state.get("groups") if isinstance(state, dict) else None
        if not isinstance(parts, list) or len(parts) != self.groups:
            raise SnapshotError(
                f"log stage state: expected the state of {self.groups} groups"
            ) from None
        fresh = [LogStage(**self._options) for _ in parts]
        for part, s in zip(fresh, parts, strict=True):
            part.load_state_dict(s)
        self.parts = fresh

    def snapshot(self) -> bytes:
        return dump_state("logs", self.state_dict(), config=self.config())

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "logs", config=self.config()))
