"""Order stage: anomalies reach the correlator in one canonical event-time order.

Grouping anomalies into incidents depends on their order when several share an instant:
if a series of an ongoing incident closes at ``t`` and a connected series opens at ``t``,
the new anomaly joins the incident only if it is applied first. The order in which
anomalies of one instant are *produced* is an accident of the runtime (which series a
scrape listed first, how resources fall into Kafka partitions, which partition's message
the correlator read first), so the correlation half of every runtime starts with this
stage: it holds the anomalies it receives and, when event time reaches ``now``, releases
those detected at or before ``now`` sorted by :func:`canonical_key`:

1. ``detected_at``: event time first;
2. at one instant, openings before closings: a series that closes at ``t``
   was still abnormal at ``t``, so what appears at ``t`` coincides with it;
3. then ``resource``, ``metric``, ``onset``, ``state``, ``detector``: a total order that
   does not depend on where an anomaly came from.

The embedded and live runtimes, and the distributed correlator (which first waits for
every detect partition's clock, see
:class:`~foreshock.pipelines.runtimes.distributed.drivers.PartitionCorrelator`), therefore
apply the same anomalies in the same order and find the same incidents.

Examples
--------
>>> from foreshock.schemas.anomaly import Anomaly
>>> def a(resource, state, t=10.0):
...     return Anomaly(resource=resource, metric="m", detected_at=t, onset=t - 5,
...                    value=1.0, baseline=0.0, score=0.99, raw_score=6.0,
...                    direction="up", detector="fleet", state=state)
>>> stage = OrderStage()
>>> stage.process(a("redis", "open")), stage.process(a("mariadb", "closed"))
([], [])
>>> [(x.resource, x.state) for x in stage.tick(10.0)]
[('redis', 'open'), ('mariadb', 'closed')]
"""

from __future__ import annotations

from typing import Any

from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.state import dump_state, load_state

__all__ = ["OrderStage", "canonical_key"]


def canonical_key(a: Anomaly) -> tuple[float, int, str, str, float, str, str]:
    """The sort key of the order every runtime applies anomalies in (see the module)."""
    return (
        a.detected_at,
        1 if a.state == "closed" else 0,
        a.resource,
        a.metric,
        a.onset,
        a.state,
        a.detector,
    )


class OrderStage:
    """Stage: holds anomalies until event time reaches them, then releases them in
    :func:`canonical_key` order (the anomalies themselves are unchanged)."""

    absorbs = True  # an anomaly goes on only when the clock releases it

    def __init__(self) -> None:
        self.pending: list[Anomaly] = []

    def process(self, item: Anomaly) -> list[Anomaly]:
        self.pending.append(item)
        return []

    def tick(self, now: float) -> list[Anomaly]:
        if not self.pending:
            return []
        due = sorted((a for a in self.pending if a.detected_at <= now), key=canonical_key)
        if due:
            self.pending = [a for a in self.pending if a.detected_at > now]
        return due

    # -- state as data -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The anomalies not released yet, as plain data."""
        return {"pending": [a.model_dump(mode="python") for a in self.pending]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the held anomalies by those of a :meth:`state_dict`."""
        try:
            pending = [Anomaly.model_validate(a) for a in state["pending"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"order stage state does not fit: {exc!r}") from None
        self.pending = pending

    def snapshot(self) -> bytes:
        return dump_state("order", self.state_dict())

    def restore(self, state: bytes) -> None:
        self.load_state_dict(load_state(state, "order"))
