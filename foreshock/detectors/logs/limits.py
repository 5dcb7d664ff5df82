"""Bounds on what one log line may cost the template miner.

Mining must cost a bounded amount per input byte, whatever the input: a binary file, a
file without a newline, a line of a million tokens. Every line is shaped by
:func:`bound_line` before masking and mining:

- a line that is not text (more than a quarter of its characters are control
  characters or undecodable bytes, shown as ``U+FFFD``) becomes the one token
  :data:`BINARY`, so binary input makes one template instead of one per line;
- a line longer than :data:`MAX_LINE_CHARS` characters is cut there (a token cut in two
  is dropped) and the rest becomes one ``<*>``;
- a line of more than :data:`MAX_TOKENS` whitespace-separated tokens keeps the first
  ``MAX_TOKENS - 1`` and folds the rest into one ``<*>``.

The bounds are far above real log lines (the longest Loghub line has 2,480 characters and
the widest 123 tokens), so what real logs mine to does not change. :func:`read_lines`
reads a byte stream line by line without ever holding more than
:data:`MAX_LINE_BYTES` of one line.

Examples
--------
>>> bound_line("disk full on /dev/sda1")
'disk full on /dev/sda1'
>>> bound_line("\\x00\\x01ELF\\x02\\x00\\x00")
'<BIN>'
>>> bound_line("x " * 300).split()[-2:]
['x', '<*>']
>>> len(bound_line("x " * 300).split()) == MAX_TOKENS
True
>>> bound_line("word " * 2000).endswith("word <*>"), len(bound_line("word " * 2000)) <= 4100
(True, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Final

__all__ = [
    "BINARY",
    "MAX_FOLD_CANDIDATES",
    "MAX_LEAF_TEMPLATES",
    "MAX_LINE_BYTES",
    "MAX_LINE_CHARS",
    "MAX_TOKENS",
    "bound_line",
    "is_binary",
    "read_lines",
]

#: Longest line (characters) mined as it is; the rest of a longer line is one ``<*>``.
MAX_LINE_CHARS: Final = 4096
#: Most tokens of a mined line; the rest are folded into one ``<*>``.
MAX_TOKENS: Final = 256
#: Most templates in one leaf of drain's tree (same token count, same first tokens); past
#: it a line that fits none joins the closest (Loghub's fullest leaf holds 12).
MAX_LEAF_TEMPLATES: Final = 100
#: Most older templates one new or changed template is compared with for merging.
MAX_FOLD_CANDIDATES: Final = 200
#: What a line that is not text is mined as.
BINARY: Final = "<BIN>"
#: Most bytes of one line :func:`read_lines` keeps: enough for ``MAX_LINE_CHARS``
#: characters of any UTF-8 width and one more, so a cut line is always seen as too long.
MAX_LINE_BYTES: Final = 4 * (MAX_LINE_CHARS + 1)

_REST: Final = "<*>"
# C0 controls but tab, newline, vertical tab, form feed, carriage return and escape (ANSI
# colours are common in logs), DEL, C1 controls, and the replacement of undecodable bytes
_NON_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd]")


def is_binary(line: str) -> bool:
    """Whether more than a quarter of ``line``'s characters are not text.

    Examples
    --------
    >>> is_binary("ok"), is_binary("\\x1b[31mERROR\\x1b[0m disk full"), is_binary("\\ufffd\\x00a")
    (False, False, True)
    """
    if not line:
        return False
    bad = len(_NON_TEXT.findall(line))
    return bad * 4 > len(line)


def bound_line(line: str) -> str:
    """``line`` within the bounds of the module doc (unchanged when it is within them)."""
    if len(line) > MAX_LINE_CHARS:
        head = line[:MAX_LINE_CHARS]
        if not line[MAX_LINE_CHARS].isspace():  # the last token is cut: drop it
            parts = head.rsplit(None, 1)
            head = parts[0] if len(parts) == 2 else ""
        line = f"{head} {_REST}"
    if is_binary(line):
        return BINARY
    tokens = line.split(None, MAX_TOKENS)
    if len(tokens) > MAX_TOKENS:
        line = " ".join([*tokens[: MAX_TOKENS - 1], _REST])
    return line


def read_lines(stream: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """Each line of ``stream`` (without its line break) with its size in bytes.

    A line longer than :data:`MAX_LINE_BYTES` is cut there and the rest of it is skipped
    (its bytes still count), so memory stays bounded however long a line is.

    Examples
    --------
    >>> import io
    >>> [(line, size) for line, size in read_lines(io.BytesIO(b"a\\r\\nbc\\n\\nd"))]
    [(b'a', 3), (b'bc', 3), (b'', 1), (b'd', 1)]
    >>> [(len(line), size) for line, size in read_lines(io.BytesIO(b"x" * 10**6 + b"\\ny"))]
    [(16388, 1000001), (1, 1)]
    """
    while True:
        raw = stream.readline(MAX_LINE_BYTES)
        if not raw:
            return
        size = len(raw)
        if not raw.endswith(b"\n"):
            while True:  # the line is longer than the bound: skip the rest of it
                more = stream.readline(MAX_LINE_BYTES)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
        yield raw.rstrip(b"\r\n"), size
