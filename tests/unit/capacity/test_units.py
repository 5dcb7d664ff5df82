"""Readable numbers: bytes in IEC units."""

from __future__ import annotations

import pytest

from foreshock.capacity.units import format_bytes

GiB = 2**30


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (10 * 2**20, "10 MiB"),
        (186.3 * GiB, "186 GiB"),
        (1.25 * 2**40, "1.25 TiB"),
        (-2 * GiB, "-2 GiB"),
    ],
)
def test_bytes_are_human_readable(value: float, text: str) -> None:
    assert format_bytes(value) == text
