"""How every Kafka client of foreshock connects: the bootstrap servers plus TLS and SASL.

One :class:`KafkaConnection` is made from the settings (:meth:`KafkaConnection.from_settings`:
``kafka_bootstrap``, ``kafka_security_protocol``, ``kafka_sasl_mechanism``,
``kafka_sasl_username``, ``kafka_sasl_password``, ``kafka_ssl_cafile``) and gives each
client library its form of the same thing:

- :meth:`~KafkaConnection.config`: confluent-kafka (librdkafka) settings, for producers,
  consumers and the admin client;
- :meth:`~KafkaConnection.faust_credentials`: ``broker_credentials`` of a Faust app
  (aiokafka underneath): :class:`faust.SASLCredentials` or :class:`faust.SSLCredentials`
  with an :class:`ssl.SSLContext` from :meth:`~KafkaConnection.ssl_context`.

Whenever TLS is used (``SSL``, ``SASL_SSL``) the brokers' certificates are verified, and
so is their host name: against ``kafka_ssl_cafile`` if set, else the system's CAs. There
is no setting to turn that off.

:func:`check_kafka` asks the brokers for metadata and turns the usual failures into one
:class:`~foreshock.schemas.errors.ConfigError` line: not reachable, credentials rejected,
certificate not trusted, a TLS client on a plain listener. Addresses in messages are
masked (:func:`~foreshock.schemas.urls.mask_url`).

Examples
--------
>>> plain = KafkaConnection("127.0.0.1:9092")
>>> plain.config()
{'bootstrap.servers': '127.0.0.1:9092'}
>>> plain.faust_credentials() is None
True
>>> secure = KafkaConnection("broker:9094", "SASL_SSL", "SCRAM-SHA-512", "alice", "s3cret")
>>> c = secure.config({"group.id": "g"})
>>> c["security.protocol"], c["sasl.mechanism"], c["sasl.username"], c["group.id"]
('SASL_SSL', 'SCRAM-SHA-512', 'alice', 'g')
>>> c["enable.ssl.certificate.verification"], c["ssl.endpoint.identification.algorithm"]
(True, 'https')
>>> "s3cret" in repr(secure)                  # the password is never shown
False
>>> secure.where
'broker:9094 (SASL_SSL)'
>>> KafkaConnection("broker:9094", "SASL_SSL")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.ConfigError: kafka_security_protocol=SASL_SSL needs kafka_sasl_username ...
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from foreshock.schemas.errors import ConfigError
from foreshock.schemas.urls import mask_url

if TYPE_CHECKING:
    from foreshock.pipelines.settings import Settings

__all__ = [
    "HINT",
    "KafkaConnection",
    "SaslMechanism",
    "SecurityProtocol",
    "check_kafka",
    "kafka_connection",
]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

HINT: Final = "is it running? make services-up"
_CA_HINT: Final = (
    "set kafka_ssl_cafile (FORESHOCK_KAFKA_SSL_CAFILE) to the CA certificate (PEM) that "
    "signed the brokers' certificates"
)
_CREDENTIALS_HINT: Final = (
    "check kafka_sasl_username / kafka_sasl_password / kafka_sasl_mechanism "
    "(FORESHOCK_KAFKA_SASL_USERNAME, FORESHOCK_KAFKA_SASL_PASSWORD, FORESHOCK_KAFKA_SASL_MECHANISM)"
)


@dataclass(frozen=True)
class KafkaConnection:
    """The brokers and how to reach them (TLS, SASL); see the module doc.

    Parameters
    ----------
    bootstrap
        ``host:port[,host:port...]``.
    security_protocol
        ``PLAINTEXT``, ``SSL`` (TLS), ``SASL_PLAINTEXT`` (SASL, no TLS) or ``SASL_SSL``.
    sasl_mechanism
        ``PLAIN``, ``SCRAM-SHA-256`` or ``SCRAM-SHA-512`` (with a ``SASL_*`` protocol).
    sasl_username, sasl_password
        The SASL account (with a ``SASL_*`` protocol; the username is required there).
    ssl_cafile
        CA certificate (PEM) the brokers' certificates are verified against (with TLS);
        empty: the system's CAs.

    Raises
    ------
    ConfigError
        An unknown protocol or mechanism, SASL without a username, or a CA file that
        does not exist.
    """

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "PLAIN"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""

    def __post_init__(self) -> None:
        if self.security_protocol not in get_args(SecurityProtocol):
            raise ConfigError(
                f"kafka_security_protocol {self.security_protocol!r} is not one of "
                + ", ".join(get_args(SecurityProtocol))
            )
        if self.sasl_mechanism not in get_args(SaslMechanism):
            raise ConfigError(
                f"kafka_sasl_mechanism {self.sasl_mechanism!r} is not one of "
                + ", ".join(get_args(SaslMechanism))
            )
        if self.sasl and not self.sasl_username:
            raise ConfigError(
                f"kafka_security_protocol={self.security_protocol} needs kafka_sasl_username "
                "(FORESHOCK_KAFKA_SASL_USERNAME)"
            )
        if self.tls and self.ssl_cafile and not Path(self.ssl_cafile).is_file():
            raise ConfigError(
                f"kafka_ssl_cafile {self.ssl_cafile}: no such file (FORESHOCK_KAFKA_SSL_CAFILE)"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        """The connection the ``kafka_*`` settings describe.

        Examples
        --------
        >>> from foreshock.pipelines.settings import Settings
        >>> s = Settings.load(env={"FORESHOCK_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        ...                        "FORESHOCK_KAFKA_SASL_USERNAME": "bob"}, config=None)
        >>> KafkaConnection.from_settings(s).config()["security.protocol"]
        'SASL_PLAINTEXT'
        """
        return cls(
            settings.kafka_bootstrap,
            settings.kafka_security_protocol,
            settings.kafka_sasl_mechanism,
            settings.kafka_sasl_username,
            settings.kafka_sasl_password,
            settings.kafka_ssl_cafile,
        )

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (and the brokers' certificates verified)."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        """Whether clients authenticate with SASL."""
        return self.security_protocol.startswith("SASL_")

    @property
    def where(self) -> str:
        """The brokers for messages: masked, with the protocol unless plain."""
        shown = mask_url(self.bootstrap)
        return (
            shown
            if self.security_protocol == "PLAINTEXT"
            else f"{shown} ({self.security_protocol})"
        )

    def config(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """confluent-kafka settings: the bootstrap servers, TLS and SASL, then ``extra``.

        Examples
        --------
        >>> KafkaConnection("b:9093", "SSL", ssl_cafile="").config({"log_level": 2})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'bootstrap.servers': 'b:9093', 'security.protocol': 'SSL',
         'enable.ssl.certificate.verification': True,
         'ssl.endpoint.identification.algorithm': 'https', 'log_level': 2}
        """
        out: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        if self.security_protocol != "PLAINTEXT":
            out["security.protocol"] = self.security_protocol
        if self.tls:
            out["enable.ssl.certificate.verification"] = True
            out["ssl.endpoint.identification.algorithm"] = "https"
            if self.ssl_cafile:
                out["ssl.ca.location"] = self.ssl_cafile
        if self.sasl:
            out["sasl.mechanism"] = self.sasl_mechanism
            out["sasl.username"] = self.sasl_username
            out["sasl.password"] = self.sasl_password
        out.update(extra or {})
        return out

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that verifies the brokers (certificate and host name)
        against ``ssl_cafile``, else the system's CAs.

        Examples
        --------
        >>> ctx = KafkaConnection("b:9093", "SSL").ssl_context()
        >>> ctx.verify_mode == ssl.CERT_REQUIRED, ctx.check_hostname
        (True, True)
        """
        try:
            return ssl.create_default_context(cafile=self.ssl_cafile or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"kafka_ssl_cafile {self.ssl_cafile}: not a CA certificate in PEM ({exc})"
            ) from None

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for ``faust.App``: SASL (with TLS for ``SASL_SSL``), TLS
        alone for ``SSL``, ``None`` for ``PLAINTEXT``.

        Examples
        --------
        >>> creds = KafkaConnection("b:9094", "SASL_SSL", "SCRAM-SHA-256", "alice", "pw")
        >>> c = creds.faust_credentials()
        >>> c.protocol.value, c.mechanism.value, c.username
        ('SASL_SSL', 'SCRAM-SHA-256', 'alice')
        >>> KafkaConnection("b:9093", "SSL").faust_credentials().protocol.value
        'SSL'
        """
        if self.security_protocol == "PLAINTEXT":
            return None
        import faust

        context = self.ssl_context() if self.tls else None
        if self.sasl:
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password,
                ssl_context=context,
                mechanism=self.sasl_mechanism,
            )
        return faust.SSLCredentials(context)


def kafka_connection(bootstrap: str | KafkaConnection) -> KafkaConnection:
    """``bootstrap`` as a connection: a plain ``host:port`` string means ``PLAINTEXT``.

    Examples
    --------
    >>> kafka_connection("127.0.0.1:9092").security_protocol
    'PLAINTEXT'
    >>> c = KafkaConnection("b:9093", "SSL")
    >>> kafka_connection(c) is c
    True
    """
    return bootstrap if isinstance(bootstrap, KafkaConnection) else KafkaConnection(bootstrap)


_PREFIX = re.compile(r"^\S+://\S+/(?:bootstrap|\d+): ")
_AFTER = re.compile(r" \(after \d+ms in state \w+\)$")


def _reason(text: str) -> str:
    """A librdkafka error without the broker prefix and the timing suffix."""
    return _AFTER.sub("", _PREFIX.sub("", text.strip())).strip()


def explain(conn: KafkaConnection, errors: list[tuple[str, str]]) -> str | None:
    """One line for the first telling error of librdkafka's ``(name, text)`` list, or None.

    Examples
    --------
    >>> c = KafkaConnection("b:9094", "SASL_SSL", "PLAIN", "alice", "pw")
    >>> print(explain(c, [("_AUTHENTICATION", "sasl_ssl://b:9094/bootstrap: SASL "
    ...     "authentication error: Authentication failed: Invalid username or password "
    ...     "(after 301ms in state AUTH_REQ)")]).replace(": ", ":\\n"))  # doctest: +ELLIPSIS
    Kafka at b:9094 (SASL_SSL) rejected the credentials of 'alice' (SASL PLAIN:
    Authentication failed:
    Invalid username or password):
    check kafka_sasl_username / kafka_sasl_password / kafka_sasl_mechanism ...
    >>> print(explain(c, [("_SSL", "SSL handshake failed: error:0A000086:SSL routines::"
    ...     "certificate verify failed: broker certificate could not be verified, ...")]
    ... ).replace(": ", ":\\n"))  # doctest: +ELLIPSIS
    Kafka at b:9094 (SASL_SSL):
    the brokers' TLS certificate is not trusted (certificate verify failed):
    set kafka_ssl_cafile (FORESHOCK_KAFKA_SSL_CAFILE) to the CA certificate (PEM) that ...
    >>> explain(c, [("_ALL_BROKERS_DOWN", "1/1 brokers are down")]) is None
    True
    """
    for name, text in errors:
        reason = _reason(text)
        if name == "_AUTHENTICATION":
            detail = reason.removeprefix("SASL authentication error: ")
            return (
                f"Kafka at {conn.where} rejected the credentials of {conn.sasl_username!r} "
                f"(SASL {conn.sasl_mechanism}: {detail}): {_CREDENTIALS_HINT}"
            )
        if "certificate verify failed" in reason:
            return (
                f"Kafka at {conn.where}: the brokers' TLS certificate is not trusted "
                f"(certificate verify failed): {_CA_HINT}"
            )
        if "PLAINTEXT broker listener" in reason:
            return (
                f"Kafka at {conn.where}: that listener does not speak TLS ({reason}): check "
                "kafka_bootstrap and kafka_security_protocol (FORESHOCK_KAFKA_SECURITY_PROTOCOL)"
            )
        if name == "_SSL":
            return f"Kafka at {conn.where}: TLS handshake failed ({reason})"
    return None


def check_kafka(admin: Any, conn: KafkaConnection, errors: list[Any], timeout: float) -> Any:
    """The cluster metadata (``admin.list_topics()``), or one clear :class:`ConfigError`.

    ``admin`` must have been built with an ``error_cb`` that appends librdkafka's errors
    (``KafkaError``) to ``errors``: :func:`admin_client` does that. Asks once a second
    until ``timeout``; a rejected login or an untrusted certificate fails at once.
    """
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            return admin.list_topics(timeout=min(1.0, max(timeout, 0.1)))
        except KafkaException as exc:
            last = exc.args[0].str() if exc.args else str(exc)
        admin.poll(0)  # serves error_cb
        seen = [(e.name(), e.str()) for e in errors]
        message = explain(conn, seen)
        if message is not None:
            raise ConfigError(message)
        if time.monotonic() >= deadline:
            details = [_reason(text) for name, text in seen if name != "_ALL_BROKERS_DOWN"]
            reason = details[-1] if details else last
            tls = (
                ""
                if conn.tls
                else "; or does the listener need TLS/SASL (kafka_security_protocol)?"
            )
            raise ConfigError(f"Kafka not reachable at {conn.where} ({reason}): {HINT}{tls}")


def admin_client(conn: KafkaConnection, errors: list[Any], **extra: Any) -> Any:
    """A confluent-kafka ``AdminClient`` for ``conn`` whose errors go to ``errors``
    (for :func:`check_kafka`) instead of the terminal."""
    from confluent_kafka.admin import AdminClient

    config = conn.config({"log_level": 0, "socket.timeout.ms": 10000, **extra})
    config["error_cb"] = errors.append
    return AdminClient(config)
