"""Pydantic validation errors as one line a person can act on.

Examples
--------
>>> from pydantic import BaseModel, ValidationError
>>> class Edge(BaseModel):
...     to: str
...     weight: float
>>> try:
...     Edge.model_validate({"weight": "heavy"})
... except ValidationError as exc:
...     print(describe(exc))
to: Field required; weight: Input should be a valid number, unable to parse string as a number
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe"]

_NOT_AN_OBJECT = ("model_type", "model_attributes_type", "dict_type")


def describe(exc: ValidationError) -> str:
    """Every error of ``exc`` as ``field.path: message``, joined by ``; ``.

    A model-level check reads as its message alone; "Value error, " is dropped; a value
    that should have been a mapping says so in plain words.

    >>> from pydantic import BaseModel
    >>> class Point(BaseModel):
    ...     x: float
    >>> try:
    ...     Point.model_validate([1])
    ... except ValidationError as exc:
    ...     print(describe(exc))
    should be a mapping (an object: {key: value, ...})
    """
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] in _NOT_AN_OBJECT:
            msg = "should be a mapping (an object: {key: value, ...})"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)
