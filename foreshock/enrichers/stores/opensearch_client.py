"""Talking to OpenSearch: the client, one-line errors, and idempotent document writes.

:func:`connect` builds a client from a URL, optional basic-auth credentials and, for an
``https://`` URL, the CA that signed the server's certificate (verified unless told not to).
:class:`OpenSearchDocuments` holds a client and foreshock's indices of one prefix (created
from the templates of :mod:`.opensearch_templates`), and does what every kind of record
needs: single writes that read, decide and write with optimistic concurrency
(``if_seq_no``), bulk writes that skip documents stored identically, reads, and turning
client errors into :class:`~.base.StoreError`. The report store
(:class:`.opensearch.OpenSearchReportStore`) builds on it.

Examples
--------
>>> client = connect("http://127.0.0.1:9200")
>>> client_url(client)
'http://127.0.0.1:9200'
>>> client.close()

Nothing listens on port 9, so the error says where and what to do:

>>> client = connect("http://127.0.0.1:9")
>>> try:
...     with opensearch_errors(client_url(client), "read"):
...         client.info()
... except StoreError as exc:
...     message = str(exc)
>>> message.startswith("OpenSearch not reachable at http://127.0.0.1:9 (read)")
True
>>> message.endswith(HINT)
True
>>> client.close()

Credentials in a URL never reach a message:

>>> try:
...     with opensearch_errors("https://admin:pw@127.0.0.1:9", "read"):
...         connect("https://admin:pw@127.0.0.1:9", timeout=1.0).info()
... except StoreError as exc:
...     print(str(exc).split(" (read)")[0])
OpenSearch not reachable at https://admin:****@127.0.0.1:9
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal, cast

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import (
    AuthenticationException,
    AuthorizationException,
    ConflictError,
    NotFoundError,
    TransportError,
)
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import SSLError as OpenSearchSSLError

from foreshock.enrichers.stores.base import StoreError
from foreshock.enrichers.stores.opensearch_templates import (
    KINDS,
    Kind,
    ensure_indices,
    ensure_templates,
    index_name,
)
from foreshock.schemas.closing import Closing
from foreshock.schemas.urls import mask_url, mask_urls_in

__all__ = [
    "HINT",
    "OpenSearchDocuments",
    "Refresh",
    "client_url",
    "connect",
    "opensearch_errors",
]

Refresh = Literal["wait_for", "true", "false"]

HINT: Final = "is OpenSearch running? make services-up"
_CA_HINT: Final = (
    "set opensearch_ca_file (FORESHOCK_OPENSEARCH_CA_FILE) to the CA certificate (PEM) that "
    "signed it"
)
_CREDENTIALS_HINT: Final = (
    "check opensearch_user / opensearch_password (FORESHOCK_OPENSEARCH_USER, "
    "FORESHOCK_OPENSEARCH_PASSWORD)"
)
_CONFLICT_RETRIES: Final = 10


# an empty password means no authentication (bandit B107)
def connect(  # nosec B107
    url: str,
    user: str = "",
    password: str = "",
    *,
    timeout: float = 10.0,
    ca_file: str = "",
    verify_certs: bool = True,
) -> OpenSearch:
    """An OpenSearch client for ``url``, with basic auth if ``user`` is set.

    Parameters
    ----------
    url
        ``http://host:port`` or ``https://host:port`` (credentials in it work too, and are
        masked in every message).
    user, password
        HTTP basic auth; none if ``user`` is empty.
    timeout
        Seconds one request may take.
    ca_file
        For ``https://``: the CA certificate (PEM) the server's certificate is verified
        against; empty: the system's CAs (certifi's bundle).
    verify_certs
        For ``https://``: verify the server's certificate and host name (the default;
        ``False`` is for a throwaway test server only, and the client warns).

    Raises
    ------
    StoreError
        ``ca_file`` does not exist.

    Examples
    --------
    >>> client = connect("http://127.0.0.1:9200", "admin", "secret", timeout=2.0)
    >>> client.transport.hosts[0]["port"]
    9200
    >>> client.close()
    >>> client = connect("https://127.0.0.1:9201", "admin", "secret")
    >>> conn = client.transport.get_connection()
    >>> conn.use_ssl, conn.pool.cert_reqs
    (True, 'CERT_REQUIRED')
    >>> client.close()
    """
    tls: dict[str, Any] = {}
    if url.strip().lower().startswith("https://"):
        tls["verify_certs"] = verify_certs
        if verify_certs and ca_file:
            if not Path(ca_file).is_file():
                raise StoreError(
                    f"opensearch_ca_file {ca_file}: no such file (FORESHOCK_OPENSEARCH_CA_FILE)"
                )
            tls["ca_certs"] = ca_file
    return OpenSearch(
        hosts=[url],
        http_auth=(user, password) if user else None,
        timeout=timeout,
        max_retries=1,
        retry_on_timeout=False,
        **tls,
    )


def client_url(client: OpenSearch) -> str:
    """Where ``client`` connects (its first host), for error messages.

    Examples
    --------
    >>> client_url(OpenSearch("https://search.example:443"))
    'https://search.example:443'
    """
    hosts = cast(list[dict[str, Any]], getattr(client.transport, "hosts", None) or [{}])
    host = hosts[0]
    scheme = "https" if host.get("use_ssl") else "http"
    return f"{scheme}://{host.get('host', 'localhost')}:{host.get('port', 9200)}"


@contextmanager
def opensearch_errors(url: str, action: str) -> Iterator[None]:
    """Turn client errors into one-line :class:`StoreError` s: not reachable (with a hint),
    certificate not trusted, credentials rejected, not allowed; ``url`` is masked.

    Examples
    --------
    >>> from opensearchpy.exceptions import AuthenticationException, TransportError
    >>> try:
    ...     with opensearch_errors("http://os:9200", "search reports"):
    ...         raise TransportError(500, "boom")
    ... except StoreError as exc:
    ...     print(exc)
    OpenSearch at http://os:9200 failed to search reports: TransportError(500, 'boom')
    >>> try:
    ...     with opensearch_errors("https://admin:pw@os:9200", "read"):
    ...         raise AuthenticationException(401, "Unauthorized")
    ... except StoreError as exc:
    ...     print(str(exc).replace(": ", ":\\n"))  # doctest: +ELLIPSIS
    OpenSearch at https://admin:****@os:9200 rejected the credentials (read:
    401 Unauthorized):
    check opensearch_user / opensearch_password (FORESHOCK_OPENSEARCH_USER, ...
    """
    shown = mask_url(url)
    try:
        yield
    except OpenSearchSSLError as exc:
        reason = _tls_reason(exc)
        if "certificate verify failed" in reason:
            raise StoreError(
                f"OpenSearch at {shown} ({action}): its TLS certificate is not trusted "
                f"({reason}): {_CA_HINT}"
            ) from exc
        raise StoreError(f"OpenSearch at {shown} ({action}): TLS failed ({reason})") from exc
    except OpenSearchConnectionError as exc:
        reason = mask_urls_in(str(exc.args[1] if len(exc.args) > 1 else exc))
        hint = HINT
        if shown.lower().startswith("http://") and "Connection aborted" in reason:
            hint += "; if it serves HTTPS, use an https:// URL (opensearch_url)"
        raise StoreError(
            f"OpenSearch not reachable at {shown} ({action}): {reason}; {hint}"
        ) from exc
    except AuthenticationException as exc:
        raise StoreError(
            f"OpenSearch at {shown} rejected the credentials ({action}: 401 Unauthorized): "
            f"{_CREDENTIALS_HINT}"
        ) from exc
    except AuthorizationException as exc:
        raise StoreError(
            f"OpenSearch at {shown}: the user may not {action} (403 Forbidden: "
            f"{_error_reason(exc)})"
        ) from exc
    except TransportError as exc:
        raise StoreError(f"OpenSearch at {shown} failed to {action}: {exc}") from exc


_VERIFY = re.compile(r"certificate verify failed: ([^()'\"\]]*)")


def _tls_reason(exc: OpenSearchSSLError) -> str:
    """The TLS failure in a few words (``certificate verify failed: self-signed ...``).

    Examples
    --------
    >>> _tls_reason(OpenSearchSSLError("N/A", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    ...     "verify failed: self-signed certificate in certificate chain (_ssl.c:1006)", None))
    'certificate verify failed: self-signed certificate in certificate chain'
    """
    text = str(exc.args[1] if len(exc.args) > 1 else exc)
    found = _VERIFY.search(text)
    if found:
        return f"certificate verify failed: {found.group(1).strip()}"
    return mask_urls_in(text.splitlines()[0] if text else type(exc).__name__)


def _error_reason(exc: TransportError) -> str:
    """The server's reason of an error response, else its error text."""
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict) and error.get("reason"):
        return str(error["reason"])
    return str(exc.error)


