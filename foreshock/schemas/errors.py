"""One root error class for foreshock, and the specific errors that subclass it.

Examples
--------
>>> from foreshock.schemas.errors import ForeshockError, SchemaError
>>> issubclass(SchemaError, ValueError) and issubclass(SchemaError, ForeshockError)
True
"""

from __future__ import annotations


class ForeshockError(Exception):
    """Root of every error foreshock raises on purpose."""


class SchemaError(ForeshockError, ValueError):
    """A record or file does not match its schema."""


class ConfigError(ForeshockError, ValueError):
    """A setting, topology or pack is invalid."""


class ReplayError(ForeshockError, OSError):
    """A replay folder cannot be read at all (missing files, unreadable header)."""


class SnapshotError(ForeshockError, ValueError):
    """A stored snapshot cannot be used (foreign, tampered, or of another version).

    It is never executed: the stage that asked for it starts empty and relearns from the
    stream.
    """


class UnknownNameError(ForeshockError, KeyError):
    """A name (fault, detector, pack) is not registered."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""
