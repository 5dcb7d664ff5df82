"""Prometheus' query API over HTTP(S), with a deadline, a size cap and verified TLS.

:class:`PrometheusHTTP` is the client :class:`~foreshock.pipelines.sources.prometheus.\
PrometheusSource` uses (``custom_query``: one instant query, its ``data.result``). Every
request is bounded, whatever the server does:

- **Time.** Connecting, and each read, time out after ``timeout`` seconds; the whole
  request (connect, TLS handshake, headers, body) has a deadline of ``timeout`` seconds
  too, enforced by a watchdog that shuts the socket, so a server that drips one byte a
  second is cut off like one that says nothing. A ``cancel`` event set meanwhile cuts the
  request in flight the same way (the live runtime's ``--duration``).
- **Size.** The body is read streamed and the read stops past ``max_bytes`` (after gzip
  decoding, so a small compressed body cannot unpack into gigabytes).
- **TLS.** ``https://`` verifies the server's certificate against the system's CAs, or
  against ``ca_file`` only when one is given (a private CA); ``verify=False`` skips the
  check (a test lab, never production).
- **Credentials** in the URL (``http://user:password@host``) are sent as HTTP Basic
  authentication and masked in every message (:func:`~foreshock.schemas.urls.mask_url`).
- **Proxies.** ``http_proxy`` / ``https_proxy`` / ``no_proxy`` from the environment, or
  ``proxy`` (an ``http://`` proxy; ``https://`` targets go through a ``CONNECT`` tunnel).

Every failure is a :class:`PrometheusError` whose message is one line naming what was
wrong: ``cannot query Prometheus at http://u:****@h:9090: HTTP 503 from
http://u:****@h:9090/api/v1/query: …``; ``…: the response is not JSON (it starts with
'<html>')``; ``…: not a Prometheus API response (no status/data)``; ``…: response over
64 MiB (prometheus_max_bytes) to query up[30s]``; ``…: timed out after 10 s
(prometheus_timeout)``; ``…: TLS certificate not trusted (…): set prometheus_ca_file to
the CA certificate (PEM) that signed it``.

Examples
--------
>>> client = PrometheusHTTP("https://alice:s3cret@prom.example:9090/prefix/", timeout=5)
>>> client.shown_url
'https://alice:****@prom.example:9090/prefix'
>>> client.shown_origin + client.endpoint  # what an HTTP error names
'https://alice:****@prom.example:9090/prefix/api/v1/query'
>>> PrometheusHTTP("prom:9090")
Traceback (most recent call last):
...
foreshock.schemas.errors.ConfigError: Prometheus URL 'prom:9090': give http://host:port or https://…
>>> print(size_text(64 << 20), size_text(65536), size_text(1000))
64 MiB 64 KiB 1000 bytes
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import orjson

from foreshock.schemas.errors import ConfigError, ForeshockError
from foreshock.schemas.urls import mask_url, mask_urls_in

__all__ = ["PrometheusCancelled", "PrometheusError", "PrometheusHTTP", "size_text"]

log = logging.getLogger("foreshock.prometheus")

_READ = 1 << 16  # bytes asked of the socket per read
_ERROR_BODY = 1 << 16  # bytes of a non-2xx body read to explain the error
_WATCH = 0.05  # seconds between the watchdog's looks at the cancel event


class PrometheusError(ForeshockError, OSError):
    """A Prometheus request failed; ``str()`` is one line, credentials masked.

    ``url`` is the (masked) server, ``reason`` what went wrong.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = " ".join(reason.split())
        super().__init__(f"cannot query Prometheus at {url}: {self.reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class PrometheusCancelled(PrometheusError):
    """The request was cut because its caller stopped (the run's deadline, a Ctrl-C)."""


def size_text(n: int) -> str:
    """``n`` bytes, in the largest binary unit that divides it (``64 MiB``)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def _short(query: str, limit: int = 80) -> str:
    return query if len(query) <= limit else query[: limit - 1] + "…"


def _preview(body: bytes | bytearray, limit: int = 60) -> str:
    text = body[:limit].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split()) + ("…" if len(body) > limit else "")


class _Watchdog:
    """Shuts the connection's socket at the deadline or when ``cancel`` is set."""

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        deadline: float,
        cancel: threading.Event | None,
    ) -> None:
        self.conn = conn
        self.deadline = deadline
        self.cancel = cancel
        self.done = threading.Event()
        self.expired = False
        self.cancelled = False
        self.thread = threading.Thread(target=self._run, name="prometheus-deadline", daemon=True)

    def __enter__(self) -> _Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()

    def _run(self) -> None:
        while True:
            left = self.deadline - time.monotonic()
            wait = left if self.cancel is None else min(left, _WATCH)
            if self.done.wait(max(0.0, wait)):
                return
            if time.monotonic() >= self.deadline:
                self.expired = True
            elif self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
            else:
                continue
            break
        # keep cutting until the request gives up: during a TLS handshake the socket is
        # replaced by its TLS wrapper, and the first shutdown may hit the one let go
        while not self.done.is_set():
            sock = self.conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.done.wait(_WATCH)


