"""Detectors by short name, imported lazily from ``"module:Class"`` paths (Merlion style).

Every registered class implements :class:`~foreshock.detectors.base.BatchDetector`, the
contract the detect stage calls (``foreshock run --detector NAME``, the ``detector``
setting) and ``foreshock score`` uses. Importing this module imports no detector: a class
is imported the first time its name is resolved, so the fleet tier never pays for River.

Examples
--------
>>> names()
['deep', 'fleet', 'hst', 'loda']
>>> resolve("fleet").__name__
'RobustBaseline'
>>> create("hst", window_size=100).params()["window_size"]
100
>>> create("nope")
Traceback (most recent call last):
...
foreshock.schemas.errors.UnknownNameError: unknown detector 'nope'; known: deep, fleet, hst, loda
"""

from __future__ import annotations

from typing import Any

from foreshock.detectors.base import BatchDetector
from foreshock.detectors.lazy import resolve_path

__all__ = ["create", "names", "resolve"]

_PATHS: dict[str, str] = {
    "deep": "foreshock.detectors.breakout:BreakoutDetector",
    "fleet": "foreshock.detectors.fleet:RobustBaseline",
    "hst": "foreshock.detectors.river_tier:RiverHST",
    "loda": "foreshock.detectors.river_tier:RiverLODA",
}


def names() -> list[str]:
    """The registered detector names, sorted."""
    return sorted(_PATHS)


def resolve(name: str) -> type:
    """The detector class registered as ``name`` (imported on first use).

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered; the message lists the known names.
    """
    return resolve_path("detector", _PATHS, name)


def create(name: str, **params: Any) -> BatchDetector:
    """A new detector ``name`` built with hyperparameters ``params``.

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered.
    """
    cls = resolve(name)
    detector = cls(**params)
    if not isinstance(detector, BatchDetector):
        raise TypeError(f"{cls.__qualname__} does not implement the BatchDetector contract")
    return detector
