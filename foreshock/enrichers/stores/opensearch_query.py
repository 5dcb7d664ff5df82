"""What the OpenSearch store asks and under which ids it writes: no server needed here.

:func:`search_query` turns free user text into the OpenSearch query that finds the same
reports as the SQLite store's FTS5 query (:func:`foreshock.enrichers.stores.sqlite.fts_query`);
:func:`anomaly_id` and :func:`forecast_id` give records the deterministic document ids that
make re-indexing idempotent.

Examples
--------
>>> q = search_query("redis-cache lat")
>>> [c["multi_match"]["query"] for c in q["bool"]["must"]]
['redis cache', 'lat']
>>> [c["multi_match"]["type"] for c in q["bool"]["must"]]
['phrase', 'phrase_prefix']
>>> search_query('" - :') is None
True
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.forecast import Forecast

__all__ = [
    "FIELDS",
    "MAX_RESULTS",
    "MAX_WORDS",
    "PREFIX_EXPANSIONS",
    "TOKEN",
    "anomaly_id",
    "forecast_id",
    "search_query",
    "search_words",
]

#: Searched fields, in the SQLite store's column order, with the same weights.
FIELDS: Final[tuple[tuple[str, float], ...]] = (
    ("title", 4.0),
    ("summary", 2.0),
    ("root_cause_resource.text", 4.0),
    ("failure_mode.text", 2.0),
    ("causal_chain", 1.0),
    ("evidence_text", 1.0),
    ("checks", 0.5),
    ("remediations", 0.5),
)
#: Distinct words (phrases) of one query beyond which the rest are ignored, in both stores;
#: keeps hostile input far below OpenSearch's limit of 1024 clauses per query (each word
#: queries 8 fields) and an FTS5 query cheap (its cost grows with the square of its terms).
MAX_WORDS: Final = 64
#: Largest page OpenSearch returns (``index.max_result_window``).
MAX_RESULTS: Final = 10_000
#: Terms a prefix (the word being typed) expands to, per shard.
PREFIX_EXPANSIONS: Final = 200
#: A token: a run of letters and digits, as the SQLite store's tokenizer sees it.
TOKEN: Final = re.compile(r"[^\W_]+")


def search_words(
    text: str, *, any_word: bool = False, prefix: bool = True
) -> tuple[list[tuple[str, ...]], bool, int]:
    """The words a search of free user text looks for, shared by both stores.

    Each whitespace-separated word becomes the tuple of its lowercased letter/digit runs
    (with ``any_word``, each run is a word of its own). Returns the distinct words in the
    order first seen, at most :data:`MAX_WORDS` of them; whether the last one is a prefix
    (``prefix`` is set, the text does not end in whitespace, the run has two characters or
    more, and it is the last word of the text: a repeat of an earlier word is a word of its
    own only as that prefix); and how many distinct words were left out.

    Examples
    --------
    >>> search_words("Redis redis-cache REDIS ")
    ([('redis',), ('redis', 'cache')], False, 0)
    >>> search_words("redis cache redis")
    ([('redis',), ('cache',), ('redis',)], True, 0)
    >>> search_words("redis cache redis cache")
    ([('redis',), ('cache',), ('cache',)], True, 0)
    >>> words, last_is_prefix, left_out = search_words(" ".join(f"w{i}" for i in range(70)))
    >>> len(words), words[-1], last_is_prefix, left_out
    (64, ('w63',), False, 6)
    >>> search_words("oom kill" + " kill" * 2000 + " ")
    ([('oom',), ('kill',)], False, 0)
    """
    words = [tuple(runs) for runs in (TOKEN.findall(w.lower()) for w in text.split()) if runs]
    if any_word:
        words = [(run,) for runs in words for run in runs]
    if not words:
        return [], False, 0
    last_is_prefix = prefix and not text[-1].isspace() and len(words[-1][-1]) >= 2
    distinct = list(dict.fromkeys(words))
    if last_is_prefix and words[-1] in words[:-1]:  # typed again: a word and a prefix
        distinct.append(words[-1])
    kept = distinct[:MAX_WORDS]
    return kept, last_is_prefix and len(kept) == len(distinct), len(distinct) - len(kept)


def search_query(
    text: str, *, any_word: bool = False, prefix: bool = True
) -> dict[str, Any] | None:
    """The OpenSearch query for free user text; ``None`` when it has no searchable word.

    The OpenSearch twin of :func:`foreshock.enrichers.stores.sqlite.fts_query`: every
    whitespace-separated word must match as a phrase of its letter/digit runs (with
    ``any_word``, any single run may match); with ``prefix`` the last run is also a prefix
    unless the text ends in whitespace. Only letters, digits and spaces reach OpenSearch,
    inside ``multi_match`` queries, which have no syntax. A repeated word is searched once,
    and at most :data:`MAX_WORDS` distinct words are used (see :func:`search_words`).

    Examples
    --------
    >>> q = search_query('NEAR(redis:memory "oops ', any_word=True)
    >>> [c["multi_match"]["query"] for c in q["bool"]["should"]]
    ['near', 'redis', 'memory', 'oops']
    >>> q["bool"]["should"][0]["multi_match"]["fields"][:3]
    ['title^4', 'summary^2', 'root_cause_resource.text^4']
    """
    words, last_is_prefix, _ = search_words(text, any_word=any_word, prefix=prefix)
    if not words:
        return None
    clauses = [
        _phrase(" ".join(runs), prefix=last_is_prefix and i == len(words) - 1)
        for i, runs in enumerate(words)
    ]
    if any_word:
        return {"bool": {"should": clauses, "minimum_should_match": 1}}
    return {"bool": {"must": clauses}}


def _phrase(phrase: str, *, prefix: bool) -> dict[str, Any]:
    query: dict[str, Any] = {
        "query": phrase,
        "type": "phrase_prefix" if prefix else "phrase",
        "fields": [f"{name}^{weight:g}" for name, weight in FIELDS],
        "tie_breaker": 1.0,  # sum the fields' scores, as BM25 over all columns does
    }
    if prefix:
        query["max_expansions"] = PREFIX_EXPANSIONS
    return {"multi_match": query}


def anomaly_id(anomaly: Anomaly) -> str:
    """Document id of an anomaly: a digest of ``resource|metric|onset``.

    The same episode always gets the same id, so its ``closed`` update replaces the
    ``open`` record and a replay re-indexes nothing new.

    Examples
    --------
    >>> a = Anomaly(resource="redis-cache", metric="redis_evicted_keys_total", onset=100.0,
    ...             detected_at=160.0, score=0.99, raw_score=9.1, direction="up",
    ...             value=40.0, baseline=0.5, detector="fleet")
    >>> anomaly_id(a) == anomaly_id(a.model_copy(update={"state": "closed"}))
    True
    >>> len(anomaly_id(a))
    40
    """
    return _digest(anomaly.resource, anomaly.metric, repr(anomaly.onset))


def forecast_id(forecast: Forecast) -> str:
    """Document id of a forecast: a digest of ``resource|metric|model|made_at``.

    Examples
    --------
    >>> f = Forecast(resource="host-1", metric="disk", made_at=0.0, model="linear",
    ...              horizon_s=60.0)
    >>> forecast_id(f) == forecast_id(f.model_copy(update={"point": [1.0]}))
    True
    """
    return _digest(forecast.resource, forecast.metric, forecast.model, repr(forecast.made_at))


def _digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()
