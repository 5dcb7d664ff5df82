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
>>> guess_role("checkout_rt_ms_p99")
('latency', 'up', 'ms')
"""

from __future__ import annotations

import re
from functools import lru_cache

from foreshock.packs.model import Bad, family_of

__all__ = ["guess_role", "same_subject", "subject_words"]


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

#: Words that give a time's unit (``latency_ms``, ``duration_seconds``).
_TIME_WORDS = {
    "seconds": "s",
    "ms": "ms",
    "millis": "ms",
    "milliseconds": "ms",
    "us": "us",
    "micros": "us",
    "microseconds": "us",
}

_WORD = re.compile(r"[a-z0-9]+")


def _words(metric: str) -> list[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", family_of(metric))
    words: list[str] = _WORD.findall(name.lower())
    if "response" in words and "time" in words:
        words.append("responsetime")
    return words


@lru_cache(maxsize=8192)
def guess_role(metric: str) -> tuple[str, Bad, str | None]:
    """``(role, bad direction, unit)`` of a metric read from the words of its name.

    ``("other", "both", None)`` when no word names a role. Cached: the grouper asks on
    every tick for the series of the groups it holds.
    """
    words = _words(metric)
    have = set(words)
    unit = next((u for word, u in _TIME_WORDS.items() if word in have), None)
    for role, vocabulary in ROLE_WORDS:
        if have & vocabulary:
            if role == "throughput":
                return role, "both", unit
            if role == "utilisation" and have & _SPARE:
                return role, "down", unit
            return role, "up", unit
    return "other", "both", unit


#: Words that say how or where a thing is measured, not what is measured: two names that
#: share only these (``container_memory_usage_percent``, ``cpu_usage``) are not one signal.
_MEASURE = _vocabulary(
    "total seconds second sec ms millis milliseconds us micros microseconds bytes byte "
    "percent pct ratio rate count sum value current usage util utilization utilisation used "
    "container pod node host app service instance per gauge"
)

#: Spellings of one subject, folded onto one word.
_SAME = {
    "mem": "memory",
    "err": "error",
    "fail": "error",
    "failed": "error",
    "failure": "error",
    "duration": "latency",
    "rt": "latency",
    "responsetime": "latency",
    "elapsed": "latency",
    "net": "network",
    "rx": "receive",
    "received": "receive",
    "tx": "transmit",
    "transmitted": "transmit",
    "req": "request",
    "msg": "message",
}


def _fold(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]  # errors -> error, requests -> request
    return _SAME.get(word, word)


@lru_cache(maxsize=8192)
def subject_words(metric: str) -> frozenset[str]:
    """The words of a metric's name that say *what* it measures (folded spellings).

    >>> sorted(subject_words("container_cpu_usage_percent")), sorted(subject_words("net_rx"))
    (['cpu'], ['network', 'receive'])
    >>> sorted(subject_words('http_request_duration_seconds{quantile="0.99"}'))
    ['http', 'latency', 'request']
    """
    return frozenset(_fold(w) for w in _words(metric) if w not in _MEASURE) - _MEASURE


def same_subject(known: str, role: str, unknown: str) -> bool:
    """Whether a series no pack knows (``unknown``) reads as a pack metric (``known``, of
    pack role ``role``): the same role read from its name, and a subject word in common.

    A failure mode's symptoms are written with its pack's names; the same signal exported
    under another name (``cpu_usage`` for ``container_cpu_usage_percent``) is still its
    symptom. A role alone is not enough: memory and CPU are both utilisation.

    >>> same_subject("container_cpu_usage_percent", "utilisation", "cpu_usage")
    True
    >>> same_subject("container_memory_usage_percent", "utilisation", "cpu_usage")
    False
    >>> same_subject("request_latency_seconds", "latency", "latency_p90")
    True
    >>> same_subject("http_requests_total", "throughput", "request_error_rate")
    False
    """
    if guess_role(unknown)[0] != role:
        return False
    return bool(subject_words(known) & subject_words(unknown))
