"""Typed records for every stage boundary of foreshock."""

from __future__ import annotations

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.errors import (
    ConfigError,
    ForeshockError,
    ReplayError,
    SchemaError,
    UnknownNameError,
)
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import (
    CandidateEvidence,
    Incident,
    RootCause,
    RootCauseCandidate,
    ScoreParts,
)
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch, MetricSample
from foreshock.schemas.report import EvidenceRow, RootCauseReport
from foreshock.schemas.topology import Edge, Node, Topology

__all__ = [
    "AlertEvent",
    "Anomaly",
    "CandidateEvidence",
    "ConfigError",
    "DeadLetter",
    "Edge",
    "EvidenceRow",
    "Forecast",
    "ForeshockError",
    "Incident",
    "LogRecord",
    "MetricBatch",
    "MetricSample",
    "Node",
    "ReplayError",
    "RootCause",
    "RootCauseCandidate",
    "RootCauseReport",
    "SchemaError",
    "ScoreParts",
    "Topology",
    "UnknownNameError",
]
