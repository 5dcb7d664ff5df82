"""OpenSearch report store: the distributed backend of :class:`~enrichers.store.ReportStore`.

Reports, incidents, anomalies and forecasts each live in one index, ``<prefix>-reports``,
``<prefix>-incidents``, ``<prefix>-anomalies`` and ``<prefix>-forecasts``, created from the
templates of :mod:`enrichers.opensearch_templates` (the store puts them on first use).

Search answers like the SQLite store: the same fields with the same weights (title and
root-cause resource 4, summary and failure mode 2, causal chain and evidence 1, checks and
remediations 0.5), the same tokens (runs of letters and digits, Porter-stemmed), each
whitespace-separated word a phrase of its runs that must match (``redis-cache`` is the
phrase *redis cache*), the last word also a prefix while it is being typed, and, when no
report matches every word, the reports matching any run, best first. User text never
reaches a query parser: the store extracts the runs itself and sends them in ``multi_match``
phrase queries, so quotes, colons and operators are plain separators. Matched words are
marked in :attr:`~enrichers.store.SearchHit.snippet` with the same ``**…**`` markers.
Relevance scores are BM25 in both stores but not numerically equal; the hits and the best
hit are the same.

Every write is idempotent: reports are stored under their id (``<incident>-v<version>``)
with a partial-document upsert, so re-putting identical content is a no-op that
:meth:`OpenSearchReportStore.put` reports as ``False``; anomalies and forecasts get ids
derived from their identity (:func:`anomaly_id`, :func:`forecast_id`); an incident is kept
only if its version is not older than the stored one (checked inside OpenSearch, atomically).
Writes are searchable when the call returns (``refresh``).

Examples
--------
>>> from schemas.report import RootCauseReport
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
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, Literal, TypeVar, cast

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError
from pydantic import BaseModel

from enrichers.opensearch_templates import (
    KINDS,
    Kind,
    ensure_indices,
    ensure_templates,
    index_name,
)
from enrichers.store import SearchHit, StoreError
from pipelines.settings import Settings
from schemas.anomaly import Anomaly
from schemas.forecast import Forecast
from schemas.incident import Incident
from schemas.report import RootCauseReport

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
_INCIDENT_SCRIPT: Final = (
    "def old = ctx._source; def doc = params.doc; "
    "if (old.version == null || doc.version > old.version || (doc.version == old.version "
    "&& doc.updated_at >= old.updated_at)) { old.clear(); old.putAll(doc); } "
    "else { ctx.op = 'none'; }"
)


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

    The OpenSearch twin of :func:`enrichers.sqlite_store.fts_query`: every
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


class OpenSearchReportStore:
    """Report and incident store in OpenSearch indices, with full-text search.

    Parameters
    ----------
    source
        An OpenSearch client (the caller keeps ownership and closes it), or
        :class:`~pipelines.settings.Settings` to connect with (``opensearch_url``,
        ``opensearch_user``, ``opensearch_password``; closed by :meth:`close`).
    prefix
        Index name prefix; default ``settings.opensearch_index_prefix``, or ``"foreshock"``
        with a client.
    refresh
        When a write becomes searchable: ``"wait_for"`` (default) returns once it is,
        ``"true"`` forces a refresh now (fast for tests, costly at high write rates),
        ``"false"`` does not wait (searches may miss writes for up to a second).
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
        refresh: Refresh = "wait_for",
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
        with self._errors("store a report"):
            result = _dict(
                self.client.update(
                    index=self.indices["reports"],
                    id=report.id,
                    body={"doc": doc, "upsert": {**doc, "written_ns": time.time_ns()}},
                    refresh=self.refresh,
                    retry_on_conflict=3,
                )
            )
        return result.get("result") != "noop"

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
        """Reports matching free user text, best first (see the module docstring)."""
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
                return [self._hit(h) for h in found]
        return []

    def _hit(self, hit: Mapping[str, Any]) -> SearchHit:
        source = hit["_source"]
        return SearchHit(
            report_id=source["id"],
            incident_id=source["incident_id"],
            title=source["title"],
            created_at=source["created_at"],
            score=float(hit["_score"]),
            snippet=self._snippet(hit.get("highlight", {}), source),
        )

    def _snippet(self, highlight: Mapping[str, list[str]], source: Mapping[str, Any]) -> str:
        """The fragment of the field with the most matched words (ties: weightiest field)."""
        best, marks = "", 0
        for name, _ in FIELDS:
            fragments = highlight.get(name) or [""]
            if fragments[0].count(_START) > marks:
                best, marks = name, fragments[0].count(_START)
        if not best:
            return _column(source, "summary")[:160]
        fragment = highlight[best][0]
        plain = fragment.replace(_START, "").replace(_END, "")
        column = _column(source, best)
        start, end = self.highlight
        snippet = fragment.replace(_START, start).replace(_END, end)
        at = column.find(plain)
        if at > 0:
            snippet = "…" + snippet
        if at >= 0 and at + len(plain) < len(column):
            snippet += "…"
        return snippet

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
        with self._errors("store an incident"):
            self.client.update(
                index=self.indices["incidents"],
                id=incident.id,
                body={
                    "script": {
                        "source": _INCIDENT_SCRIPT,
                        "lang": "painless",
                        "params": {"doc": doc},
                    },
                    "upsert": doc,
                },
                refresh=self.refresh,
                retry_on_conflict=5,
            )

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

        Same semantics as :meth:`put` for each report (identical content is a no-op).
        """
        now = time.time_ns()
        actions = (
            {
                "_op_type": "update",
                "_index": self.indices["reports"],
                "_id": report.id,
                "doc": doc,
                "upsert": {**doc, "written_ns": now + i},
                "retry_on_conflict": 3,
            }
            for i, report in enumerate(reports)
            for doc in (_report_doc(report),)
        )
        return self._bulk("reports", actions)

    def put_anomalies(self, anomalies: Iterable[Anomaly]) -> int:
        """Index anomalies under :func:`anomaly_id`; returns how many were new or changed."""
        return self._bulk(
            "anomalies", (self._upsert("anomalies", anomaly_id(a), a) for a in anomalies)
        )

    def put_forecasts(self, forecasts: Iterable[Forecast]) -> int:
        """Index forecasts under :func:`forecast_id`; returns how many were new or changed."""
        return self._bulk(
            "forecasts", (self._upsert("forecasts", forecast_id(f), f) for f in forecasts)
        )

    def _upsert(self, kind: Kind, doc_id: str, record: BaseModel) -> dict[str, Any]:
        return {
            "_op_type": "update",
            "_index": self.indices[kind],
            "_id": doc_id,
            "doc": _json(record),
            "doc_as_upsert": True,
            "retry_on_conflict": 3,
        }

    def _bulk(self, kind: Kind, actions: Iterable[dict[str, Any]]) -> int:
        changed, failed = 0, []
        with self._errors(f"store {kind}"):
            for ok, item in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=self.chunk_size,
                raise_on_error=False,
                max_retries=3,
                initial_backoff=1,
            ):
                outcome = _dict(next(iter(item.values())))
                if not ok:
                    failed.append(outcome)
                elif outcome.get("result") in ("created", "updated"):
                    changed += 1
            if self.refresh != "false":
                self.client.indices.refresh(index=self.indices[kind])
        if failed:
            raise StoreError(
                f"{len(failed)} {kind} not stored in {self.indices[kind]}; first error: "
                f"{failed[0].get('error')}"
            )
        return changed

    # --- plumbing ------------------------------------------------------------------------

    def _get_source(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        try:
            found = _dict(self.client.get(index=self.indices[kind], id=doc_id))
        except NotFoundError as exc:
            if exc.error == "index_not_found_exception":
                raise
            return None
        return cast(dict[str, Any], found["_source"]) if found.get("found") else None

    def _search(self, body: dict[str, Any], size: int) -> list[dict[str, Any]]:
        found = _dict(
            self.client.search(index=self.indices["reports"], body={**body, "size": size})
        )
        return cast(list[dict[str, Any]], found["hits"]["hits"])

    def close(self) -> None:
        """Close the client if the store opened it; safe to call twice."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> OpenSearchReportStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenSearchReportStore({self.url!r}, prefix={self.prefix!r})"


