"""OpenSearch report store: the distributed backend of :class:`~.base.ReportStore`.

Reports, incidents, anomalies and forecasts each live in one index, ``<prefix>-reports``,
``<prefix>-incidents``, ``<prefix>-anomalies`` and ``<prefix>-forecasts``, created from the
templates of :mod:`.opensearch_templates` (the store puts them on first use).

Search answers like the SQLite store: the same fields with the same weights (title and
root-cause resource 4, summary and failure mode 2, causal chain and evidence 1, checks and
remediations 0.5), the same tokens (runs of letters and digits, Porter-stemmed), each
whitespace-separated word a phrase of its runs that must match (``redis-cache`` is the
phrase *redis cache*), the last word also a prefix while it is being typed, and, when no
report matches every word, the reports matching any run, best first. User text never
reaches a query parser: the store extracts the runs itself and sends them in ``multi_match``
phrase queries, so quotes, colons and operators are plain separators. Matched words are
marked in :attr:`~.base.SearchHit.snippet` with the same ``**…**`` markers.
Relevance scores are BM25 in both stores but not numerically equal; the hits and the best
hit are the same.

Every write is idempotent: reports are stored under their id (``<incident>-v<version>``),
and re-putting identical content writes nothing (:meth:`OpenSearchReportStore.put` returns
``False``); anomalies and forecasts get ids derived from their identity (:func:`anomaly_id`,
:func:`forecast_id`), and the bulk methods skip documents stored identically; an incident is
kept only if its version is not older than the stored one. Single writes read, decide and
write with optimistic concurrency (``if_seq_no``), so concurrent writers cannot lose a newer
version. Documents are stored as the records' JSON (what ``model_dump_json`` gives), so
``_source`` reads as the schema says. Writes are searchable when the call returns
(``refresh``).

Examples
--------
>>> from foreshock.schemas.report import RootCauseReport
>>> store = OpenSearchReportStore(Settings.load())          # doctest: +SKIP
>>> report = RootCauseReport(
...     id="inc-7-v1", incident_id="inc-7", created_at=100.0,
...     title="Redis memory exhaustion on redis-cache",
...     summary="redis-cache evicted keys at maxmemory; checkout latency rose.",
...     root_cause_resource="redis-cache", failure_mode="memory_exhaustion")
>>> store.put(report), store.put(report)                    # doctest: +SKIP
(True, False)
>>> [(h.report_id, h.snippet) for h in store.search("eviction")]  # doctest: +SKIP
[('inc-7-v1', 'redis-cache **evicted** keys at maxmemory; checkout latency rose.')]
>>> store.close()                                           # doctest: +SKIP

Building a query needs no server:

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
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, Literal, TypeVar, cast

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConflictError, NotFoundError, TransportError
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from pydantic import BaseModel

from foreshock.enrichers.stores.base import SearchHit, StoreError
from foreshock.enrichers.stores.opensearch_templates import (
    ANALYZER,
    KINDS,
    Kind,
    ensure_indices,
    ensure_templates,
    index_name,
)
from foreshock.pipelines.settings import Settings
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.closing import Closing
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport

__all__ = [
    "OpenSearchReportStore",
    "Refresh",
    "anomaly_id",
    "connect",
    "forecast_id",
    "search_query",
]

Refresh = Literal["wait_for", "true", "false"]
_M = TypeVar("_M", bound=BaseModel)

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
#: Words (phrases) of one query beyond which the rest are ignored; keeps hostile input far
#: below OpenSearch's limit of 1024 clauses per query (each word queries 8 fields).
MAX_WORDS: Final = 64
#: Largest page OpenSearch returns (``index.max_result_window``).
MAX_RESULTS: Final = 10_000
#: Terms a prefix (the word being typed) expands to, per shard.
PREFIX_EXPANSIONS: Final = 200

_HINT: Final = "is OpenSearch running? make services-up"
_TOKEN: Final = re.compile(r"[^\W_]+")  # letters and digits, as the SQLite store's tokenizer
# Private-use characters as highlight tags: they cannot clash with report text, and are
# replaced by the store's markers afterwards.
_START, _END = "\ue000", "\ue001"
_NEWEST: Final = [
    {"created_at": {"order": "desc"}},
    {"written_ns": {"order": "desc", "missing": "_last", "unmapped_type": "long"}},
]
_CONFLICT_RETRIES: Final = 10


def connect(settings: Settings, *, timeout: float = 10.0) -> OpenSearch:
    """An OpenSearch client for ``settings.opensearch_url`` (basic auth if a user is set).

    Examples
    --------
    >>> client = connect(Settings.load(env={}, config=None))
    >>> client.transport.hosts[0]["port"]
    9200
    >>> client.close()
    """
    auth = (
        (settings.opensearch_user, settings.opensearch_password)
        if settings.opensearch_user
        else None
    )
    return OpenSearch(
        hosts=[settings.opensearch_url],
        http_auth=auth,
        timeout=timeout,
        max_retries=1,
        retry_on_timeout=False,
    )


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


def search_query(
    text: str, *, any_word: bool = False, prefix: bool = True
) -> dict[str, Any] | None:
    """The OpenSearch query for free user text; ``None`` when it has no searchable word.

    The OpenSearch twin of :func:`foreshock.enrichers.stores.sqlite.fts_query`: every
    whitespace-separated word must match as a phrase of its letter/digit runs (with
    ``any_word``, any single run may match); with ``prefix`` the last run is also a prefix
    unless the text ends in whitespace. Only letters, digits and spaces reach OpenSearch,
    inside ``multi_match`` queries, which have no syntax. At most :data:`MAX_WORDS` words
    are used.

    Examples
    --------
    >>> q = search_query('NEAR(redis:memory "oops ', any_word=True)
    >>> [c["multi_match"]["query"] for c in q["bool"]["should"]]
    ['near', 'redis', 'memory', 'oops']
    >>> q["bool"]["should"][0]["multi_match"]["fields"][:3]
    ['title^4', 'summary^2', 'root_cause_resource.text^4']
    """
    words = [runs for runs in (_TOKEN.findall(w.lower()) for w in text.split()) if runs]
    if any_word:
        words = [[run] for runs in words for run in runs]
    if not words:
        return None
    last_is_prefix = prefix and not text[-1].isspace() and len(words[-1][-1]) >= 2
    clauses = [
        _phrase(" ".join(runs), prefix=last_is_prefix and i == len(words) - 1)
        for i, runs in enumerate(words)
    ][:MAX_WORDS]
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


class OpenSearchReportStore(Closing):
    """Report and incident store in OpenSearch indices, with full-text search.

    Parameters
    ----------
    source
        An OpenSearch client (the caller keeps ownership and closes it), or
        :class:`~foreshock.pipelines.settings.Settings` to connect with (``opensearch_url``,
        ``opensearch_user``, ``opensearch_password``; closed by :meth:`close`).
    prefix
        Index name prefix; default ``settings.opensearch_index_prefix``, or ``"foreshock"``
        with a client.
    refresh
        When a single write (:meth:`put`, :meth:`put_incident`) becomes searchable:
        ``"true"`` (default) refreshes the index before returning (~20 ms; reports and
        incidents are written a few a minute, so the small segments this makes cost
        nothing); ``"wait_for"`` returns at the next scheduled refresh (up to the index's
        1 s refresh interval: about 1 s per write, measured); ``"false"`` does not wait
        (a search may miss the write for a second). The bulk methods refresh once at the
        end unless ``"false"``.
    highlight
        Markers put around matched words in :attr:`SearchHit.snippet`.
    chunk_size
        Documents per request of the bulk methods.

    Raises
    ------
    StoreError
        OpenSearch is not reachable (with a hint to start it), or refuses the templates, or
        an index of the prefix exists with a mapping foreshock did not make.

    Examples
    --------
    >>> from opensearchpy import OpenSearch
    >>> client = OpenSearch("http://127.0.0.1:9200")
    >>> with OpenSearchReportStore(client, prefix="doc") as store:   # doctest: +SKIP
    ...     store.put_anomalies([]), store.recent(1)
    (0, [])
    """

    def __init__(
        self,
        source: OpenSearch | Settings,
        *,
        prefix: str | None = None,
        refresh: Refresh = "true",
        highlight: tuple[str, str] = ("**", "**"),
        chunk_size: int = 500,
    ) -> None:
        if isinstance(source, Settings):
            self.client = connect(source)
            self.url = source.opensearch_url
            self.prefix = prefix or source.opensearch_index_prefix
            self._owns_client = True
        else:
            self.client = source
            self.url = _client_url(source)
            self.prefix = prefix or "foreshock"
            self._owns_client = False
        self.refresh: Refresh = refresh
        self.highlight = highlight
        self.chunk_size = chunk_size
        self.indices: dict[Kind, str] = {kind: index_name(self.prefix, kind) for kind in KINDS}
        try:
            with self._errors("open the report store"):
                ensure_templates(self.client, self.prefix)
                ensure_indices(self.client, self.prefix)
        except StoreError:
            self.close()
            raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn client errors into :class:`StoreError`, with a hint when unreachable."""
        try:
            yield
        except OpenSearchConnectionError as exc:
            reason = exc.args[1] if len(exc.args) > 1 else exc
            raise StoreError(
                f"OpenSearch not reachable at {self.url} ({action}): {reason}; {_HINT}"
            ) from exc
        except TransportError as exc:
            raise StoreError(f"OpenSearch at {self.url} failed to {action}: {exc}") from exc

    # --- reports -------------------------------------------------------------------------

    def put(self, report: RootCauseReport) -> bool:
        """Store ``report`` by id; ``False`` if identical content was already stored."""
        doc = _report_doc(report)

        def body(old: dict[str, Any] | None) -> dict[str, Any] | None:
            if old is None:
                return {**doc, "written_ns": time.time_ns()}
            if _unstamped(old) == doc:
                return None
            return {**doc, "written_ns": old.get("written_ns", time.time_ns())}

        with self._errors("store a report"):
            return self._put_checked("reports", report.id, body)

    def get(self, report_id: str) -> RootCauseReport | None:
        """The report with this id, else the newest report of the incident with this id."""
        if not report_id:
            return None
        with self._errors("read a report"):
            source = self._get_source("reports", report_id)
            if source is None:
                found = self._search(
                    {"query": {"term": {"incident_id": report_id}}, "sort": _NEWEST}, size=1
                )
                source = found[0]["_source"] if found else None
        return None if source is None else _model(RootCauseReport, source)

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Reports matching free user text, best first (see the module docstring).

        At most :data:`MAX_RESULTS` hits, whatever ``limit`` asks.
        """
        if limit <= 0:
            return []
        for any_word in (False, True):
            query = search_query(text, any_word=any_word)
            if query is None:
                return []
            with self._errors("search reports"):
                found = self._search(
                    {
                        "query": query,
                        "sort": [{"_score": {"order": "desc"}}, *_NEWEST],
                        "highlight": _HIGHLIGHT,
                    },
                    size=min(limit, MAX_RESULTS),
                )
            if found:
                return [self._hit(h, phrases=not any_word) for h in found]
        return []

    def _hit(self, hit: Mapping[str, Any], *, phrases: bool) -> SearchHit:
        source = hit["_source"]
        return SearchHit(
            report_id=source["id"],
            incident_id=source["incident_id"],
            title=source["title"],
            created_at=source["created_at"],
            score=float(hit["_score"]),
            snippet=_snippet(
                hit.get("highlight", {}),
                source,
                self.highlight,
                phrases=phrases,
                identify=self._stems,
            ),
        )

    def _stems(self, texts: list[str]) -> dict[str, str]:
        """Each text's stemmed tokens, by the index's analyzer; texts as-is if that fails."""
        joined = "\n".join(texts)
        try:
            found = _dict(
                self.client.indices.analyze(
                    index=self.indices["reports"], body={"analyzer": ANALYZER, "text": joined}
                )
            )
        except TransportError:
            return {}
        bounds, at = [], 0
        for text in texts:
            bounds.append((at, at + len(text)))
            at += len(text) + 1
        stems: dict[str, list[str]] = {text: [] for text in texts}
        for token in found.get("tokens", []):
            for text, (begin, end) in zip(texts, bounds, strict=True):
                if begin <= token["start_offset"] < end:
                    stems[text].append(token["token"])
        return {text: " ".join(tokens) for text, tokens in stems.items()}

    def recent(self, limit: int = 10) -> list[RootCauseReport]:
        """The newest ``limit`` reports by ``created_at``, newest first."""
        if limit <= 0:
            return []
        with self._errors("list reports"):
            found = self._search(
                {"query": {"match_all": {}}, "sort": _NEWEST}, size=min(limit, MAX_RESULTS)
            )
        return [_model(RootCauseReport, h["_source"]) for h in found]

    # --- incidents -----------------------------------------------------------------------

    def put_incident(self, incident: Incident) -> None:
        """Upsert by id; kept only if its ``(version, updated_at)`` is not older than stored."""
        doc = _json(incident)

        def body(old: dict[str, Any] | None) -> dict[str, Any] | None:
            if old is None:
                return doc
            newer = doc["version"] > old["version"] or (
                doc["version"] == old["version"] and doc["updated_at"] >= old["updated_at"]
            )
            return doc if newer and doc != old else None

        with self._errors("store an incident"):
            self._put_checked("incidents", incident.id, body)

    def get_incident(self, incident_id: str) -> Incident | None:
        """The stored incident with this id, or ``None``."""
        if not incident_id:
            return None
        with self._errors("read an incident"):
            source = self._get_source("incidents", incident_id)
        return None if source is None else _model(Incident, source)

    # --- bulk ----------------------------------------------------------------------------

    def put_reports(self, reports: Iterable[RootCauseReport]) -> int:
        """Store many reports with the bulk API; returns how many were new or changed.

        As :meth:`put` for each report: identical content is skipped, changed content
        replaces the stored report (the last of one id wins).
        """
        return self._bulk("reports", ((r.id, _report_doc(r)) for r in reports), stamp=True)

    def put_anomalies(self, anomalies: Iterable[Anomaly]) -> int:
        """Index anomalies under :func:`anomaly_id`; returns how many were new or changed."""
        return self._bulk("anomalies", ((anomaly_id(a), _json(a)) for a in anomalies))

    def put_forecasts(self, forecasts: Iterable[Forecast]) -> int:
        """Index forecasts under :func:`forecast_id`; returns how many were new or changed."""
        return self._bulk("forecasts", ((forecast_id(f), _json(f)) for f in forecasts))

    def forecasts(
        self, resource: str | None = None, metric: str | None = None, latest_only: bool = True
    ) -> list[Forecast]:
        """Stored forecasts, filtered; with ``latest_only`` the newest per (resource, metric).

        As the SQLite store: ordered by resource, metric, newest ``made_at`` first, then
        model; among forecasts of one series made at the same time, ``latest_only`` keeps
        the first model name. ``latest_only`` asks OpenSearch for one document per series
        (a composite aggregation, paged), so old forecasts are never fetched.
        """
        filters = [
            {"term": {field: value}}
            for field, value in (("resource", resource), ("metric", metric))
            if value is not None
        ]
        query = {"bool": {"filter": filters}}
        with self._errors("read forecasts"):
            if latest_only:
                sources = [hit["_source"] for hit in self._latest_forecasts(query)]
            else:
                sources = [
                    hit["_source"]
                    for hit in helpers.scan(
                        self.client, index=self.indices["forecasts"], query={"query": query}
                    )
                ]
        found = [_model(Forecast, source) for source in sources]
        return sorted(found, key=lambda f: (f.resource, f.metric, -f.made_at, f.model))

    def _latest_forecasts(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The newest forecast hit of each (resource, metric) matching ``query``."""
        composite: dict[str, Any] = {
            "size": 1000,
            "sources": [
                {"resource": {"terms": {"field": "resource"}}},
                {"metric": {"terms": {"field": "metric"}}},
            ],
        }
        newest = [{"made_at": {"order": "desc"}}, {"model": {"order": "asc"}}]
        while True:
            found = _dict(
                self.client.search(
                    index=self.indices["forecasts"],
                    body={
                        "size": 0,
                        "query": query,
                        "aggs": {
                            "series": {
                                "composite": composite,
                                "aggs": {"latest": {"top_hits": {"size": 1, "sort": newest}}},
                            }
                        },
                    },
                )
            )
            series = found["aggregations"]["series"]
            for bucket in series["buckets"]:
                yield from bucket["latest"]["hits"]["hits"]
            if "after_key" not in series or not series["buckets"]:
                return
            composite = {**composite, "after": series["after_key"]}

    def _bulk(
        self, kind: Kind, docs: Iterable[tuple[str, dict[str, Any]]], *, stamp: bool = False
    ) -> int:
        """Index ``(id, document)`` pairs in chunks, skipping those stored identically.

        Each chunk is one ``mget`` (what is stored) and one bulk request of ``index``
        actions; ``stamp`` keeps (or sets) the report's ``written_ns``. Concurrent writers
        of one id: the last wins, as with the SQLite store.
        """
        index = self.indices[kind]
        changed, failed = 0, []
        with self._errors(f"store {kind}"):
            for chunk in _chunks(docs, self.chunk_size):
                stored = self._mget(kind, [doc_id for doc_id, _ in chunk])
                actions = []
                for doc_id, doc in chunk:
                    old = stored.get(doc_id)
                    if old is not None and _unstamped(old) == doc:
                        continue
                    if stamp:
                        written = old.get("written_ns") if old else None
                        doc = {**doc, "written_ns": written or time.time_ns()}
                    stored[doc_id] = doc
                    actions.append({"_op_type": "index", "_index": index, "_id": doc_id, **doc})
                for ok, item in helpers.streaming_bulk(
                    self.client,
                    actions,
                    chunk_size=max(len(actions), 1),
                    max_chunk_bytes=50 * 2**20,
                    raise_on_error=False,
                    max_retries=3,
                    initial_backoff=1,
                ):
                    outcome = _dict(next(iter(item.values())))
                    if ok:
                        changed += 1
                    else:
                        failed.append(outcome)
            if changed and self.refresh != "false":
                self.client.indices.refresh(index=index)
        if failed:
            raise StoreError(
                f"{len(failed)} {kind} not stored in {index}; first error: {failed[0].get('error')}"
            )
        return changed

    # --- plumbing ------------------------------------------------------------------------

    def _put_checked(
        self,
        kind: Kind,
        doc_id: str,
        body: Callable[[dict[str, Any] | None], dict[str, Any] | None],
    ) -> bool:
        """Write ``body(stored)`` unless it is ``None``; ``True`` if written.

        Optimistic concurrency: the write only succeeds if the document is still the one
        read (``if_seq_no``), else it is read and decided again.

        The ``index`` API is used, not ``update``: ``update`` re-serialises the document in
        Java, which writes ``1.7E9`` for epoch seconds, and ``epoch_second`` dates reject
        that. ``index`` keeps the JSON as sent.
        """
        for _ in range(_CONFLICT_RETRIES):
            current = self._get(kind, doc_id)
            new = body(None if current is None else current["_source"])
            if new is None:
                return False
            if current is None:
                concurrency: dict[str, Any] = {"op_type": "create"}
            else:
                concurrency = {
                    "if_seq_no": current["_seq_no"],
                    "if_primary_term": current["_primary_term"],
                }
            try:
                self.client.index(
                    index=self.indices[kind],
                    id=doc_id,
                    body=new,
                    refresh=self.refresh,
                    **concurrency,
                )
            except ConflictError:
                continue
            return True
        raise StoreError(
            f"{kind} {doc_id!r} kept changing under concurrent writers "
            f"({_CONFLICT_RETRIES} tries): try again"
        )

    def _get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        """The stored document (``_source``, ``_seq_no``, …), or ``None``."""
        try:
            found = _dict(self.client.get(index=self.indices[kind], id=doc_id))
        except NotFoundError as exc:
            if exc.error == "index_not_found_exception":
                raise
            return None
        return found if found.get("found") else None

    def _get_source(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        found = self._get(kind, doc_id)
        return None if found is None else cast(dict[str, Any], found["_source"])

    def _mget(self, kind: Kind, ids: list[str]) -> dict[str, dict[str, Any]]:
        found = _dict(self.client.mget(index=self.indices[kind], body={"ids": ids}))
        return {d["_id"]: d["_source"] for d in found["docs"] if d.get("found")}

    def _search(self, body: dict[str, Any], size: int) -> list[dict[str, Any]]:
        found = _dict(
            self.client.search(index=self.indices["reports"], body={**body, "size": size})
        )
        return cast(list[dict[str, Any]], found["hits"]["hits"])

    def close(self) -> None:
        """Close the client if the store opened it; safe to call twice."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"OpenSearchReportStore({self.url!r}, prefix={self.prefix!r})"


_HIGHLIGHT: Final = {
    "type": "unified",
    "pre_tags": [_START],
    "post_tags": [_END],
    "number_of_fragments": 0,  # whole values: the snippet window is chosen here, as FTS5 does
    "fields": {name: {} for name, _ in FIELDS},
}


def _json(record: BaseModel) -> dict[str, Any]:
    """The record as the JSON the SQLite store keeps (non-finite floats become null).

    Parsed with :mod:`json` (not orjson) so that the client writes floats back in plain
    notation: OpenSearch's ``epoch_second`` dates reject ``1.7e9``.
    """
    return cast(dict[str, Any], json.loads(record.model_dump_json()))


def _unstamped(source: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document without the store's own bookkeeping."""
    return {k: v for k, v in source.items() if k != "written_ns"}


def _chunks(
    items: Iterable[tuple[str, dict[str, Any]]], size: int
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _report_doc(report: RootCauseReport) -> dict[str, Any]:
    doc = _json(report)
    doc["evidence_text"] = [f"{e.resource} {e.metric}" for e in report.evidence]
    return doc


def _model(cls: type[_M], source: Mapping[str, Any]) -> _M:
    return cls.model_validate({k: v for k, v in source.items() if k in cls.model_fields})


# --- snippets: SQLite FTS5's snippet(), ported to OpenSearch highlights ---------------------
#
# OpenSearch marks every matched token of each field's whole text; the column and the window
# of SNIPPET_TOKENS tokens are then chosen as FTS5 chooses them (fts5SnippetFunction): 1000
# points per distinct match and 1 per repeat in the window, plus 100 (120 at the start of the
# column) for a window starting at a sentence in a column longer than the window; first
# column wins ties; "…" where the window cuts the text. A match is identified by its text
# (FTS5 uses the query phrase), and in phrase mode tokens of one phrase marked apart
# (``**pg**-**main**``) are joined, as FTS5 marks a phrase as one span.

#: Tokens in a snippet, as the SQLite store's ``snippet(…, 16)``.
SNIPPET_TOKENS: Final = 16
_MARKED: Final = re.compile(f"({_START}[^{_END}]*{_END})")
_JOINABLE: Final = re.compile(r"[^\w\s]{1,3}|_{1,3}")  # between the tokens of one phrase
_SEPARATORS: Final = {"causal_chain": " → ", "evidence_text": " | ", "checks": " | "}


Identify = Callable[[list[str]], dict[str, str]]


def _snippet(
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
            tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
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
        columns[field] = (text, [(m.start(), m.end()) for m in _TOKEN.finditer(text)], [])
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
        if pending and pending[0].replace(_START, "").replace(_END, "") == item:
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
        is_mark = piece.startswith(_START)
        piece = piece.strip(_START + _END) if is_mark else piece
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


def _dict(response: Any) -> dict[str, Any]:
    return cast(dict[str, Any], response)


def _client_url(client: OpenSearch) -> str:
    hosts = cast(list[dict[str, Any]], getattr(client.transport, "hosts", None) or [{}])
    host = hosts[0]
    scheme = "https" if host.get("use_ssl") else "http"
    return f"{scheme}://{host.get('host', 'localhost')}:{host.get('port', 9200)}"
