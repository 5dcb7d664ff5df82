"""The LLM audit log, with the OpenSearch store configured, is also an OpenSearch index
that analysts query (a real server; `make services-up`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from opensearchpy import OpenSearch

from foreshock.enrichers.llm.enricher import audit_log
from foreshock.pipelines.settings import Settings


def test_every_audit_entry_lands_in_the_file_and_the_index(
    opensearch_client: OpenSearch,
    delete_prefixed: Callable[[OpenSearch, str], None],
    tmp_path: Path,
) -> None:
    prefix = f"fs-audit-{uuid.uuid4().hex[:8]}"
    settings = Settings.load(
        env={"FORESHOCK_STORE_BACKEND": "opensearch", "FORESHOCK_OPENSEARCH_INDEX_PREFIX": prefix},
        config=None,
    )
    try:
        log = audit_log(settings, tmp_path)
        log.write(model="local-model", outcome="accepted", prompt_sha256="ab" * 32, cache_hit=False)
        log.write(model="local-model", outcome="rejected", reason="cites evidence E9")
        opensearch_client.indices.refresh(index=f"{prefix}-llm-audit")
        hits = opensearch_client.search(
            index=f"{prefix}-llm-audit", body={"query": {"match": {"outcome": "rejected"}}}
        )["hits"]["hits"]
        assert [h["_source"]["reason"] for h in hits] == ["cites evidence E9"]
        assert len((tmp_path / "llm-audit.jsonl").read_text().splitlines()) == 2
    finally:
        delete_prefixed(opensearch_client, prefix)


def test_an_unreachable_index_keeps_the_file(tmp_path: Path) -> None:
    settings = Settings.load(
        env={
            "FORESHOCK_STORE_BACKEND": "opensearch",
            "FORESHOCK_OPENSEARCH_URL": "http://127.0.0.1:9",
        },
        config=None,
    )
    log = audit_log(settings, tmp_path)
    log.write(model="m", outcome="error", reason="cannot connect")
    log.write(model="m", outcome="error", reason="cannot connect")
    assert len((tmp_path / "llm-audit.jsonl").read_text().splitlines()) == 2
