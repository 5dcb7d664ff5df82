"""Numbers people read: bytes in IEC units, durations in min/h/d, values with their unit.

Examples
--------
>>> format_bytes(3 * 2**30)
'3 GiB'
>>> format_duration(3.2 * 86400)
'3.2 d'
"""

from __future__ import annotations

__all__ = [
    "byte_scale",
    "duration_scale",
    "format_amount",
    "format_bytes",
    "format_duration",
    "format_value",
    "guess_unit",
]

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def byte_scale(magnitude: float) -> tuple[float, str]:
    """The IEC unit in which ``magnitude`` bytes reads as 1 to 1023, and its size in bytes.

    Examples
    --------
    >>> byte_scale(1536), byte_scale(5 * 2**40)
    ((1024.0, 'KiB'), (1099511627776.0, 'TiB'))
    """
    power = 0
    while abs(magnitude) >= 1024 and power < len(_BYTE_UNITS) - 1:
        magnitude /= 1024
        power += 1
    return 1024.0**power, _BYTE_UNITS[power]


def format_bytes(value: float) -> str:
    """Bytes with a binary (IEC) unit and three significant digits.

    Examples
    --------
    >>> [format_bytes(v) for v in (0, 512, 1536, 5 * 2**20, 186.3 * 2**30, 2.5 * 2**40)]
    ['0 B', '512 B', '1.5 KiB', '5 MiB', '186 GiB', '2.5 TiB']
    >>> format_bytes(-3 * 2**30)
    '-3 GiB'
    """
    scale, unit = byte_scale(value)
    return f"{_num(value / scale)} {unit}"


def format_value(value: float, unit: str | None) -> str:
    """``value`` with its unit: bytes human-readable, anything else as a short number.

    Examples
    --------
    >>> format_value(4 * 2**30, "bytes"), format_value(480.0, "connections")
    ('4 GiB', '480 connections')
    >>> format_value(0.25, None)
    '0.25'
    """
    if unit == "bytes":
        return format_bytes(value)
    return f"{_num(value)} {unit}" if unit else _num(value)


def duration_scale(seconds: float) -> tuple[float, str]:
    """The unit a duration reads best in (minutes, hours or days), and its length in seconds.

    Examples
    --------
    >>> [duration_scale(s) for s in (90, 5400, 10 * 86400)]
    [(60.0, 'min'), (3600.0, 'h'), (86400.0, 'd')]
    """
    if abs(seconds) < 3600:
        return 60.0, "min"
    if abs(seconds) < 2 * 86400:
        return 3600.0, "h"
    return 86400.0, "d"


def format_duration(seconds: float) -> str:
    """A duration in minutes, hours or days, whichever reads best.

    Examples
    --------
    >>> [format_duration(s) for s in (90, 5400, 36 * 3600, 10 * 86400)]
    ['2 min', '1.5 h', '36 h', '10 d']
    """
    scale, unit = duration_scale(seconds)
    value = seconds / scale
    return f"{value:.0f} {unit}" if unit == "min" else f"{format_amount(value)} {unit}"


def format_amount(value: float) -> str:
    """A number of some unit (days, hours): two significant digits, whole from 10 on.

    Examples
    --------
    >>> [format_amount(v) for v in (0.25, 3.21, 9.96, 36.4)]
    ['0.25', '3.2', '10', '36']
    """
    return f"{value:.0f}" if abs(value) >= 9.95 else f"{value:.2g}"


def guess_unit(metric: str) -> str | None:
    """The unit of a metric from its Prometheus-style name (``…_bytes`` → ``"bytes"``).

    Examples
    --------
    >>> guess_unit('node_filesystem_avail_bytes{mountpoint="/"}'), guess_unit("x_ratio")
    ('bytes', None)
    """
    name = metric.split("{", 1)[0]
    return "bytes" if name.endswith("_bytes") else None
