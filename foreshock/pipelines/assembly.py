"""The one place the stage chain is built, from settings, topology and packs.

Every runtime uses it: ``foreshock run --replay`` and ``foreshock demo`` (embedded), the live
Prometheus runtime, and the distributed worker, whose detect agents run the *detection*
half per metrics partition and whose correlate agents run the *correlation* half per
anomalies partition. So every mode honours the same settings:

- ``detector``: the detect stage's detector, by registry name;
- ``forecast``: the forecast stage (capacity forecasts, predicted exhaustion) or not;
- ``packs``: user pack folders on top of the built-in ones (:func:`load_settings_packs`);
- the graph backend is the caller's (:func:`foreshock.pipelines.backends.open_graph` maps
  ``graph_backend`` to networkx or Neo4j).

The chain, in order: forecast (shares metric batches with the next stages) → logs (log
records → rate batches and never-seen-template anomalies; inert when no log record
arrives) → detect (metric batches → anomalies) ‖ order (anomalies in one canonical
event-time order, whatever produced them) → correlate (anomalies → incidents, on the
graph) → enrich (incidents → reports) → alert (incidents → pages).

Examples
--------
>>> from foreshock.graph.backends.embedded import NetworkXGraph
>>> from foreshock.pipelines.settings import Settings
>>> from foreshock.schemas.topology import Topology
>>> topo = Topology.model_validate({"nodes": [{"id": "redis-cache", "kind": "redis"}]})
>>> asm = assemble(Settings.load(env={}, config=None), topo, NetworkXGraph(topo))
>>> print(" → ".join(type(stage).__name__[:-5] for stage, _ in asm.chain.links))
Forecast → GroupedLog → Detect → Order → Correlate → Enrich → Alert
>>> settings = Settings.load(env={"FORESHOCK_FORECAST": "false",
...                               "FORESHOCK_DETECTOR": "loda"}, config=None)
>>> asm = assemble(settings, topo, NetworkXGraph(topo))
>>> asm.detection.forecast is None, type(asm.detection.detect.detector).__name__
(True, 'RiverLODA')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from foreshock.detectors.registry import create
from foreshock.enrichers.narrator import OfflineNarrator
from foreshock.graph.backends.base import GraphBackend
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.chain import Chain, Link
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.stages.alerting import AlertStage
from foreshock.pipelines.stages.correlate import CorrelateStage
from foreshock.pipelines.stages.detect import DetectStage
from foreshock.pipelines.stages.enrich import EnrichStage
from foreshock.pipelines.stages.forecast import ForecastStage
from foreshock.pipelines.stages.log_groups import GroupedLogStage
from foreshock.pipelines.stages.order import OrderStage
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology

__all__ = [
    "Assembly",
    "Correlation",
    "Detection",
    "assemble",
    "correlation",
    "detection",
    "load_settings_packs",
]


def load_settings_packs(settings: Settings) -> PackIndex:
    """The built-in packs plus the folders of the ``packs`` setting, indexed."""
    return PackIndex(load_packs(settings.packs))


@dataclass
class Detection:
    """The detection half: forecast (optional) → logs → detect."""

    forecast: ForecastStage | None
    logs: GroupedLogStage
    detect: DetectStage

    @property
    def chain(self) -> Chain:
        links: list[Link] = []
        if self.forecast is not None:
            links.append((self.forecast, (MetricBatch,)))
        links += [(self.logs, (LogRecord,)), (self.detect, (MetricBatch,))]
        return Chain(links)

    def state_dict(self) -> dict[str, Any]:
        """Every stage's state (plain data)."""
        return {
            "forecast": self.forecast.state_dict() if self.forecast is not None else None,
            "logs": self.logs.state_dict(),
            "detect": self.detect.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace every stage's state by one from :meth:`state_dict`."""
        if self.forecast is not None and state.get("forecast") is not None:
            self.forecast.load_state_dict(state["forecast"])
        self.logs.load_state_dict(state["logs"])
        self.detect.load_state_dict(state["detect"])

    def config(self) -> dict[str, Any]:
        """What the state was learned under (a snapshot of another configuration is refused)."""
        return {
            "forecast": self.forecast.config() if self.forecast is not None else None,
            "logs": self.logs.config(),
            "detect": self.detect.config(),
        }


@dataclass
class Correlation:
    """The correlation half: order → correlate → enrich → alert."""

    order: OrderStage
    correlate: CorrelateStage
    enrich: EnrichStage
    alerting: AlertStage

    @property
    def chain(self) -> Chain:
        return Chain(
            [
                (self.order, (Anomaly,)),
                (self.correlate, (Anomaly,)),
                (self.enrich, (Incident,)),
                (self.alerting, (Incident,)),
            ]
        )

    def finish(self) -> list[Any]:
        """Pages for incidents that had no time to settle before a finite stream ended."""
        return list(self.alerting.flush())

    def state_dict(self) -> dict[str, Any]:
        """Every stage's state (plain data)."""
        return {
            "order": self.order.state_dict(),
            "correlate": self.correlate.state_dict(),
            "alerting": self.alerting.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace every stage's state by one from :meth:`state_dict`."""
        self.order.load_state_dict(state.get("order", {"pending": []}))
        self.correlate.load_state_dict(state["correlate"])
        self.alerting.load_state_dict(state["alerting"])

    def config(self) -> dict[str, Any]:
        """What the state was learned under."""
        return {"correlate": self.correlate.grouper.config(), "settle": self.alerting.settle}


@dataclass
class Assembly:
    """Both halves, and the whole chain the embedded and live runtimes run."""

    detection: Detection
    correlation: Correlation

    @property
    def chain(self) -> Chain:
        return self.detection.chain + self.correlation.chain


def detection(settings: Settings, kinds: Mapping[str, str], packs: PackIndex) -> Detection:
    """The detection stages for resources of ``kinds`` (resource → kind)."""
    forecast = ForecastStage(kinds=dict(kinds), packs=packs) if settings.forecast else None
    return Detection(
        forecast=forecast,
        logs=GroupedLogStage(settings.kafka_partitions, kinds=dict(kinds), packs=packs),
        detect=DetectStage(
            kinds=dict(kinds),
            packs=packs,
            detector=create(settings.detector),
            calibration_groups=settings.kafka_partitions,
        ),
    )


def correlation(settings: Settings, graph: GraphBackend, packs: PackIndex) -> Correlation:
    """The correlation stages on ``graph``."""
    return Correlation(
        order=OrderStage(),
        correlate=CorrelateStage(graph, packs),
        enrich=EnrichStage(OfflineNarrator(packs.packs)),
        alerting=AlertStage(settle=settings.alert_settle_s, quiet=settings.alert_quiet_s),
    )


def assemble(
    settings: Settings,
    topology: Topology,
    graph: GraphBackend,
    packs: PackIndex | None = None,
) -> Assembly:
    """The whole pipeline for ``topology`` on ``graph`` (packs from the settings by default)."""
    packs = packs or load_settings_packs(settings)
    return Assembly(
        detection(settings, topology.kinds(), packs),
        correlation(settings, graph, packs),
    )
