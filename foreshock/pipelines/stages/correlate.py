"""Correlate stage: anomalies → incidents with ranked root causes (on the graph).

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> stage = CorrelateStage(NetworkXGraph())
>>> list(stage.tick(0.0))
[]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from foreshock.graph.backends.base import GraphBackend
from foreshock.graph.rca.grouping import IncidentGrouper
from foreshock.graph.rca.ranking import RootCauseRanker
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident


class CorrelateStage:
    """Thin stage over :class:`IncidentGrouper` and :class:`RootCauseRanker`."""

    def __init__(self, graph: GraphBackend, packs: PackIndex | None = None) -> None:
        self.grouper = IncidentGrouper(
            graph, RootCauseRanker(graph, packs or PackIndex(load_packs()))
        )

    def process(self, item: Anomaly) -> list[Incident]:
        return self.grouper.process(item)

    def tick(self, now: float) -> Iterable[Incident]:
        return self.grouper.tick(now)

    def state_dict(self) -> dict[str, Any]:
        """The grouper's state (plain data)."""
        return self.grouper.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the grouper's state by one from :meth:`state_dict`."""
        self.grouper.load_state_dict(state)

    def snapshot(self) -> bytes:
        return self.grouper.snapshot()

    def restore(self, state: bytes) -> None:
        self.grouper.restore(state)
