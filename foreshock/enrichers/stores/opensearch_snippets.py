"""Snippets: SQLite FTS5's ``snippet()``, ported to OpenSearch highlights.

OpenSearch marks every matched token of each field's whole text (the store asks for
:data:`HIGHLIGHT`); the column and the window of :data:`SNIPPET_TOKENS` tokens are then
chosen as FTS5 chooses them (``fts5SnippetFunction``): 1000 points per distinct match and 1
per repeat in the window, plus 100 (120 at the start of the column) for a window starting at
a sentence in a column longer than the window; first column wins ties; "…" where the window
cuts the text. A match is identified by its text (FTS5 uses the query phrase), and in phrase
mode tokens of one phrase marked apart (``**pg**-**main**``) are joined, as FTS5 marks a
phrase as one span.

Examples
--------
>>> text = "redis-cache evicted keys at maxmemory"
>>> marked = text.replace("evicted", f"{START}evicted{END}")
>>> snippet({"summary": [marked]}, {"title": "Redis", "summary": text}, ("**", "**"),
...         phrases=True, identify=lambda texts: {})
'redis-cache **evicted** keys at maxmemory'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from foreshock.enrichers.stores.opensearch_query import FIELDS, TOKEN

__all__ = ["END", "HIGHLIGHT", "SNIPPET_TOKENS", "START", "Identify", "snippet"]

# Private-use characters as highlight tags: they cannot clash with report text, and are
# replaced by the store's markers afterwards.
START, END = "\ue000", "\ue001"

#: The ``highlight`` part of a search request: whole values marked with :data:`START` and
#: :data:`END` (the snippet window is chosen here, as FTS5 does).
HIGHLIGHT: Final = {
    "type": "unified",
    "pre_tags": [START],
    "post_tags": [END],
    "number_of_fragments": 0,
    "fields": {name: {} for name, _ in FIELDS},
}

#: Tokens in a snippet, as the SQLite store's ``snippet(…, 16)``.
SNIPPET_TOKENS: Final = 16
_MARKED: Final = re.compile(f"({START}[^{END}]*{END})")
_JOINABLE: Final = re.compile(r"[^\w\s]{1,3}|_{1,3}")  # between the tokens of one phrase
_SEPARATORS: Final = {"causal_chain": " → ", "evidence_text": " | ", "checks": " | "}


#: Maps matched texts to a common identity (their stems), see :func:`snippet`.
Identify = Callable[[list[str]], dict[str, str]]


def snippet(
    highlight: Mapping[str, list[str]],
    source: Mapping[str, Any],
    markers: tuple[str, str],
    *,
    phrases: bool,
    identify: Identify,
) -> str:
    """The best window of the best column, as FTS5's ``snippet()`` picks them.

    ``identify`` maps matched texts that may be forms of one word (``slot``, ``slots``) to
    a common identity (their stems), so they count as one match.
    """
    columns: dict[str, tuple[str, list[tuple[int, int]], list[tuple[int, int, str]]]] = {}
    for field, _ in FIELDS:
        marked = _marked_column(field, highlight.get(field), source)
        if marked is not None:
            text, spans = _parse_marks(marked, phrases=phrases)
            tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
            columns[field] = (text, tokens, _hits(text, spans, tokens))
    alike = set().union(*(_alike({key for *_, key in hits}) for *_, hits in columns.values()))
    if alike:
        same = identify(sorted(alike))
        for field, (text, tokens, hits) in columns.items():
            hits = [(a, b, same.get(key, key)) for a, b, key in hits]
            columns[field] = (text, tokens, hits)

    best: tuple[int, str, int] = (0, "title", 0)  # score, field, first token of the window
    for field, (text, tokens, hits) in columns.items():
        firsts = _sentence_starts(text, tokens)
        for start, _, _ in hits:
            score, adjusted = _window(hits, start, len(tokens))
            if score > best[0]:
                best = (score, field, adjusted)
            if len(tokens) > SNIPPET_TOKENS:
                sentence = max(f for f in firsts if f <= start)
                if sentence < start:
                    bonus = 120 if sentence == 0 else 100
                    score = _window(hits, sentence, len(tokens))[0] + bonus
                    if score > best[0]:
                        best = (score, field, sentence)
    _, field, first = best
    if field not in columns:  # no marks at all: the start of the title, as FTS5 does
        text = _column(source, field)
        columns[field] = (text, [(m.start(), m.end()) for m in TOKEN.finditer(text)], [])
    return _render(*columns[field], first, markers)


def _alike(keys: set[str]) -> set[str]:
    """Keys that might stem alike: distinct, with a common start of 3 (or all) characters."""
    return {
        a
        for a in keys
        for b in keys
        if a != b and a[: min(3, len(a), len(b))] == b[: min(3, len(a), len(b))]
    }


def _marked_column(
    field: str, fragments: list[str] | None, source: Mapping[str, Any]
) -> str | None:
    """The field's text as the SQLite store indexes it, with OpenSearch's marks; None: no match."""
    if not fragments:
        return None
    value = source.get(field.removesuffix(".text"))
    if not isinstance(value, list):
        return fragments[0]
    pending = list(fragments)  # the marked list items, in order
    items = []
    for item in map(str, value):
        if pending and pending[0].replace(START, "").replace(END, "") == item:
            items.append(pending.pop(0))
        else:
            items.append(item)
    return _SEPARATORS.get(field, " | ").join(items)


def _column(source: Mapping[str, Any], field: str) -> str:
    value = source.get(field.removesuffix(".text"))
    if isinstance(value, list):
        return _SEPARATORS.get(field, " | ").join(map(str, value))
    return "" if value is None else str(value)


def _parse_marks(marked: str, *, phrases: bool) -> tuple[str, list[tuple[int, int]]]:
    """Plain text and the character spans OpenSearch marked (a phrase's parts joined)."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    at = 0
    for piece in _MARKED.split(marked):
        is_mark = piece.startswith(START)
        piece = piece.strip(START + END) if is_mark else piece
        if is_mark:
            if phrases and spans and _JOINABLE.fullmatch("".join(parts)[spans[-1][1] :]):
                spans[-1] = (spans[-1][0], at + len(piece))
            else:
                spans.append((at, at + len(piece)))
        parts.append(piece)
        at += len(piece)
    return "".join(parts), spans


def _hits(
    text: str, spans: list[tuple[int, int]], tokens: list[tuple[int, int]]
) -> list[tuple[int, int, str]]:
    """(first token, last token, identity) of each marked span."""
    hits = []
    for begin, end in spans:
        inside = [i for i, (a, b) in enumerate(tokens) if a >= begin and b <= end]
        if inside:
            hits.append((inside[0], inside[-1], text[begin:end].lower()))
    return hits


def _window(hits: list[tuple[int, int, str]], start: int, n_tokens: int) -> tuple[int, int]:
    """FTS5's score of the window at ``start``, and where it puts the window to centre it."""
    seen: set[str] = set()
    score, first, last = 0, -1, 0
    for a, b, key in hits:
        if start <= a < start + SNIPPET_TOKENS:
            score += 1 if key in seen else 1000
            seen.add(key)
            first = a if first < 0 else first
            last = b + 1
    adjusted = first - int((SNIPPET_TOKENS - (last - first)) / 2)
    adjusted = min(adjusted, n_tokens - SNIPPET_TOKENS)
    return score, max(adjusted, 0)


def _sentence_starts(text: str, tokens: list[tuple[int, int]]) -> list[int]:
    """Tokens that start a sentence: the first, and any after ``.`` or ``:`` and a space."""
    starts = [0]
    for i, (a, _) in enumerate(tokens[1:], 1):
        j = a - 1
        while j >= 0 and text[j] in " \t\n\r":
            j -= 1
        if 0 <= j < a - 1 and text[j] in ".:":
            starts.append(i)
    return starts


def _render(
    text: str,
    tokens: list[tuple[int, int]],
    hits: list[tuple[int, int, str]],
    first: int,
    markers: tuple[str, str],
) -> str:
    """The window of tokens from ``first``, hits marked, "…" where the text is cut."""
    if not tokens:
        return text
    last = min(first + SNIPPET_TOKENS, len(tokens)) - 1
    begin = tokens[first][0] if first > 0 else 0
    end = tokens[last][1] if last < len(tokens) - 1 else len(text)
    out, at = [], begin
    for a, b, _ in hits:
        if first <= a <= last:
            start, stop = tokens[a][0], tokens[min(b, last)][1]
            out += [text[at:start], markers[0], text[start:stop], markers[1]]
            at = stop
    out.append(text[at:end])
    return ("…" if first > 0 else "") + "".join(out) + ("…" if last < len(tokens) - 1 else "")
