"""What a metric no pack knows is, read from the words of its name.

A user's own series (``checkout_latency_p95``, ``cart_error_rate``, ``pod_memory_usage``)
and data exported by other tools rarely use the names the packs list. Without a role, every
rule that knows what a series means — a slowdown is not a failure of traffic, a CPU is a
resource's own usage, traffic alone is demand, an error only counts going up — is off, and
root cause falls back to magnitudes. The words of a name usually say it: this module reads
them the way a person would, with a fixed precedence (an ``error_rate`` is about errors, not
traffic; a ``request_duration`` is a latency, not a count of requests).

Examples
--------
>>> [guess_role(m) for m in ("cart_error_rate", "checkout_latency_p95", "pod_memory_usage",
...  "net_rx_bytes", "kafka_consumer_lag", "syscalls")]
[('errors', 'up', None), ('latency', 'up', None), ('utilisation', 'up', None), \
('throughput', 'both', None), ('saturation', 'up', None), ('other', 'both', None)]
>>> guess_role("memory_available_bytes"), guess_role("http_request_duration_seconds")
(('utilisation', 'down', None), ('latency', 'up', 's'))
"""

from __future__ import annotations

import re
from functools import lru_cache

from foreshock.packs.model import Bad, family_of

__all__ = ["guess_role"]


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Words that name a role, checked in this order: the first role with a word in the
#: name wins.
ROLE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "errors",
        _vocabulary(
            "error errors err fail failed failure failures fault faults 5xx exception "
            "exceptions timeout timeouts rejected dropped"
        ),
    ),
    ("latency", _vocabulary("latency latencies duration rt responsetime elapsed delay")),
    ("saturation", _vocabulary("lag backlog queue queued pending waiting saturation")),
    (
        "utilisation",
        _vocabulary("cpu mem memory heap disk usage util utilization utilisation used"),
    ),
    (
        "throughput",
        _vocabulary(
            "requests request req rps qps tps throughput bytes rx tx receive received "
            "transmit transmitted packets calls ops workload traffic messages"
        ),
    ),
)

#: Words that turn a usage around: less of it is what hurts.
_SPARE = _vocabulary("free available avail idle remaining spare")

_WORD = re.compile(r"[a-z0-9]+")


def _words(metric: str) -> list[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", family_of(metric))
    return _WORD.findall(name.lower())


@lru_cache(maxsize=8192)
def guess_role(metric: str) -> tuple[str, Bad, str | None]:
    """``(role, bad direction, unit)`` of a metric read from the words of its name.

    ``("other", "both", None)`` when no word names a role. Cached: the grouper asks on
    every tick for the series of the groups it holds.
    """
    words = _words(metric)
    have = set(words)
    unit = "s" if "seconds" in have else None
    if {"response", "time"} <= have:
        have.add("responsetime")
    for role, vocabulary in ROLE_WORDS:
        if have & vocabulary:
            if role == "throughput":
                return role, "both", unit
            if role == "utilisation" and have & _SPARE:
                return role, "down", unit
            return role, "up", unit
    return "other", "both", unit
