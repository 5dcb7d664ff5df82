"""OpenSearch report store: the distributed backend of :class:`~.base.ReportStore`.

Reports, incidents, anomalies and forecasts each live in one index, ``<prefix>-reports``,
``<prefix>-incidents``, ``<prefix>-anomalies`` and ``<prefix>-forecasts``, created from the
templates of :mod:`.opensearch_templates` (the store puts them on first use).

The store is split by what it holds: this module has the store's record methods;
:mod:`.opensearch_client` the client, errors and the idempotent document writes;
:mod:`.opensearch_query` the query built from user text and the document ids;
:mod:`.opensearch_snippets` the FTS5-style snippets; :mod:`.opensearch_templates` the
index templates.

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
>>> store = OpenSearchReportStore.connect("http://127.0.0.1:9200")  # doctest: +SKIP
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

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar, cast

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import TransportError
from pydantic import BaseModel

from foreshock.enrichers.stores.base import SearchHit
from foreshock.enrichers.stores.opensearch_client import (
    OpenSearchDocuments,
    Refresh,
    as_dict,
    connect,
    unstamped,
)
from foreshock.enrichers.stores.opensearch_query import (
    MAX_RESULTS,
    anomaly_id,
    forecast_id,
    search_query,
)
from foreshock.enrichers.stores.opensearch_snippets import HIGHLIGHT, snippet
from foreshock.enrichers.stores.opensearch_templates import ANALYZER
from foreshock.schemas.anomaly import Anomaly
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

_M = TypeVar("_M", bound=BaseModel)


class OpenSearchReportStore(OpenSearchDocuments):
    """Report and incident store in OpenSearch indices, with full-text search.

    Parameters
    ----------
    client
        An OpenSearch client. The caller keeps ownership and closes it, unless
        ``owns_client`` (what :meth:`connect` does: the store closes the client it made).
    prefix
        Index name prefix: the indices are ``<prefix>-reports``, ``<prefix>-incidents``,
        ``<prefix>-anomalies`` and ``<prefix>-forecasts``.
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
    owns_client
        Close ``client`` in :meth:`close` (and when opening fails).

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
    >>> client.close()

    Or let the store connect, and close its own client:

    >>> with OpenSearchReportStore.connect("http://127.0.0.1:9200") as store:  # doctest: +SKIP
    ...     store.prefix, store.url
    ('foreshock', 'http://127.0.0.1:9200')
    """

    def __init__(
        self,
        client: OpenSearch,
        *,
        prefix: str = "foreshock",
        refresh: Refresh = "true",
        highlight: tuple[str, str] = ("**", "**"),
        chunk_size: int = 500,
        owns_client: bool = False,
    ) -> None:
        self.highlight = highlight
        super().__init__(
            client, prefix=prefix, refresh=refresh, chunk_size=chunk_size, owns_client=owns_client
        )

    @classmethod
    # an empty password means no authentication (bandit B107)
    def connect(  # nosec B107
        cls,
        url: str,
        user: str = "",
        password: str = "",
        *,
        prefix: str = "foreshock",
        timeout: float = 10.0,
        refresh: Refresh = "true",
        highlight: tuple[str, str] = ("**", "**"),
        chunk_size: int = 500,
        ca_file: str = "",
        verify_certs: bool = True,
    ) -> OpenSearchReportStore:
        """Connect to ``url`` (basic auth if ``user`` is set); the store closes its client.

        For an ``https://`` URL the server's certificate is verified against ``ca_file``
        (else the system's CAs) unless ``verify_certs`` is false (see
        :func:`~.opensearch_client.connect`).

        Raises :class:`~.base.StoreError` (one line) when OpenSearch does not answer (with
        a hint to start it), shows a certificate that is not trusted, or rejects the
        credentials; the client is closed then.

        Examples
        --------
        >>> store = OpenSearchReportStore.connect(
        ...     "http://127.0.0.1:9200", prefix="acme")  # doctest: +SKIP
        >>> store.indices["reports"], repr(store)  # doctest: +SKIP
        ('acme-reports', "OpenSearchReportStore('http://127.0.0.1:9200', prefix='acme')")
        >>> store.close()  # doctest: +SKIP
        """
        return cls(
            connect(
                url, user, password, timeout=timeout, ca_file=ca_file, verify_certs=verify_certs
            ),
            prefix=prefix,
            refresh=refresh,
            highlight=highlight,
            chunk_size=chunk_size,
            owns_client=True,
        )

    # --- reports -------------------------------------------------------------------------

    def put(self, report: RootCauseReport) -> bool:
        """Store ``report`` by id; ``False`` if identical content was already stored."""
        doc = _report_doc(report)

        def body(old: dict[str, Any] | None) -> dict[str, Any] | None:
            if old is None:
                return {**doc, "written_ns": time.time_ns()}
            if unstamped(old) == doc:
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
                        "highlight": HIGHLIGHT,
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
            snippet=snippet(
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
            found = as_dict(
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
            found = as_dict(
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

    def __repr__(self) -> str:
        return f"OpenSearchReportStore({self.url!r}, prefix={self.prefix!r})"


_NEWEST: Final = [
    {"created_at": {"order": "desc"}},
    {"written_ns": {"order": "desc", "missing": "_last", "unmapped_type": "long"}},
]


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
