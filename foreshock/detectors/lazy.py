"""Lazy name → class registries (Merlion style).

``"fleet" → "foreshock.detectors.fleet:RobustBaseline"``.

Examples
--------
>>> resolve_path("thing", {"od": "collections:OrderedDict"}, "od").__name__
'OrderedDict'
>>> resolve_path("thing", {"od": "collections:OrderedDict"}, "nope")
Traceback (most recent call last):
...
foreshock.schemas.errors.UnknownNameError: unknown thing 'nope'; known: od
"""

from __future__ import annotations

import importlib

from foreshock.schemas.errors import UnknownNameError


def resolve_path(what: str, paths: dict[str, str], name: str) -> type:
    """Import and return the class registered as ``name`` in ``paths``.

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered; the message lists the known names.
    """
    try:
        path = paths[name]
    except KeyError:
        known = ", ".join(sorted(paths))
        raise UnknownNameError(f"unknown {what} {name!r}; known: {known}") from None
    module_name, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not isinstance(cls, type):
        raise TypeError(f"{path} is not a class")
    return cls
