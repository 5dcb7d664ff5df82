"""``truth.json`` of a replay folder: what really happened, for scoring a run.

The simulator writes it; a person may write one for a recorded incident. Required:
``fault`` (a name, ``"none"`` for a quiet run) and, unless the fault is ``"none"``,
``root_cause`` (``{resource, failure_mode}``; the failure mode may be left out when
nobody named it) and ``start`` (epoch seconds). A replay that holds several faults (a
recorded day of a real system) says ``"fault": "several"`` and lists them in ``faults``
(each ``{fault, start, end, root_cause}``); ``normal`` lists ``[start, end]`` stretches
known to be fault-free (false incidents are counted there). Optional, as
the simulator writes them: ``end``, ``description``, ``affected`` (resources the fault
bends), ``kinds`` (resource → kind), and for a gradual fault ``exhaustion_at`` with the
``capacity_series`` (``{resource, metric}``) that runs out then. Other top-level keys are
kept and ignored.

:func:`read_truth` checks the file before a run starts, so a wrong shape is one clear
:class:`~foreshock.schemas.errors.SchemaError` instead of a traceback after the pages went
out.

Examples
--------
>>> t = Truth.model_validate({"fault": "redis_down", "start": 1767580000,
...     "root_cause": {"resource": "redis-cache", "failure_mode": "down"}})
>>> t.root_cause.resource if t.root_cause else None
'redis-cache'
>>> Truth.model_validate({"fault": "none"}).root_cause is None
True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from foreshock.schemas.errors import SchemaError
from foreshock.schemas.validation import describe
from foreshock.schemas.yaml_input import read_capped

__all__ = [
    "MAX_TRUTH_BYTES",
    "CapacitySeriesTruth",
    "FaultTruth",
    "RootCauseTruth",
    "Truth",
    "read_truth",
]

#: Largest ``truth.json`` accepted, in bytes.
MAX_TRUTH_BYTES = 4 * 1024 * 1024


class RootCauseTruth(BaseModel):
    """The resource where the fault began and its failure mode (a pack's name for it)."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(min_length=1)
    failure_mode: str | None = Field(default=None, min_length=1)


class FaultTruth(BaseModel):
    """One fault of a replay that holds several: its type, window and root cause."""

    model_config = ConfigDict(extra="allow")

    fault: str = Field(min_length=1)
    start: float
    end: float | None = None
    root_cause: RootCauseTruth


class CapacitySeriesTruth(BaseModel):
    """The series that runs out in a gradual fault."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(min_length=1)
    metric: str = Field(min_length=1)


class Truth(BaseModel):
    """The schema of ``truth.json`` (see the module docstring)."""

    model_config = ConfigDict(extra="allow")

    fault: str = Field(min_length=1)
    root_cause: RootCauseTruth | None = None
    start: float | None = None
    end: float | None = None
    description: str | None = None
    affected: list[str] | None = None
    kinds: dict[str, str] | None = None
    exhaustion_at: float | None = None
    capacity_series: CapacitySeriesTruth | None = None
    faults: list[FaultTruth] | None = None
    normal: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Truth:
        if self.fault == "several":
            if not self.faults:
                raise ValueError('"fault": "several" needs a non-empty "faults" list')
        elif self.fault != "none":
            missing = [k for k in ("root_cause", "start") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"fault {self.fault!r} needs {' and '.join(missing)} "
                    '(only "fault": "none" goes without)'
                )
        for name in ("start", "end", "exhaustion_at"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number of epoch seconds, not {v}")
        if (self.capacity_series is None) != (self.exhaustion_at is None):
            raise ValueError("exhaustion_at and capacity_series go together")
        return self


def read_truth(path: Path) -> dict[str, Any]:
    """The validated contents of a ``truth.json`` (keys as in the file, values checked).

    Raises
    ------
    SchemaError
        Unreadable, too large, not JSON, or not of the shape above: the message names the
        file and every field in error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "truth.json"
    >>> _ = f.write_text('{"fault": "disk_full", "root_cause": "host-1"}')
    >>> try:
    ...     read_truth(f)
    ... except SchemaError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    invalid truth.json: root_cause: should be a mapping (an object: {key: value, ...})
    """
    try:
        data = read_capped(path, MAX_TRUTH_BYTES)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read truth.json: {exc.strerror or exc}") from None
    if len(data) > MAX_TRUTH_BYTES:
        raise SchemaError(f"{path}: larger than {MAX_TRUTH_BYTES} bytes")
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"{path}: invalid JSON: {exc}") from None
    try:
        truth = Truth.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(f"{path}: invalid truth.json: {describe(exc)}") from None
    out: dict[str, Any] = truth.model_dump(mode="json", exclude_unset=True)
    return out