class OpenSearchDocuments(Closing):
    """foreshock's indices of one prefix, and the document plumbing every record kind uses.

    Opening puts the index templates and creates the indices if missing.

    Parameters
    ----------
    client
        The OpenSearch client; closed by :meth:`close` only when ``owns_client``.
    prefix
        Index name prefix: the indices are ``<prefix>-reports``, ``<prefix>-incidents``, …
    refresh
        When a single write becomes searchable (``"true"``: before it returns); the bulk
        writes refresh once at the end unless ``"false"``.
    chunk_size
        Documents per request of the bulk writes.
    owns_client
        Close the client in :meth:`close` (and when opening fails).

    Raises
    ------
    StoreError
        OpenSearch is not reachable (with a hint to start it), or refuses the templates, or
        an index of the prefix exists with a mapping foreshock did not make.

    Examples
    --------
    >>> docs = OpenSearchDocuments(connect("http://127.0.0.1:9200"), prefix="doc",
    ...                            owns_client=True)  # doctest: +SKIP
    >>> docs.indices["reports"]  # doctest: +SKIP
    'doc-reports'
    >>> docs.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        client: OpenSearch,
        *,
        prefix: str = "foreshock",
        refresh: Refresh = "true",
        chunk_size: int = 500,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self.url = client_url(client)
        self.prefix = prefix
        self.refresh: Refresh = refresh
        self.chunk_size = chunk_size
        self._owns_client = owns_client
        self.indices: dict[Kind, str] = {kind: index_name(prefix, kind) for kind in KINDS}
        try:
            with self._errors("open the report store"):
                ensure_templates(client, prefix)
                ensure_indices(client, prefix)
        except StoreError:
            self.close()
            raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Client errors as :class:`StoreError` naming this server (:func:`opensearch_errors`)."""
        with opensearch_errors(self.url, action):
            yield

    def close(self) -> None:
        """Close the client if it is owned; safe to call twice."""
        if self._owns_client:
            self.client.close()

    # --- writes --------------------------------------------------------------------------

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
                    if old is not None and unstamped(old) == doc:
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
                    outcome = as_dict(next(iter(item.values())))
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

    # --- reads ---------------------------------------------------------------------------

    def _get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        """The stored document (``_source``, ``_seq_no``, …), or ``None``."""
        try:
            found = as_dict(self.client.get(index=self.indices[kind], id=doc_id))
        except NotFoundError as exc:
            if exc.error == "index_not_found_exception":
                raise
            return None
        return found if found.get("found") else None

    def _get_source(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        found = self._get(kind, doc_id)
        return None if found is None else cast(dict[str, Any], found["_source"])

    def _mget(self, kind: Kind, ids: list[str]) -> dict[str, dict[str, Any]]:
        found = as_dict(self.client.mget(index=self.indices[kind], body={"ids": ids}))
        return {d["_id"]: d["_source"] for d in found["docs"] if d.get("found")}

    def _search(
        self, body: dict[str, Any], size: int, kind: Kind = "reports"
    ) -> list[dict[str, Any]]:
        found = as_dict(self.client.search(index=self.indices[kind], body={**body, "size": size}))
        return cast(list[dict[str, Any]], found["hits"]["hits"])


def unstamped(source: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document without the store's own bookkeeping (``written_ns``).

    Examples
    --------
    >>> unstamped({"id": "r1", "written_ns": 5})
    {'id': 'r1'}
    """
    return {k: v for k, v in source.items() if k != "written_ns"}


def as_dict(response: Any) -> dict[str, Any]:
    """A client response, typed as the JSON object it is."""
    return cast(dict[str, Any], response)


def _chunks(
    items: Iterable[tuple[str, dict[str, Any]]], size: int
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
