"""What the log stage keeps per resource, and its plain-data form (state as data).

A resource's line counts by level and by template, the templates seen on it, its open
new-template episodes and how often each template opened one. :func:`resource_state` and
:func:`resource_of` turn a :class:`ResourceLog` into plain data and back, refusing a state
of the wrong shape with :class:`~foreshock.schemas.errors.SnapshotError` (the field and
what was expected), never failing deep inside.

Examples
--------
>>> r = ResourceLog(kind="redis", first=0.0, levels={"notice": 2}, seen={"T1"})
>>> resource_of(resource_state(r), "r") == r
True
>>> resource_of({"kind": "redis"}, "resources['cache']")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.SnapshotError: log stage state: resources['cache']: expected a dict ...
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pydantic import ValidationError

from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.errors import SnapshotError

__all__ = [
    "Episode",
    "ResourceLog",
    "fail",
    "resource_of",
    "resource_state",
    "want_dict",
    "want_float",
    "want_int",
]

RESOURCE_KEYS = frozenset({"kind", "first", "levels", "templates", "seen", "episodes", "raised"})
EPISODE_KEYS = frozenset({"anomaly", "last_seen", "lines"})


@dataclass
class Episode:
    """An open new-template episode: its anomaly, when the template was last seen, lines."""

    anomaly: Anomaly
    last_seen: float
    lines: int = 1


@dataclass
class ResourceLog:
    """Everything the log stage learned about one resource's log."""

    kind: str
    first: float
    levels: dict[str, int] = field(default_factory=dict)  # lines so far, by level
    templates: dict[str, int] = field(default_factory=dict)  # lines so far, by template
    seen: set[str] = field(default_factory=set)
    episodes: dict[str, Episode] = field(default_factory=dict)
    raised: Counter[str] = field(default_factory=Counter)


def resource_state(r: ResourceLog) -> dict[str, Any]:
    """``r`` as plain data (see :mod:`foreshock.schemas.state`)."""
    return {
        "kind": r.kind,
        "first": r.first,
        "levels": dict(r.levels),
        "templates": dict(r.templates),
        "seen": set(r.seen),
        "episodes": {
            tid: {
                "anomaly": ep.anomaly.model_dump(mode="python"),
                "last_seen": ep.last_seen,
                "lines": ep.lines,
            }
            for tid, ep in r.episodes.items()
        },
        "raised": dict(r.raised),
    }


def resource_of(value: Any, where: str) -> ResourceLog:
    """The resource in plain data ``value`` (``where``: its place, for messages)."""
    r = want_dict(value, where)
    if r.keys() != RESOURCE_KEYS:
        fail(f"{where}: expected a dict with keys {', '.join(sorted(RESOURCE_KEYS))}")
    seen = r["seen"]
    if not isinstance(seen, set) or not all(isinstance(t, str) for t in seen):
        fail(f"{where}.seen: expected a set of template ids")
    episodes: dict[str, Episode] = {}
    for tid, ep in want_dict(r["episodes"], f"{where}.episodes").items():
        at = f"{where}.episodes[{tid!r}]"
        if not isinstance(ep, dict) or ep.keys() != EPISODE_KEYS:
            fail(f"{at}: expected a dict with keys {', '.join(sorted(EPISODE_KEYS))}")
        try:
            anomaly = Anomaly.model_validate(ep["anomaly"])
        except ValidationError as exc:
            first = exc.errors()[0]
            field_ = ".".join(str(x) for x in first["loc"])
            fail(f"{at}.anomaly.{field_}: {first['msg']}")
        episodes[want_str(tid, at)] = Episode(
            anomaly,
            want_float(ep["last_seen"], f"{at}.last_seen"),
            want_int(ep["lines"], f"{at}.lines"),
        )
    return ResourceLog(
        kind=want_str(r["kind"], f"{where}.kind"),
        first=want_float(r["first"], f"{where}.first"),
        levels=want_counts(r["levels"], f"{where}.levels"),
        templates=want_counts(r["templates"], f"{where}.templates"),
        seen=set(seen),
        episodes=episodes,
        raised=Counter(want_counts(r["raised"], f"{where}.raised")),
    )


def fail(message: str) -> NoReturn:
    """Refuse a log stage state."""
    raise SnapshotError(f"log stage state: {message}")


def want_dict(value: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        fail(f"{where}: expected a dict, got {type(value).__name__}")
    return value


def want_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        fail(f"{where}: expected a string, got {type(value).__name__}")
    return value


def want_int(value: Any, where: str) -> int:
    if type(value) is not int:
        fail(f"{where}: expected an int, got {type(value).__name__}")
    return value


def want_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int):
        fail(f"{where}: expected a number, got {type(value).__name__}")
    return value  # as it was: an int clock stays an int


def want_counts(value: Any, where: str) -> dict[str, int]:
    return {
        want_str(k, f"{where} key"): want_int(v, f"{where}[{k!r}]")
        for k, v in want_dict(value, where).items()
    }