class _TLSConnection(http.client.HTTPConnection):
    """HTTPS whose handshake the watchdog can cut: the TLS socket is in place before the
    handshake starts (``HTTPSConnection`` shakes hands inside ``wrap_socket``)."""

    default_port = 443

    def __init__(
        self, host: str, port: int, timeout: float, context: ssl.SSLContext, server: str
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.tls = context
        self.server = server

    def connect(self) -> None:
        super().connect()  # TCP, and the proxy's CONNECT when tunnelled
        sock = self.tls.wrap_socket(
            self.sock, server_hostname=self.server, do_handshake_on_connect=False
        )
        self.sock = sock
        sock.do_handshake()


class PrometheusHTTP:
    """Instant queries against one Prometheus server; see the module doc.

    Parameters
    ----------
    url
        Base URL: ``http(s)://[user:password@]host[:port][/prefix]``.
    timeout
        Seconds any one request may take, all included (``prometheus_timeout``).
    max_bytes
        Largest response body read (``prometheus_max_bytes``).
    verify
        Verify the server's TLS certificate (``prometheus_verify_certs``).
    ca_file
        CA certificate (PEM) to verify against instead of the system's
        (``prometheus_ca_file``).
    cancel
        When set, the request in flight is cut and raises :class:`PrometheusCancelled`.
    proxy
        ``http://[user:password@]host:port`` of a proxy; ``None`` reads the environment,
        ``""`` connects directly.
    """

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        max_bytes: int = 64 << 20,
        verify: bool = True,
        ca_file: str | None = None,
        cancel: threading.Event | None = None,
        proxy: str | None = None,
    ) -> None:
        self.shown_url = mask_url(url.rstrip("/"))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"Prometheus URL {self.shown_url!r}: give http://host:port or https://…"
            )
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError(f"not a port in the Prometheus URL {self.shown_url!r}") from None
        if timeout <= 0 or max_bytes <= 0:
            raise ConfigError("prometheus_timeout and prometheus_max_bytes must be positive")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, port
        self.shown_origin = mask_url(f"{parts.scheme}://{parts.netloc}")
        self.endpoint = parts.path.rstrip("/") + "/api/v1/query"
        self.base_params = parts.query
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cancel = cancel
        self.headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if parts.username is not None or parts.password is not None:
            self.headers["Authorization"] = _basic(parts.username, parts.password)
        self.context = _tls_context(verify, ca_file) if self.scheme == "https" else None
        if self.context is not None and not verify:
            log.warning(
                "%s: TLS certificate not verified (prometheus_verify_certs)", self.shown_url
            )
        self.proxy = self._proxy(proxy)

    # -- the API ---------------------------------------------------------------------------
    def custom_query(self, query: str, params: Mapping[str, Any] | None = None) -> Any:
        """``data.result`` of ``GET /api/v1/query?query=…`` (plus ``params``, e.g. ``time``)."""
        body = self.get({"query": query, **(params or {})}, query)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise self._error(
                f"the response is not JSON (it starts with {_preview(body)!r})"
            ) from None
        if not isinstance(doc, dict) or "status" not in doc:
            raise self._error("not a Prometheus API response (no status/data)")
        if doc["status"] != "success":
            raise self._error(f"Prometheus answered {_api_error(doc)}")
        data = doc.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise self._error("not a Prometheus API response (no status/data)")
        if not all(isinstance(r, dict) and isinstance(r.get("metric", {}), dict) for r in result):
            raise self._error("not a Prometheus API response (a result is not a series)")
        return result

    def get(self, params: Mapping[str, Any], query: str = "") -> bytes | bytearray:
        """The body of one ``GET`` of the query endpoint, bounded in time and size."""
        qs = "&".join(p for p in (self.base_params, urlencode(params)) if p)
        target = f"{self.endpoint}?{qs}" if qs else self.endpoint
        conn = self._connection()
        headers = self.headers
        if self.proxy is not None and self.scheme == "http":  # absolute-form through a proxy
            target = f"http://{_netloc(self.host, self.port)}{target}"
            headers = {**headers, **self.proxy[2]}
        watchdog = _Watchdog(conn, time.monotonic() + self.timeout, self.cancel)
        try:
            with watchdog:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                if not 200 <= resp.status < 300:
                    raise self._error(self._status(resp))
                body = self._read(resp, query)
            if watchdog.expired or watchdog.cancelled:  # the cut may look like a short body
                raise OSError("cut")
            return body
        except PrometheusError:
            raise
        except (OSError, http.client.HTTPException, ValueError, zlib.error) as exc:
            if watchdog.cancelled:
                raise PrometheusCancelled(self.shown_url, "stopped while a query ran") from None
            if watchdog.expired or isinstance(exc, TimeoutError):
                raise self._error(
                    f"timed out after {self.timeout:g} s (prometheus_timeout)"
                ) from None
            raise self._error(self._why(exc)) from None
        finally:
            conn.close()

    # -- reading ---------------------------------------------------------------------------
    def _read(self, resp: http.client.HTTPResponse, query: str) -> bytearray:
        cap = self.max_bytes
        encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise self._error(f"unsupported Content-Encoding {encoding!r}")
        too_big = f"response over {size_text(cap)} (prometheus_max_bytes) to query {_short(query)}"
        length = resp.getheader("Content-Length")
        if encoding == "identity" and length and length.isdigit() and int(length) > cap:
            raise self._error(too_big)
        gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        body = bytearray()
        while chunk := resp.read1(_READ):
            if gunzip is not None:
                chunk = gunzip.decompress(chunk, cap + 1 - len(body))
            body += chunk
            if len(body) > cap:
                raise self._error(too_big)
        if gunzip is not None:
            body += gunzip.flush()
            if len(body) > cap:
                raise self._error(too_big)
            if not gunzip.eof:
                raise zlib.error("truncated")
        return body

    def _status(self, resp: http.client.HTTPResponse) -> str:
        where = f"HTTP {resp.status} from {self.shown_origin}{self.endpoint}"
        location = resp.getheader("Location")
        if 300 <= resp.status < 400 and location:
            return f"{where}: redirects to {mask_url(location)} (use that URL)"
        if resp.status in (401, 403):
            return f"{where}: not allowed (check the user and password in the URL)"
        try:
            body = resp.read(_ERROR_BODY) if resp.getheader("Content-Encoding") is None else b""
        except (OSError, http.client.HTTPException):
            body = b""
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and "error" in doc:
            return f"{where}: {_api_error(doc)}"
        return f"{where}: {_preview(body, 120)}" if body.strip() else where

    # -- connecting ------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        host, port = (self.host, self.port) if self.proxy is None else self.proxy[:2]
        if self.context is None:
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        conn = _TLSConnection(host, port, self.timeout, self.context, self.host)
        if self.proxy is not None:
            conn.set_tunnel(self.host, self.port, headers=self.proxy[2])
        return conn

    def _proxy(self, proxy: str | None) -> tuple[str, int, dict[str, str]] | None:
        if proxy is None:
            found = urllib.request.getproxies()
            if not found.get(self.scheme) or urllib.request.proxy_bypass(self.host):
                return None
            proxy = found.get(self.scheme, "")
        if not proxy:
            return None
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError(f"only http:// proxies are supported, not {mask_url(proxy)!r}")
        headers = {}
        if parts.username is not None:
            headers["Proxy-Authorization"] = _basic(parts.username, parts.password)
        return parts.hostname, parts.port or 80, headers

    # -- errors ----------------------------------------------------------------------------
    def _error(self, reason: str) -> PrometheusError:
        return PrometheusError(self.shown_url, reason)

    def _why(self, exc: BaseException) -> str:
        if isinstance(exc, ssl.SSLCertVerificationError):
            what = exc.verify_message or exc.reason or "not verified"
            if "mismatch" in what.lower():
                return f"TLS certificate not valid for {self.host} ({what})"
            return (
                f"TLS certificate not trusted ({what}): set prometheus_ca_file to the CA "
                "certificate (PEM) that signed it"
            )
        if isinstance(exc, ssl.SSLError):
            return f"TLS handshake failed ({exc.reason or exc}): is it an https:// server?"
        if isinstance(exc, ConnectionRefusedError):
            return "nothing answers there (is Prometheus running? `make lab-up` starts one)"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve host {self.host!r} ({exc.strerror})"
        if isinstance(exc, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(exc, http.client.BadStatusLine | http.client.LineTooLong):
            return "not an HTTP server (is this the Prometheus address?)"
        if isinstance(exc, http.client.IncompleteRead | ConnectionError):
            return f"the connection broke mid-response ({type(exc).__name__})"
        if isinstance(exc, zlib.error):
            return "the response is not valid gzip"
        return mask_urls_in(f"{type(exc).__name__}: {exc}")


def _basic(user: str | None, password: str | None) -> str:
    pair = f"{unquote(user or '')}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _api_error(doc: Mapping[str, Any]) -> str:
    kind, error = doc.get("errorType", ""), doc.get("error", "")
    return f"{kind}: {error}" if kind else str(error or doc.get("status"))


def _tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except FileNotFoundError:
        raise ConfigError(f"prometheus_ca_file: no such file: {ca_file}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"prometheus_ca_file: not a PEM CA certificate: {ca_file} ({exc})"
        ) from None
