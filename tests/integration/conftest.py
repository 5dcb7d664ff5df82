"""Shared fixtures of the integration tests (real servers; `make services-up`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from opensearchpy import NotFoundError, OpenSearch

from foreshock.pipelines.settings import Settings


@pytest.fixture(scope="session")
def opensearch_client() -> Iterator[OpenSearch]:
    """A client on the test server; fails (or skips, if asked to) when it does not answer."""
    url = Settings.load().opensearch_url
    client = OpenSearch(hosts=[url], timeout=30, max_retries=2, retry_on_timeout=True)
    try:
        client.cluster.health(wait_for_status="yellow")
    except Exception as exc:  # any failure to answer means the same to the developer
        client.close()
        message = f"OpenSearch not reachable at {url}: run `make services-up` ({exc})"
        if os.environ.get("FORESHOCK_SKIP_INTEGRATION") == "1":
            pytest.skip(message)
        pytest.fail(message)
    yield client
    client.close()


def _delete_prefixed(client: OpenSearch, prefix: str) -> None:
    """Delete every index and index template whose name starts with ``prefix``."""
    try:
        names = list(client.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    except NotFoundError:
        names = []
    for name in names:
        client.indices.delete(index=name, ignore_unavailable=True)
    try:
        found = client.indices.get_index_template(name=f"{prefix}-*")
    except NotFoundError:
        return
    for template in found.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])


@pytest.fixture(scope="session")
def delete_prefixed() -> Callable[[OpenSearch, str], None]:
    """The clean-up a test module runs on its own index prefix."""
    return _delete_prefixed


@pytest.fixture(scope="session")
def kafka() -> str:
    """The local Kafka's bootstrap address (fails with how to start it, or skips)."""
    settings = Settings.load()
    try:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 2}).list_topics(
            timeout=10
        )
    except Exception as exc:
        if os.environ.get("FORESHOCK_SKIP_INTEGRATION") == "1":
            pytest.skip(f"Kafka not reachable: {exc}")
        pytest.fail(
            f"Kafka not reachable at {settings.kafka_bootstrap}: {exc}: run `make services-up`"
        )
    return settings.kafka_bootstrap
