"""OpenSearch index templates for foreshock's reports, anomalies, forecasts and incidents.

Each kind of record gets one index, ``<prefix>-<kind>`` (``foreshock-reports``, …), whose
settings and explicit mapping come from a composable index template matching
``<prefix>-<kind>*``, so the index is right however it gets created (by the store, by a
rollover, by hand in Dashboards).

Mappings are explicit: ids, resources, metrics and failure modes are ``keyword`` (exact
filters and facets in Dashboards), times are ``date`` in ``epoch_second`` (fractions kept to
the millisecond) so Dashboards can use them as time fields, and report text is ``text`` with
the ``foreshock_english`` analyzer. That analyzer mirrors the SQLite store's
``porter unicode61 remove_diacritics 2`` tokenizer, so both stores find the same reports:
tokens are runs of letters and digits (``redis_evicted_keys_total`` is four tokens, as in
SQLite), lower-cased, accents folded, and Porter-stemmed (*eviction* finds *evicted*). It
deliberately has no stop-word filter: the SQLite store has none, and a query must match all
of its words in both stores, ``and`` and ``the`` included.

``dynamic`` is ``false`` at the top of every mapping: a field added to a schema later is
kept in ``_source`` (documents still round-trip) without breaking writes, but is not indexed
until the template maps it. Parts of records that nobody filters on (forecast arrays,
incident evidence) are stored but not indexed.

Examples
--------
>>> index_name("foreshock", "reports")
'foreshock-reports'
>>> body = index_templates("foreshock")["foreshock-reports"]
>>> body["index_patterns"]
['foreshock-reports*']
>>> body["template"]["mappings"]["properties"]["failure_mode"]["type"]
'keyword'
>>> index_templates("foreshock") == index_templates("foreshock")   # deterministic
True
>>> from opensearchpy import OpenSearch
>>> ensure_templates(OpenSearch("http://127.0.0.1:9200"), "foreshock")  # doctest: +SKIP
['foreshock-reports', 'foreshock-anomalies', 'foreshock-forecasts', 'foreshock-incidents']
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final, Literal, cast

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, RequestError

from foreshock.enrichers.stores.base import StoreError

__all__ = [
    "ANALYZER",
    "KINDS",
    "TEMPLATE_VERSION",
    "Kind",
    "ensure_indices",
    "ensure_templates",
    "index_name",
    "index_templates",
]

#: Bumped when a mapping changes incompatibly; stored in the mappings' ``_meta``.
TEMPLATE_VERSION: Final = 2  # 2: the LLM enricher's fields (enriched_by, confidence, ...)

Kind = Literal["reports", "anomalies", "forecasts", "incidents"]
KINDS: Final[tuple[Kind, ...]] = ("reports", "anomalies", "forecasts", "incidents")

#: Name of the report text analyzer defined in every template's settings.
ANALYZER: Final = "foreshock_english"

_ANALYSIS: Final[dict[str, Any]] = {
    "tokenizer": {
        # Runs of letters and digits, like SQLite's unicode61 (``_`` and ``-`` separate).
        "foreshock_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"},
    },
    "filter": {
        # Lucene refuses terms over 32 KB, which would fail the whole write; SQLite has no
        # such limit. Words this long are not words, so cutting them changes no search.
        "foreshock_long_words": {"type": "truncate", "length": 1000},
    },
    "analyzer": {
        ANALYZER: {
            "type": "custom",
            "tokenizer": "foreshock_words",
            "filter": ["lowercase", "asciifolding", "foreshock_long_words", "porter_stem"],
        },
    },
}

_KEYWORD: Final = {"type": "keyword", "ignore_above": 1024}
_DATE: Final = {"type": "date", "format": "epoch_second"}
_DOUBLE: Final = {"type": "double"}
_STORED_ONLY: Final = {"type": "double", "index": False, "doc_values": False}
# Searchable text. ``offsets`` make highlighting exact and fast; a position gap of 0 lets a
# phrase run across list items, as it does across the SQLite store's joined columns.
_TEXT: Final = {"type": "text", "analyzer": ANALYZER, "index_options": "offsets"}
_TEXT_LIST: Final = {**_TEXT, "position_increment_gap": 0}
_TEXT_SUBFIELD: Final = {"fields": {"text": _TEXT}}

_REPORT_PROPERTIES: Final[dict[str, Any]] = {
    "id": _KEYWORD,
    "incident_id": _KEYWORD,
    "created_at": _DATE,
    "title": {**_TEXT, "fields": {"raw": _KEYWORD}},
    "summary": _TEXT,
    "root_cause_resource": {**_KEYWORD, **_TEXT_SUBFIELD},
    "failure_mode": {**_KEYWORD, **_TEXT_SUBFIELD},
    "causal_chain": _TEXT_LIST,
    "evidence": {
        "properties": {
            "resource": _KEYWORD,
            "metric": _KEYWORD,
            "onset": _DATE,
            "direction": _KEYWORD,
            "value": _DOUBLE,
            "baseline": _DOUBLE,
            "score": _DOUBLE,
        }
    },
    # "<resource> <metric>" per evidence row: what the SQLite store indexes for evidence.
    "evidence_text": _TEXT_LIST,
    "checks": _TEXT_LIST,
    "remediations": _TEXT_LIST,
    "candidates": _KEYWORD,
    "narrator": _KEYWORD,
    # The LLM enricher: who wrote the report (a model, or "narrator"), why the narrator's
    # stands, the model's confidence: what analysts filter by.
    "enriched_by": _KEYWORD,
    "enrichment_note": _TEXT,
    "confidence": _DOUBLE,
    "would_change": _TEXT_LIST,
    "paging_note": _TEXT,
    "feedback": _TEXT,
    # When the store first wrote the report: breaks ties of created_at like SQLite's rowid.
    "written_ns": {"type": "long"},
}

_ANOMALY_PROPERTIES: Final[dict[str, Any]] = {
    "resource": _KEYWORD,
    "metric": _KEYWORD,
    "onset": _DATE,
    "detected_at": _DATE,
    "score": _DOUBLE,
    "raw_score": _DOUBLE,
    "direction": _KEYWORD,
    "value": _DOUBLE,
    "baseline": _DOUBLE,
    "detector": _KEYWORD,
    "kind": _KEYWORD,
    "role": _KEYWORD,
    "state": _KEYWORD,
    "unit": _KEYWORD,
}

_FORECAST_PROPERTIES: Final[dict[str, Any]] = {
    "resource": _KEYWORD,
    "metric": _KEYWORD,
    "made_at": _DATE,
    "model": _KEYWORD,
    "horizon_s": _DOUBLE,
    **{name: _STORED_ONLY for name in ("timestamps", "point", "lower80", "upper80")},
    **{name: _STORED_ONLY for name in ("lower95", "upper95")},
    "limit": _DOUBLE,
    "backtest_error": _DOUBLE,
    "exhaustion_p10": _DOUBLE,
    "exhaustion_p50": _DOUBLE,
    "exhaustion_p90": _DOUBLE,
}

_INCIDENT_PROPERTIES: Final[dict[str, Any]] = {
    "id": _KEYWORD,
    "opened_at": _DATE,
    "updated_at": _DATE,
    "status": _KEYWORD,
    "resources": _KEYWORD,
    "version": {"type": "integer"},
    "anomalies": {
        "properties": {"resource": _KEYWORD, "metric": _KEYWORD, "score": _DOUBLE},
    },
    "candidates": {
        "properties": {
            "resource": _KEYWORD,
            "score": _DOUBLE,
            "kind": _KEYWORD,
            "failure_mode": _KEYWORD,
            "evidence": {"type": "object", "enabled": False},
        }
    },
}

_PROPERTIES: Final[dict[Kind, dict[str, Any]]] = {
    "reports": _REPORT_PROPERTIES,
    "anomalies": _ANOMALY_PROPERTIES,
    "forecasts": _FORECAST_PROPERTIES,
    "incidents": _INCIDENT_PROPERTIES,
}


def index_name(prefix: str, kind: Kind) -> str:
    """The index that holds records of ``kind``: ``<prefix>-<kind>``.

    Examples
    --------
    >>> index_name("acme", "anomalies")
    'acme-anomalies'
    """
    return f"{prefix}-{kind}"


def index_templates(prefix: str) -> dict[str, dict[str, Any]]:
    """The composable index template bodies, by template name (the index name).

    Each body's ``_meta`` carries :data:`TEMPLATE_VERSION` and a digest of the body, which
    :func:`ensure_templates` compares to skip templates already up to date.

    Examples
    --------
    >>> t = index_templates("fs")
    >>> sorted(t)
    ['fs-anomalies', 'fs-forecasts', 'fs-incidents', 'fs-reports']
    >>> t["fs-reports"]["template"]["mappings"]["dynamic"]
    'false'
    """
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        name = index_name(prefix, kind)
        body: dict[str, Any] = {
            "index_patterns": [f"{name}*"],
            "priority": 100,
            "template": {
                "settings": {
                    "index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
                    "analysis": _ANALYSIS,
                },
                "mappings": {
                    "dynamic": "false",
                    "_meta": {"foreshock_kind": kind, "foreshock_version": TEMPLATE_VERSION},
                    "properties": _PROPERTIES[kind],
                },
            },
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        body["_meta"] = {"managed_by": "foreshock", "version": TEMPLATE_VERSION, "digest": digest}
        out[name] = body
    return out


def ensure_templates(client: OpenSearch, prefix: str) -> list[str]:
    """Put the index templates of ``prefix`` that are missing or differ; idempotent.

    Returns the names of the templates written (empty when all were up to date). Indices
    that already exist keep their mapping: see :func:`ensure_indices`.

    Raises
    ------
    StoreError
        OpenSearch refused a template (for example another template with the same priority
        overlaps its pattern).
    opensearchpy.exceptions.TransportError
        Any other failure, such as OpenSearch not being reachable (the store turns these
        into :class:`~foreshock.enrichers.stores.base.StoreError` with a hint).
    """
    written: list[str] = []
    for name, body in index_templates(prefix).items():
        current = _template_meta(client, name)
        if current.get("digest") == body["_meta"]["digest"]:
            continue
        try:
            client.indices.put_index_template(name=name, body=body)
        except RequestError as exc:
            raise StoreError(f"cannot put OpenSearch index template {name}: {exc}") from exc
        written.append(name)
    return written


def ensure_indices(client: OpenSearch, prefix: str) -> list[str]:
    """Create the indices of ``prefix`` that are missing (templates must exist); idempotent.

    Returns the names of the indices created.

    Raises
    ------
    StoreError
        An index exists but was not created from foreshock's template (it would search
        differently: delete or reindex it), or it was made by a newer foreshock.
    """
    created: list[str] = []
    for kind in KINDS:
        name = index_name(prefix, kind)
        try:
            client.indices.create(index=name)
            created.append(name)
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise StoreError(f"cannot create OpenSearch index {name}: {exc}") from exc
            _check_index(client, name, kind)
    return created


def _template_meta(client: OpenSearch, name: str) -> dict[str, Any]:
    try:
        found = cast(dict[str, Any], client.indices.get_index_template(name=name))
    except NotFoundError:
        return {}
    for item in found.get("index_templates", []):
        if item.get("name") == name:
            return cast(dict[str, Any], item["index_template"].get("_meta", {}))
    return {}


def _check_index(client: OpenSearch, name: str, kind: Kind) -> None:
    mappings = cast(dict[str, Any], client.indices.get_mapping(index=name))
    meta: dict[str, Any] = {}
    for index in mappings.values():  # one entry, unless `name` is an alias
        meta = index.get("mappings", {}).get("_meta", {})
    if meta.get("foreshock_kind") != kind:
        raise StoreError(
            f"OpenSearch index {name} exists but was not created from foreshock's {kind} "
            "template, so it would index and search differently: delete or reindex it"
        )
    version = int(meta.get("foreshock_version", 0))
    if version > TEMPLATE_VERSION:
        raise StoreError(
            f"OpenSearch index {name} has mapping version {meta['foreshock_version']}; this "
            f"foreshock knows up to {TEMPLATE_VERSION}: upgrade foreshock"
        )
    if version < TEMPLATE_VERSION:  # every version so far only adds fields: add them
        try:
            client.indices.put_mapping(
                index=name,
                body={
                    "properties": _PROPERTIES[kind],
                    "_meta": {**meta, "foreshock_version": TEMPLATE_VERSION},
                },
            )
        except RequestError as exc:
            raise StoreError(
                f"cannot upgrade the mapping of OpenSearch index {name} from version "
                f"{version} to {TEMPLATE_VERSION}: {exc}; delete or reindex it"
            ) from exc
