"""Wire format of the Kafka topics: one JSON object per message, tagged by ``t``.

Every record that crosses a topic is a schema from ``schemas/`` (or a small control
record: a tick carrying event time, the end of a replay). Decoding validates; anything
that does not decode raises :class:`~foreshock.schemas.errors.SchemaError` with the reason, which
the worker sends to the dead-letter topic.

Examples
--------
>>> from foreshock.schemas.metrics import MetricBatch
>>> batch = MetricBatch(timestamp=1.0, resources=["a"], metrics=["m"], values=[2.0])
>>> raw = encode_batch(batch, run="r1")
>>> msg = decode(raw)
>>> msg.kind, msg.run, msg.record.values
('batch', 'r1', [2.0])
>>> decode(b"{oops").kind  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.SchemaError: not JSON: unexpected character...
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError

from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SchemaError
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.logs import LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.report import RootCauseReport

Kind = Literal[
    "batch", "log", "anomaly", "forecast", "tick", "end", "incident", "report", "alert", "done"
]

_MODELS: dict[str, type[BaseModel]] = {
    "batch": MetricBatch,
    "log": LogRecord,
    "anomaly": Anomaly,
    "forecast": Forecast,
    "incident": Incident,
    "report": RootCauseReport,
    "alert": AlertEvent,
}


@dataclass(frozen=True)
class Message:
    """A decoded message: its kind, the run it belongs to, and the record (if any)."""

    kind: str
    run: str
    record: Any = None
    source: int = -1  # partition of the stage that sent a tick/end
    timestamp: float = 0.0
    timestamps: tuple[float, ...] = ()  # a tick may carry every batch time it covers


def encode(
    kind: Kind,
    record: BaseModel | None = None,
    run: str = "",
    source: int = -1,
    timestamp: float = 0.0,
    timestamps: tuple[float, ...] = (),
) -> bytes:
    body: dict[str, Any] = {"t": kind, "run": run}
    if record is not None:
        body["r"] = record.model_dump(mode="json", by_alias=True)
    if source >= 0:
        body["src"] = source
    if timestamp:
        body["ts"] = timestamp
    if timestamps:
        body["tss"] = list(timestamps)
    return orjson.dumps(body)


def encode_batch(batch: MetricBatch, run: str = "") -> bytes:
    return encode("batch", batch, run)


def decode(raw: bytes | str | None) -> Message:
    """Decode and validate one message; :class:`SchemaError` says why it cannot be used."""
    if raw is None:
        raise SchemaError("empty message")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or "t" not in body:
        raise SchemaError("not a foreshock message (no 't' field)")
    kind = body["t"]
    if not isinstance(kind, str):
        raise SchemaError(f"unknown message kind {kind!r}")
    run, src, ts = body.get("run", ""), body.get("src", -1), body.get("ts", 0.0)
    if not isinstance(run, str):
        raise SchemaError("invalid message: run must be a string")
    if type(src) is not int or src < -1:
        raise SchemaError("invalid message: src must be a partition number")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise SchemaError("invalid message: ts must be a finite number")
    if kind in ("tick", "end", "done"):
        tss = body.get("tss", ())
        if not isinstance(tss, list | tuple) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in tss
        ):
            raise SchemaError(f"invalid {kind}: tss must be a list of finite numbers")
        return Message(kind, run, None, src, float(ts), tuple(float(x) for x in tss))
    model = _MODELS.get(kind)
    if model is None:
        raise SchemaError(f"unknown message kind {kind!r}")
    try:
        record = model.model_validate(body.get("r"))
    except (ValidationError, SchemaError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc)}
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise SchemaError(f"invalid {kind}: {where} {first.get('msg', '')}".strip()) from None
    return Message(kind, run, record, src, float(ts))
