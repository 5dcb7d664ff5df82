"""Typed records for every stage boundary of foreshock."""

from __future__ import annotations

from schemas.alert import AlertEvent
from schemas.anomaly import Anomaly
from schemas.dead_letter import DeadLetter
from schemas.errors import ConfigError, ForeshockError, ReplayError, SchemaError, UnknownNameError
from schemas.forecast import Forecast
from schemas.incident import CandidateEvidence, Incident, RootCause, RootCauseCandidate, ScoreParts
from schemas.logs import LogRecord
from schemas.metrics import MetricBatch, MetricSample
from schemas.report import EvidenceRow, RootCauseReport
from schemas.topology import Edge, Node, Topology

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
