"""Throwaway Prometheus servers for the tests: one that answers, and ones that misbehave.

Each :class:`FakePrometheus` serves ``/api/v1/query`` on a free loopback port from a
thread (``http.server``), over HTTP or HTTPS (:func:`make_certs` writes a private CA and a
server certificate for 127.0.0.1 with ``openssl``). Modes:

- ``ok``: one Redis target (``redis_up``): a vector for discovery queries, raw samples
  every second for range queries;
- ``drip``: headers at once, then the body one byte a second; ``drip_headers``: the status
  line itself one byte a second; ``drip_ranges``: ``ok`` for discovery, ``drip`` for the
  range queries (a server that fails once the run is under way);
- ``big``: a JSON body of ``size`` bytes, chunked (no Content-Length to refuse up front);
  ``gzip_bomb``: a small gzip body that inflates to ``size`` bytes; ``bad_gzip``: a
  broken one;
- ``garbage``: ``<html>``, not JSON; ``not_api``: JSON, but not an API response;
- ``status``: HTTP ``status`` with a plain body; ``api_error``: HTTP 400 with Prometheus'
  JSON error.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REDIS_UP = {"__name__": "redis_up", "job": "redis", "instance": "127.0.0.1:9121"}


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path


def make_certs(folder: Path) -> Certs:
    """A private CA and a certificate for 127.0.0.1 / localhost it signed (openssl)."""
    if shutil.which("openssl") is None:
        import pytest

        pytest.skip("openssl is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ext = folder / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=foreshock test CA")  # fmt: skip
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return Certs(ca=ca, cert=cert, key=key)


def _matrix(query: str, at: float) -> list[dict[str, Any]]:
    seconds = int(query[query.rindex("[") + 1 : -2])
    values = [[at - k, "1"] for k in range(min(seconds, 30), -1, -1)]
    return [{"metric": REDIS_UP, "values": values}]


class FakePrometheus:
    """A server in a thread; ``with FakePrometheus("drip") as p: ... p.url``."""

    def __init__(
        self,
        mode: str = "ok",
        certs: Certs | None = None,
        size: int = 1 << 20,
        status: int = 503,
        user: str = "",
    ) -> None:
        self.mode = mode
        self.size = size
        self.status = status
        self.stopping = threading.Event()
        self.requests: list[tuple[str, dict[str, str]]] = []  # (query, headers)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query).get("query", [""])[0]
                fake.requests.append((query, dict(self.headers.items())))
                with contextlib.suppress(OSError):  # the client cut us off, as it should
                    fake.answer(self, query)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if certs is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certs.cert, certs.key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        port = self.server.server_address[1]
        self.url = f"{scheme}://{user + '@' if user else ''}127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # -- what each mode sends -----------------------------------------------------------
    def answer(self, h: BaseHTTPRequestHandler, query: str) -> None:
        mode = self.mode
        if mode == "drip_ranges":
            mode = "drip" if "[" in query else "ok"
        if mode == "drip_headers":
            self._drip(h, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}")
        elif mode == "drip":
            body = json.dumps({"status": "success", "data": {"result": []}}).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body) + 3600))
            h.end_headers()
            self._drip(h, b" " * 3600 + body)
        elif mode == "ok":
            result: Any = []
            if query.startswith("{__name__"):  # the query of plain names: redis_up is there
                if "[" in query:
                    result = _matrix(query, time.time())
                else:
                    result = [{"metric": REDIS_UP, "value": [time.time(), "1"]}]
            self._send(h, 200, json.dumps({"status": "success", "data": {"result": result}}))
        elif mode == "big":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            piece = b'{"status":"success","data":{"result":[' + b" " * 65000
            sent = 0
            while sent < self.size and not self.stopping.is_set():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
                piece = b" " * 65000
            h.wfile.write(b"0\r\n\r\n")
        elif mode in ("gzip_bomb", "bad_gzip"):
            body = gzip.compress(b'{"status":"success","data":{"result":[' + b" " * self.size)
            body = body if mode == "gzip_bomb" else body[: len(body) // 2] + b"garbage"
            h.send_response(200)
            h.send_header("Content-Encoding", "gzip")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        elif mode == "garbage":
            self._send(h, 200, "<html><body>Welcome to nginx!</body></html>", "text/html")
        elif mode == "not_api":
            self._send(h, 200, json.dumps({"hello": "world"}))
        elif mode == "status":
            self._send(h, self.status, "upstream unavailable\n", "text/plain")
        elif mode == "api_error":
            err = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
            self._send(h, 400, json.dumps(err))
        else:
            raise ValueError(mode)

    def _send(
        self, h: BaseHTTPRequestHandler, code: int, text: str, kind: str = "application/json"
    ) -> None:
        body = text.encode()
        h.send_response(code)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _drip(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        for i in range(len(data)):
            if self.stopping.wait(1.0 if i else 0.0):
                return
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()


class TLSHandshakeDrip:
    """A server that starts a TLS handshake and drips it: a record header, then a byte a
    second of its 16 KiB body (no read timeout ever fires)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TLSHandshakeDrip:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.listener.close()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            with conn:
                conn.recv(65536)  # the ClientHello
                conn.sendall(b"\x16\x03\x03\x40\x00")  # handshake record, 16 KiB
                while not self.stopping.wait(1.0):
                    conn.sendall(b"\x00")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
