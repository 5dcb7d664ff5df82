"""Credentials masked in URLs, before a URL is printed, logged or put in an error.

:func:`mask_url` hides the password of a URL's user information and the values of
query parameters that carry secrets; the rest (scheme, user, host, port, path) stays, so
the message still says which server was meant. :func:`mask_urls_in` does the same for
every URL inside a longer text (an exception message, a log line). Any scheme works
(``http``, ``https``, ``bolt``, ``neo4j+s``, ``kafka``, ...), and so does an address
without a scheme (``user:pw@broker:9092``).

- ``user:password@`` becomes ``user:****@``; a user name alone is shown (it says who
  connects, not how they prove it).
- ``?token=…`` (and ``password``, ``secret``, ``api_key``, ``access_token``, ``sig``, …,
  see :data:`SECRET_PARAMS`) becomes ``?token=****``.
- A password should percent-encode ``/``, ``?``, ``#`` and ``@``, as URLs require; a raw
  ``@`` or ``/`` in it is still masked (the user information ends at the last ``@``
  before the path), unless what precedes the ``/`` reads as ``host:port``.

Nothing is decoded or re-encoded: apart from the masks, the text is returned as given.

Examples
--------
>>> mask_url("http://u:p@h:1/x")
'http://u:****@h:1/x'
>>> mask_url("https://admin:s3cr%40t@search.example:9200/_cluster/health")
'https://admin:****@search.example:9200/_cluster/health'
>>> mask_url("neo4j+s://neo4j:pw@graph:7687"), mask_url("alice:pw@broker:9092")
('neo4j+s://neo4j:****@graph:7687', 'alice:****@broker:9092')
>>> mask_url("http://prometheus:9090/api/v1/query?query=up&access_token=abc")
'http://prometheus:9090/api/v1/query?query=up&access_token=****'
>>> mask_url("http://127.0.0.1:9090"), mask_url("http://alice@h/"), mask_url("h1:9092,h2:9092")
('http://127.0.0.1:9090', 'http://alice@h/', 'h1:9092,h2:9092')
>>> mask_urls_in("GET http://u:pw@h:1/x failed; retrying https://v:pw2@k/")
'GET http://u:****@h:1/x failed; retrying https://v:****@k/'
"""

from __future__ import annotations

import re

__all__ = ["MASK", "SECRET_PARAMS", "mask_url", "mask_urls_in"]

MASK = "****"
"""What replaces a secret."""

SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "key",
        "pass",
        "passwd",
        "password",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
"""Query parameters whose value is masked (compared in lower case)."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_PORT = re.compile(r"[^:]*:\d*")
# in free text: scheme://user:password@ — the password runs to the last @ before a space
_IN_TEXT = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*):([^\s/]*)@")


def mask_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``****``; see the
    module doc."""
    m = _SCHEME.match(url)
    head = m.group(0) if m else ""
    rest = url[len(head) :]
    slash = rest.find("/")
    at = rest.rfind("@", 0, slash if slash >= 0 else len(rest))
    if at < 0 and slash >= 0 and not _HOST_PORT.fullmatch(rest[:slash]):
        at = rest.rfind("@", slash, _end_of_path(rest))  # a raw "/" in the password
    host = 0
    if at > 0:
        user, colon, password = rest[:at].partition(":")
        if colon and password:
            rest = f"{user}:{MASK}{rest[at:]}"
            host = len(user) + len(MASK) + 1
    q = rest.find("?", host)
    if q >= 0:
        f = rest.find("#", q)
        stop = f if f >= 0 else len(rest)
        rest = rest[: q + 1] + _mask_query(rest[q + 1 : stop]) + rest[stop:]
    return head + rest


def _end_of_path(rest: str) -> int:
    ends = [i for i in (rest.find("?"), rest.find("#")) if i >= 0]
    return min(ends) if ends else len(rest)


def _mask_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        secret = eq and value and name.lower() in SECRET_PARAMS
        parts.append(f"{name}={MASK}" if secret else part)
    return "&".join(parts)


def mask_urls_in(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it masked.

    Only URLs with a scheme are recognised: in free text, ``a:b@c`` without one cannot be
    told from other words (:func:`mask_url` masks it when it is known to be an address).
    """
    return _IN_TEXT.sub(rf"\1:{MASK}@", text)
