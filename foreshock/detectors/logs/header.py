"""Strip a leading log header (timestamp, level, thread, logger) from a raw line.

Generic, for any file: a header is recognised only when the line starts with a
timestamp (ISO ``2024-01-31 12:00:00,123``, syslog ``Jan 31 12:00:00``, ``17/06/09
20:10:40``, compact ``081109 203615``, epoch seconds; optionally in brackets). After
it, the usual header fields are dropped while they look like one: a level word,
bracketed or numeric fields (thread, pid), a syslog ``host prog[pid]:`` tag and a
``logger.Name:`` token. A line without a leading timestamp is returned unchanged (the
whole line is mined).

Examples
--------
>>> strip_header("2024-01-31 12:00:00,123 INFO [main] o.a.Server: started on port 80")
'started on port 80'
>>> strip_header("Jan 31 12:00:01 db-1 mysqld[312]: Aborted connection 7")
'Aborted connection 7'
>>> strip_header("17/06/09 20:10:40 WARN storage.BlockManager: block lost")
'block lost'
>>> strip_header("disk full on /dev/sda1")
'disk full on /dev/sda1'
"""

from __future__ import annotations

import re

__all__ = ["strip_header"]

_TS = re.compile(
    r"^\s*\[?(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T\s_-]+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[.,]\d+)?)?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}[\s,]+\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
    r"|(?:[A-Z][a-z]{2}\s+){1,2}\d{1,2}\s+\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s+\d{4})?"
    r"|\d{10}(?:\.\d+)?"
    r"|\d{6,8}[\sT]\d{6}(?:[.,]\d+)?"
    r")(?:Z|\s?[+-]\d{2}:?\d{2})?\]?[,:]?(?=\s)"
)
_LEVEL = re.compile(
    r"^\s*[\[<(]?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT"
    r"|EMERG|ALERT|[TDIWEF])[\]>)]?:?(?=\s)",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^\s*(?:\[[^\]]*\]|\(\S*\)|\d+|-)(?=\s)")
_SYSLOG_TAG = re.compile(r"^\s*(?:\S+\s+)?[\w./\-]+\[\d+\]:(?=\s)")
# a run of name characters holding a letter: the lookahead finds the letter, the possessive
# run takes the whole name once (``[...]*[A-Za-z][...]*`` tried every split of a long word:
# quadratic, 6 s on one 16 kB line)
_LOGGER = re.compile(r"^\s*(?=[\w$.\-/]*[A-Za-z])[\w$.\-/]++(?:\[[^\]]*\])?:(?=\s)")


def strip_header(line: str) -> str:
    """The content of ``line`` without its header (see the module doc)."""
    m = _TS.match(line)
    if m is None:
        return line.strip()
    rest = line[m.end() :]
    for _ in range(8):  # level, thread, pid ... in any order, a few at most
        m2 = _LEVEL.match(rest) or _FIELD.match(rest)
        if m2 is None:
            break
        rest = rest[m2.end() :]
    tag = _SYSLOG_TAG.match(rest) or _LOGGER.match(rest)
    if tag is not None and rest[tag.end() :].strip():
        rest = rest[tag.end() :]
    return rest.strip() or line.strip()
