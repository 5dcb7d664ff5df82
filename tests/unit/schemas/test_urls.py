"""mask_url: a URL's password and secret query values never reach a message."""

from __future__ import annotations

import pytest

from foreshock.schemas.urls import mask_url, mask_urls_in


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@h:1/x", "http://u:****@h:1/x"),
        ("http://user:secret@host", "http://user:****@host"),
        ("https://admin:admin@127.0.0.1:9200", "https://admin:****@127.0.0.1:9200"),
        ("bolt+s://neo4j:pw@graph:7687", "bolt+s://neo4j:****@graph:7687"),
        ("kafka:pw@broker:9093", "kafka:****@broker:9093"),  # no scheme
        ("http://u:p%40ss@h/", "http://u:****@h/"),  # percent-encoded
        ("http://u:p@ss@h/x", "http://u:****@h/x"),  # a raw @ in the password
        ("http://u:pa/ss@h/x", "http://u:****@h/x"),  # a raw / in the password
        ("http://u:p?x@h/", "http://u:****@h/"),  # a raw ? in the password
        ("http://u:p@[::1]:9090/", "http://u:****@[::1]:9090/"),
        ("http://h/q?token=abc&query=up", "http://h/q?token=****&query=up"),
        ("http://u:p@h/q?Password=x#frag", "http://u:****@h/q?Password=****#frag"),
        # nothing secret: returned as given
        ("http://127.0.0.1:9090", "http://127.0.0.1:9090"),
        ("http://alice@h/", "http://alice@h/"),
        ("http://h:9090/a@b", "http://h:9090/a@b"),
        ("http://h/x?email=a@b", "http://h/x?email=a@b"),
        ("h1:9092,h2:9092", "h1:9092,h2:9092"),
        ("", ""),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_urls_in_text() -> None:
    text = "HTTPConnectionPool for http://u:p@ss@h:1/x failed\nthen neo4j://n:pw@g:7687 too"
    assert mask_urls_in(text) == (
        "HTTPConnectionPool for http://u:****@h:1/x failed\nthen neo4j://n:****@g:7687 too"
    )
    assert mask_urls_in("no url here: a:b@c") == "no url here: a:b@c"
