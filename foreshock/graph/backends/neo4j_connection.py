"""Connecting to Neo4j: the driver, the connectivity check, and one-line errors.

Shared by the graph (:mod:`.neo4j_graph`) and the incident history (:mod:`.neo4j_history`),
which both run queries through a ``neo4j.Driver`` and turn "server unreachable", "bad
credentials" and "certificate not trusted" into a one-line
:class:`~foreshock.schemas.errors.ConfigError` with a hint. URIs are masked in messages.

TLS: ``bolt+s://`` / ``neo4j+s://`` URIs encrypt and verify the server against the system's
CAs; with a ``ca_file`` (the ``neo4j_ca_file`` setting), against that CA instead
(``neo4j.TrustCustomCAs``), and a CA file turns TLS on for ``bolt://`` / ``neo4j://`` URIs
too. The certificate is always verified (``+ssc`` URIs, which trust any certificate, are
taken as they are only without a CA file).

Examples
--------
Building a driver does not connect (``verify=False``); every query does:

>>> driver = open_driver("bolt://127.0.0.1:7687", verify=False)
>>> driver.close()

An unreachable server is one line that says where and what to do:

>>> try:
...     open_driver("bolt://127.0.0.1:1")
... except ConfigError as exc:
...     message = str(exc)
>>> message.startswith("Neo4j not reachable at bolt://127.0.0.1:1"), message.endswith(HINT)
(True, True)
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neo4j import Driver, GraphDatabase, NotificationMinimumSeverity, TrustCustomCAs
from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable, SessionExpired

from foreshock.schemas.errors import ConfigError
from foreshock.schemas.urls import mask_url, mask_urls_in

__all__ = ["HINT", "driver_options", "neo4j_errors", "open_driver", "verify_connectivity"]

HINT = "is Neo4j running? make services-up"
_CA_HINT = "set neo4j_ca_file (FORESHOCK_NEO4J_CA_FILE) to the CA certificate (PEM) that signed it"

#: Seconds to wait for a connection before the driver gives up.
CONNECTION_TIMEOUT = 10.0


@contextmanager
def neo4j_errors(uri: str) -> Iterator[None]:
    """Turn 'server unreachable' and 'bad credentials' into one-line :class:`ConfigError`.

    Examples
    --------
    >>> from neo4j.exceptions import ServiceUnavailable
    >>> try:
    ...     with neo4j_errors("bolt://db:7687"):
    ...         raise ServiceUnavailable("connection refused\\nmore detail")
    ... except ConfigError as exc:
    ...     print(exc)
    Neo4j not reachable at bolt://db:7687 (connection refused): is Neo4j running? make services-up
    >>> import ssl
    >>> try:
    ...     with neo4j_errors("bolt+s://neo4j:pw@db:7687"):
    ...         try:
    ...             raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] "
    ...                 "certificate verify failed: self-signed certificate (_ssl.c:1006)")
    ...         except ssl.SSLError as tls:
    ...             raise ServiceUnavailable("Couldn't connect to db:7687") from tls
    ... except ConfigError as exc:
    ...     print(str(exc).replace(": ", ":\\n"))
    Neo4j at bolt+s://neo4j:****@db:7687:
    its TLS certificate is not trusted (certificate verify failed:
    self-signed certificate):
    set neo4j_ca_file (FORESHOCK_NEO4J_CA_FILE) to the CA certificate (PEM) that signed it
    """
    shown = mask_url(uri)
    try:
        yield
    except (ServiceUnavailable, SessionExpired) as exc:
        tls = _tls_error(exc)
        if tls is not None:
            raise ConfigError(_tls_message(shown, tls)) from exc
        text = str(exc)
        lines = text.splitlines()
        reason = lines[-1] if len(lines) > 1 and lines[0].startswith("Couldn't connect") else ""
        reason = (reason or (lines[0] if lines else "") or type(exc).__name__).strip()
        hint = HINT
        if "handshake" in reason and not _encrypted(uri):
            hint += "; does it require TLS? use a bolt+s:// URI or set neo4j_ca_file"
        raise ConfigError(f"Neo4j not reachable at {shown} ({reason}): {hint}") from exc
    except AuthError as exc:
        raise ConfigError(
            f"Neo4j at {shown} rejected the credentials: check neo4j_user / neo4j_password "
            "(FORESHOCK_NEO4J_USER, FORESHOCK_NEO4J_PASSWORD)"
        ) from exc


def _tls_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a connection failure, if that is what it was."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _tls_message(shown: str, exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        found = re.search(r"certificate verify failed: ([^()]*)", str(exc))
        detail = getattr(exc, "verify_message", None) or (found.group(1) if found else str(exc))
        detail = detail.strip()
        return (
            f"Neo4j at {shown}: its TLS certificate is not trusted "
            f"(certificate verify failed: {detail}): {_CA_HINT}"
        )
    reason = (exc.reason or str(exc)).replace("_", " ").lower()
    hint = "; does the server have TLS on Bolt? else use a bolt:// URI without neo4j_ca_file"
    return f"Neo4j at {shown}: TLS failed ({reason}){hint if 'eof' in reason else ''}"


def _encrypted(uri: str) -> bool:
    scheme = uri.partition("://")[0].lower()
    return scheme.endswith(("+s", "+ssc"))


def driver_options(uri: str, ca_file: str = "") -> tuple[str, dict[str, Any]]:
    """The URI and TLS options to give ``GraphDatabase.driver`` (see the module doc).

    Examples
    --------
    >>> driver_options("bolt+s://db:7687")
    ('bolt+s://db:7687', {})
    >>> uri, opts = driver_options("neo4j+s://db:7687", __file__)   # any existing file
    >>> uri, opts["encrypted"], type(opts["trusted_certificates"]).__name__
    ('neo4j://db:7687', True, 'TrustCustomCAs')
    >>> driver_options("bolt://db:7687", __file__)[1]["encrypted"]
    True
    >>> driver_options("bolt://db:7687", "/nope/ca.pem")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    foreshock.schemas.errors.ConfigError: neo4j_ca_file /nope/ca.pem: no such file ...
    """
    if not ca_file:
        return uri, {}
    if not Path(ca_file).is_file():
        raise ConfigError(f"neo4j_ca_file {ca_file}: no such file (FORESHOCK_NEO4J_CA_FILE)")
    scheme, sep, rest = uri.partition("://")
    base = scheme.lower().removesuffix("+ssc").removesuffix("+s")
    # the driver refuses TLS options with a +s URI: the plain scheme, encrypted, this CA
    return (f"{base}{sep}{rest}" if sep else uri), {
        "encrypted": True,
        "trusted_certificates": TrustCustomCAs(ca_file),
    }


def verify_connectivity(driver: Driver, uri: str) -> None:
    """Raise :class:`ConfigError` at once if the server at ``uri`` does not answer.

    Examples
    --------
    >>> driver = open_driver("bolt://127.0.0.1:7687", verify=False)
    >>> verify_connectivity(driver, "bolt://127.0.0.1:7687")  # doctest: +SKIP
    >>> driver.close()
    """
    with neo4j_errors(uri):
        driver.verify_connectivity()


# an empty password means no authentication (bandit B107)
def open_driver(  # nosec B107
    uri: str,
    user: str = "neo4j",
    password: str = "",
    *,
    verify: bool = True,
    ca_file: str = "",
) -> Driver:
    """A driver for the server at ``uri``; the caller closes it.

    An empty ``password`` means the server runs without authentication (``user`` is then
    ignored). ``ca_file``: the CA certificate (PEM) that signed the server's certificate
    (TLS on, see :func:`driver_options`). With ``verify``, an unreachable server, rejected
    credentials or an untrusted certificate raise :class:`ConfigError` at once (not after
    retries), and the driver is closed.

    Examples
    --------
    >>> driver = open_driver("bolt://127.0.0.1:7687", "neo4j", "secret", verify=False)
    >>> driver.close()
    """
    target, tls = driver_options(uri, ca_file)
    try:
        driver = GraphDatabase.driver(
            target,
            auth=(user, password) if password else None,
            connection_timeout=CONNECTION_TIMEOUT,
            # "label does not exist yet" on an empty database is not worth a warning
            notifications_min_severity=NotificationMinimumSeverity.OFF,
            **tls,
        )
    except (ConfigurationError, ValueError) as exc:  # a URI the driver cannot use
        reason = mask_urls_in(str(exc)).splitlines()[0]  # it quotes the URI, credentials too
        raise ConfigError(f"neo4j_uri {mask_url(uri)}: {reason} (FORESHOCK_NEO4J_URI)") from None
    if verify:
        try:
            verify_connectivity(driver, uri)
        except BaseException:
            driver.close()
            raise
    return driver
