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
from functools import lru_cache

__all__ = ["covers", "is_fixed", "is_variable"]

_VAR = re.compile(r"^<[A-Z*]+>$")


def is_variable(token: str) -> bool:
    """Whether a template token is a placeholder.

    >>> is_variable("<IP>"), is_variable("<*>"), is_variable("node-<NUM>")
    (True, True, False)
    """
    return bool(_VAR.match(token))


# an upper-case word (a protocol, a method, a state: HTTPS, SOCKS5, GET, LISTENING), with
# any placeholder or closing punctuation removed; or a label ``key:`` naming the next value
_KEYWORD = re.compile(r"^[A-Z]{2,}[A-Z_\-]*$")
_LABEL = re.compile(r"^[A-Za-z][\w.\-]*:$")
_MASKS = re.compile(r"<[A-Z*]+>")


def is_fixed(token: str) -> bool:
    """Whether a token names *which* event a line is, so that it never becomes a parameter.

    Upper-case words are the enumerations of a log format (``HTTPS``/``SOCKS5``,
    ``GET``/``POST``, ``LISTENING``/``ESTABLISHED``): two lines that differ there are
    two events however alike the rest is. A ``key:`` label names the value after it
    (``memory:`` / ``disk:``). Values themselves are masked before this is asked.

    >>> is_fixed("HTTPS"), is_fixed("SOCKS<NUM>"), is_fixed("disk:"), is_fixed("<NUM>")
    (True, True, True, False)
    >>> is_fixed("Started"), is_fixed("a"), is_fixed("ID"), is_fixed("X")
    (False, False, True, False)
    """
    if token.islower() and token[-1] != ":":  # the common case, without a regex
        return False
    return _fixed(token)


@lru_cache(maxsize=65536)
def _fixed(token: str) -> bool:
    if _LABEL.match(token):
        return True
    return bool(_KEYWORD.match(_MASKS.sub("", token).strip(".,;:!?()[]{}\"'")))


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
