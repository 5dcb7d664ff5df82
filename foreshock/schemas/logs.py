"""Log records as they leave a log source, and the log levels they carry.

Examples
--------
>>> LogRecord(timestamp=1.0, resource="mysql-primary", message="Too many connections").level
'info'
>>> LEVELS.index("warning") > LEVELS.index("info")
True
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# the levels log sources map every server's own to, least to most severe
LEVELS: tuple[str, ...] = ("debug", "info", "notice", "warning", "error", "fatal")


class LogRecord(BaseModel):
    """One log line of one resource."""

    timestamp: float
    resource: str = Field(min_length=1)
    message: str
    level: str = "info"
    template: str | None = Field(default=None, description="Mined template, when known.")
    attributes: dict[str, str] = Field(default_factory=dict)
