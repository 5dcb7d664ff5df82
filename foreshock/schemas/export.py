"""JSON Schema export of every record that crosses a stage boundary.

Examples
--------
>>> "Incident" in RECORDS and "MetricBatch" in RECORDS
True
"""

from __future__ import annotations

from pathlib import Path

import orjson
from pydantic import BaseModel

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.dead_letter import DeadLetter
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch, MetricSample
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.topology import Topology

RECORDS: dict[str, type[BaseModel]] = {
    "MetricSample": MetricSample,
    "MetricBatch": MetricBatch,
    "LogRecord": LogRecord,
    "Anomaly": Anomaly,
    "Forecast": Forecast,
    "Incident": Incident,
    "RootCauseReport": RootCauseReport,
    "AlertEvent": AlertEvent,
    "Topology": Topology,
    "DeadLetter": DeadLetter,
}


def export_schemas(directory: Path) -> list[Path]:
    """Write ``<Name>.schema.json`` for every record into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in RECORDS.items():
        path = directory / f"{name}.schema.json"
        schema = model.model_json_schema(by_alias=True)
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written
