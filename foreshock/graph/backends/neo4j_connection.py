"""Connecting to Neo4j: the driver, the connectivity check, and one-line errors.

Shared by the graph (:mod:`.neo4j_graph`) and the incident history (:mod:`.neo4j_history`),
which both run queries through a ``neo4j.Driver`` and turn "server unreachable" and "bad
credentials" into a :class:`~foreshock.schemas.errors.ConfigError` with a hint.

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

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j import Driver, GraphDatabase, NotificationMinimumSeverity
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

from foreshock.schemas.errors import ConfigError

__all__ = ["HINT", "neo4j_errors", "open_driver", "verify_connectivity"]

HINT = "is Neo4j running? make services-up"

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
    """
    try:
        yield
    except (ServiceUnavailable, SessionExpired) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"Neo4j not reachable at {uri} ({reason}): {HINT}") from exc
    except AuthError as exc:
        raise ConfigError(
            f"Neo4j at {uri} rejected the credentials: check neo4j_user / neo4j_password "
            "(FORESHOCK_NEO4J_USER, FORESHOCK_NEO4J_PASSWORD)"
        ) from exc


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
    uri: str, user: str = "neo4j", password: str = "", *, verify: bool = True
) -> Driver:
    """A driver for the server at ``uri``; the caller closes it.

    An empty ``password`` means the server runs without authentication (``user`` is then
    ignored). With ``verify``, an unreachable server raises :class:`ConfigError` at once
    (not after retries), and the driver is closed.

    Examples
    --------
    >>> driver = open_driver("bolt://127.0.0.1:7687", "neo4j", "secret", verify=False)
    >>> driver.close()
    """
    driver = GraphDatabase.driver(
        uri,
        auth=(user, password) if password else None,
        connection_timeout=CONNECTION_TIMEOUT,
        # "label does not exist yet" on an empty database is not worth a warning
        notifications_min_severity=NotificationMinimumSeverity.OFF,
    )
    if verify:
        try:
            verify_connectivity(driver, uri)
        except BaseException:
            driver.close()
            raise
    return driver