_HIGHLIGHT: Final = {
    "type": "unified",
    "pre_tags": [_START],
    "post_tags": [_END],
    "number_of_fragments": 1,
    "fragment_size": 120,
    "fields": {name: {} for name, _ in FIELDS},
}


def _json(record: BaseModel) -> dict[str, Any]:
    """The record as the JSON the SQLite store keeps (non-finite floats become null).

    Parsed with :mod:`json` (not orjson) so that the client writes floats back in plain
    notation: OpenSearch's ``epoch_second`` dates reject ``1.7e9``.
    """
    return cast(dict[str, Any], json.loads(record.model_dump_json()))


def _report_doc(report: RootCauseReport) -> dict[str, Any]:
    doc = _json(report)
    doc["evidence_text"] = [f"{e.resource} {e.metric}" for e in report.evidence]
    return doc


def _model(cls: type[_M], source: Mapping[str, Any]) -> _M:
    return cls.model_validate({k: v for k, v in source.items() if k in cls.model_fields})


def _column(source: Mapping[str, Any], field: str) -> str:
    """A searched field's text as the SQLite store indexes it (lists joined on one line)."""
    value = source.get(field.removesuffix(".text"))
    if isinstance(value, list):
        sep = " → " if field == "causal_chain" else " | "
        return sep.join(str(v) for v in value)
    return "" if value is None else str(value)


def _dict(response: Any) -> dict[str, Any]:
    return cast(dict[str, Any], response)


def _client_url(client: OpenSearch) -> str:
    hosts = cast(list[dict[str, Any]], getattr(client.transport, "hosts", None) or [{}])
    host = hosts[0]
    scheme = "https" if host.get("use_ssl") else "http"
    return f"{scheme}://{host.get('host', 'localhost')}:{host.get('port', 9200)}"
