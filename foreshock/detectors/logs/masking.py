"""Masking rules: ordered regexes that replace variable parts of a log line by placeholders.

One rule set for every log source (no per-system rule): timestamps, UUIDs, URLs, MACs,
IPs (with port), hex ids, dotted names holding a digit (host names, versioned class
names), absolute paths, values of ``key=value`` pairs, sizes and durations with a unit,
and finally every run of digits, also inside a token (``blk_-123`` → ``blk_<NUM>``,
``node-17`` → ``node-<NUM>``), so identifiers keep their constant skeleton. The order
matters: specific rules run before the generic number rule. Then
:func:`collapse_variables` folds runs of variable tokens and repeated variable groups
into one, so variable-length parameter lists do not change the token count.

The rules are plain data (:data:`RULES`); :func:`masking_instructions` turns them into
``drain3`` masking instructions, :func:`mask` applies them to one line.

Examples
--------
>>> mask("Received block blk_-1608 of size 91178 from /10.250.10.6:40524")
'Received block blk_<NUM> of size <NUM> from <*>'
>>> mask("Took 0.73 seconds to spawn instance 2f2c1d5e-7a1b-4c3e-9d3f-0a1b2c3d4e5f")
'Took <NUM> seconds to spawn instance <UUID>'
>>> mask("Fan speeds ( 3552 3534 3375 **** 3515 3479 )")
'Fan speeds ( <NUM> **** <NUM> )'
>>> mask("opened /var/log/app.log for user=alice on MSRA-SA-41.fareast.corp.com")
'opened <PATH> for user=<*> on <ID>'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drain3.masking import AbstractMaskingInstruction, MaskingInstruction  # type: ignore[import-untyped]

__all__ = ["RULES", "MaskRule", "collapse_variables", "mask", "masking_instructions"]

_B = r"(?<![\w.\-])"  # left boundary: not inside a word, number or dotted name
_E = r"(?![\w\-]|\.\w)"  # right boundary


@dataclass(frozen=True)
class MaskRule:
    """One masking rule: text matching ``pattern`` is replaced by ``<name>``.

    Examples
    --------
    >>> MaskRule("HEX", r"0x[0-9a-f]+").apply("at 0x1f")
    'at <HEX>'
    """

    name: str
    pattern: str
    repl: str | None = None  # a rewrite instead of the placeholder (``\\1`` etc.)

    def apply(self, text: str) -> str:
        """``text`` with every match replaced by the placeholder (or ``repl``)."""
        return re.sub(self.pattern, self.replacement, text)

    @property
    def replacement(self) -> str:
        """What a match becomes: ``repl`` if set, else ``<name>``."""
        return f"<{self.name}>" if self.repl is None else self.repl


_UNITS = (
    r"(?:[kKmMgGtTpP]i?[bB](?:ytes)?|[bB]ytes?|[bB]|ms|us|µs|ns|sec(?:onds?)?|s|mins?|h|"
    r"[kKmMgG]?[hH]z|%)"
)
# units written after a space ("18846 bytes", "17.7 GB", "1 sec"): words only, never a
# lone letter, which is as often a word of the message ("5 s" or "list 5 a")
_UNIT_WORDS = (
    r"(?:[kKmMgGtTpP]i?[bB](?:ytes)?|[bB]ytes?|ms|us|µs|ns|secs?|seconds?|mins?|minutes?"
    r"|hours?|days?|[kKmMgG]?[hH]z)"
)
_UNIT = "(?:" + _UNITS + "|\\s+" + _UNIT_WORDS + ")"

RULES: tuple[MaskRule, ...] = (
    # dates and times: 2015-10-18 18:01:47,978 · 2005-06-03-15.42.50.675872 · 17/06/09
    MaskRule(
        "TS",
        r"\d{4}-\d{2}-\d{2}(?:[T\s-]\d{1,2}[:.]\d{2}[:.]\d{2}(?:[.,]\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?",
    ),
    MaskRule("TS", r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"),
    MaskRule("UUID", r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"),
    MaskRule("URL", r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]+"),
    MaskRule("MAC", r"\b[0-9a-fA-F]{2}(?:[:\-][0-9a-fA-F]{2}){5}\b"),
    MaskRule("IP", r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])"),
    MaskRule("HEX", r"\b0[xX][0-9a-fA-F]+\b"),
    # long hex ids (hashes, request and instance ids); at least one digit
    MaskRule("HEX", r"(?<![\w\-])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"),
    # dotted names with a digit: host names, versioned class names (not plain a.b.c keys)
    MaskRule(
        "ID",
        r"(?<![\w.\-/])(?=[\w.\-]*\d)(?=[\w.\-]*[A-Za-z])[A-Za-z0-9][\w\-]*(?:\.[\w\-]+){2,}",
    ),
    # host names: host:port, and dotted names ending in a common top-level domain
    MaskRule("HOST", r"(?<![\w.\-/])[A-Za-z][\w\-]*(?:\.[\w\-]+)+:\d{1,5}\b"),
    MaskRule(
        "HOST",
        r"(?<![\w.\-/])(?:[\w\-]+\.)+(?:com|net|org|edu|gov|mil|io|local|lan|corp|internal)"
        r"(?:\.[a-z]{2})?(?![\w.\-])",
    ),
    MaskRule("PATH", r"\b[A-Za-z]:\\[^\s\"'<>]*"),
    MaskRule("PATH", r"(?<![\w/<>])(?:/[\w.\-@+~,:#%]+)+/?"),
    # value of key=value (the key stays: it is part of the template)
    MaskRule("*", r"(?<=[\w\]\)]=)(?:\"[^\"]*\"|'[^']*'|[^\s,;()\[\]{}\"']+)"),
    # a quantity restated in another unit, "18846 bytes (18.4 KB)", is one parameter: the
    # restatement goes (small values are logged without it: "451 bytes"), the unit stays
    MaskRule(
        "",
        r"(?<=\d)(" + _UNIT + _E + r")\s*\(\s*[-+]?\d+(?:\.\d+)?" + _UNIT + r"\s*\)",
        repl=r"\1",
    ),
    # sizes and durations with a unit attached
    MaskRule("NUM", _B + r"[-+]?\d+(?:\.\d+)?" + _UNITS + _E),
    # a parenthesised list that is empty or holds comma-separated items, "Set()" or
    # "(yarn, curi)": one parameter whatever its length
    MaskRule("*", r"(?<=\()\s*(?:[^\s(),]+(?:\s*,\s*[^\s(),]+)+)?\s*(?=\))"),
    # every remaining run of digits, also inside identifiers
    MaskRule("NUM", r"(?<![a-zA-Z0-9])[-+]?\d+(?:\.\d+)*|\d+(?:\.\d+)*"),
)

_PLACEHOLDER = re.compile(r"<[A-Z*]+>")
# A token of placeholders and punctuation only, read left to right, a placeholder wherever
# one starts, never reconsidered (atomic): linear. (``^[\W_]*(?:<[A-Z*]+>[\W_]*)+$``, the
# same set, backtracked exponentially: ``<*>`` repeated in one long token never ended.)
_VAR_TOKEN = re.compile(r"(?>(?:<[A-Z*]++>|[\W_])*)\Z")


def collapse_variables(text: str) -> str:
    """Collapse runs of variable tokens and repeated variable groups, so that a parameter
    list has the same tokens whatever its length.

    A variable token holds only placeholders and punctuation, or two placeholders or more
    (``attempt_<NUM>_m_<NUM>``). A run of them becomes one token: the placeholder itself
    if the run repeats one bare placeholder, else ``<*>``. Then a group of up to three
    tokens with a placeholder, repeated back to back, is kept once.

    Examples
    --------
    >>> collapse_variables("speeds ( <NUM> <NUM> <NUM> ) from <IP>, <IP>")
    'speeds ( <NUM> ) from <*>'
    >>> collapse_variables("node-<NUM> is up in <NUM>")
    'node-<NUM> is up in <NUM>'
    >>> collapse_variables("unknown hosts cn<NUM>, cn<NUM>, cn<NUM>")
    'unknown hosts cn<NUM>'
    >>> collapse_variables("sets n-<NUM> <ok> n-<NUM> <ok> n-<NUM> <ok> end")
    'sets n-<NUM> <ok> end'
    """
    return " ".join(_collapse_repeats(_collapse_runs(text.split())))


def _is_var(tok: str) -> bool:
    if _VAR_TOKEN.match(tok):
        return _PLACEHOLDER.search(tok) is not None
    return len(_PLACEHOLDER.findall(tok)) >= 2


def _collapse_runs(tokens: list[str]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if tok and _is_var(tok):
            run.append(tok)
            continue
        if run:
            same = all(t == run[0] for t in run) and _PLACEHOLDER.fullmatch(run[0])
            out.append(run[0] if same else "<*>")
            run = []
        if tok:
            out.append(tok)
    return out


def _collapse_repeats(tokens: list[str], max_group: int = 3) -> list[str]:
    keys = [t.rstrip(",;") for t in tokens]  # list separators do not make a group differ
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for n in range(1, max_group + 1):
            group = keys[i : i + n]
            if (
                len(group) == n
                and keys[i + n : i + 2 * n] == group
                and any(_PLACEHOLDER.search(t) for t in group)
            ):
                j = i + n
                while keys[j : j + n] == group:
                    j += n
                out.extend(group)
                i = j
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


class _Collapse(AbstractMaskingInstruction):  # type: ignore[misc]
    """The token-level step of :func:`collapse_variables` as a drain3 instruction."""

    def __init__(self) -> None:
        super().__init__("*")

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        return collapse_variables(content)


class _Rewrite(AbstractMaskingInstruction):  # type: ignore[misc]
    """A rule with ``repl`` as a drain3 instruction (drain3's own always writes ``<name>``)."""

    def __init__(self, rule: MaskRule) -> None:
        super().__init__(rule.name)
        self.rule = rule

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        return self.rule.apply(content)


def masking_instructions(rules: tuple[MaskRule, ...] = RULES) -> list[Any]:
    """drain3 masking instructions for ``rules``, then the collapsing step."""
    out: list[Any] = [
        MaskingInstruction(r.pattern, r.name) if r.repl is None else _Rewrite(r) for r in rules
    ]
    out.append(_Collapse())
    return out


def mask(text: str, rules: tuple[MaskRule, ...] = RULES) -> str:
    """``text`` with every rule applied in order, then :func:`collapse_variables`."""
    for rule in rules:
        text = rule.apply(text)
    return collapse_variables(text)
