"""When one template covers another, so that the two are one event.

Drain's similarity counts only exact token agreement, so a template that has already
generalised a position (``<*>``) and a younger one that still holds a value there may
stay apart when the line is short. ``general`` covers ``specific`` when both have the
same tokens except where ``general`` has a variable (``<*>`` or any placeholder such
as ``<NUM>``; two placeholders of different kinds agree), and they share at least one
constant token.

Examples
--------
>>> covers(("took", "<*>", "ms"), ("took", "<NUM>", "ms"))
True
>>> covers(("took", "<NUM>", "ms"), ("took", "<HEX>", "ms"))
True
>>> covers(("took", "<NUM>", "ms"), ("took", "5", "s"))
False
>>> covers(("<*>", "<*>"), ("disk", "full"))
False
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["covers", "is_variable"]

_VAR = re.compile(r"^<[A-Z*]+>$")


def is_variable(token: str) -> bool:
    """Whether a template token is a placeholder.

    >>> is_variable("<IP>"), is_variable("<*>"), is_variable("node-<NUM>")
    (True, True, False)
    """
    return bool(_VAR.match(token))


def covers(general: Sequence[str], specific: Sequence[str]) -> bool:
    """Whether ``general`` matches every line ``specific`` matches (see module doc)."""
    if len(general) != len(specific) or tuple(general) == tuple(specific):
        return False
    shared = 0
    for g, s in zip(general, specific, strict=True):
        if g == s:
            shared += not is_variable(g)
        elif not is_variable(g):
            return False
    return shared > 0
