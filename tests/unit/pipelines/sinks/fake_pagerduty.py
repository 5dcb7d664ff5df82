"""A local HTTP server implementing PagerDuty's Events API v2 (imported by conftest.py).

``POST /v2/enqueue`` validates every field as PagerDuty documents it (routing key,
``event_action``, ``dedup_key`` ≤ 255 and required for acknowledge/resolve, a trigger's
``payload`` with ``summary`` ≤ 1024, ``source``, ``severity`` in critical/error/warning/
info, an ISO 8601 ``timestamp``, string ``component``/``group``/``class``, object
``custom_details``, ``links`` with ``href``; the whole event ≤ 512 KB) and answers 202 with
the dedup key, or 400 with the errors. It enforces a per-routing-key rate limit with 429,
and can be told to answer 500 or to be down (connections dropped without an answer).
``POST /v2/change/enqueue`` validates change events. Every request is recorded.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROUTING_KEY = "R0UT1NGK3Y0000000000000000000042"
SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass
class FakePagerDuty:
    url: str = ""
    ca_file: str = ""  # what a client must trust to reach it
    #: accepted events, in the order accepted
    accepted: list[dict[str, Any]] = field(default_factory=list)
    #: every request: (path, status answered, body or None)
    requests: list[tuple[str, int, Any]] = field(default_factory=list)
    down: bool = False
    fail_with: int | None = None  # answer this status to every request
    rate_limit: int = 1000  # events per routing key per window
    window_s: float = 1.0
    _sent_in_window: dict[str, list[float]] = field(default_factory=dict)

    def pages(self) -> list[tuple[str, str]]:
        return [(e["dedup_key"], e["event_action"]) for e in self.accepted]


def _iso(text: Any) -> bool:
    try:
        datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def validate(body: Any, raw_len: int) -> list[str]:
    """PagerDuty's checks of an Events API v2 event; empty if valid."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    errors = []
    if raw_len > 512 * 1024:
        errors.append("event larger than 512 KB")
    if body.get("routing_key") != ROUTING_KEY:
        errors.append("routing_key missing or unknown")
    action = body.get("event_action")
    if action not in {"trigger", "acknowledge", "resolve"}:
        errors.append("event_action must be trigger, acknowledge or resolve")
    key = body.get("dedup_key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 255):
        errors.append("dedup_key must be a string of 1 to 255 characters")
    if action in {"acknowledge", "resolve"} and key is None:
        errors.append("dedup_key is required for acknowledge and resolve")
    if action == "trigger":
        p = body.get("payload")
        if not isinstance(p, dict):
            return [*errors, "payload is required for trigger"]
        if not isinstance(p.get("summary"), str) or not 0 < len(p["summary"]) <= 1024:
            errors.append("payload.summary must be a string of 1 to 1024 characters")
        if not isinstance(p.get("source"), str) or not p["source"]:
            errors.append("payload.source is required")
        if p.get("severity") not in SEVERITIES:
            errors.append("payload.severity must be critical, error, warning or info")
        if "timestamp" in p and not _iso(p["timestamp"]):
            errors.append("payload.timestamp must be ISO 8601")
        for name in ("component", "group", "class"):
            if name in p and not isinstance(p[name], str):
                errors.append(f"payload.{name} must be a string")
        if "custom_details" in p and not isinstance(p["custom_details"], dict):
            errors.append("payload.custom_details must be an object")
        unknown = set(p) - {
            "summary",
            "source",
            "severity",
            "timestamp",
            "component",
            "group",
            "class",
            "custom_details",
        }
        if unknown:
            errors.append(f"unknown payload fields {sorted(unknown)}")
        for link in body.get("links", []):
            if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                errors.append("links[].href must be a string")
    unknown = set(body) - {
        "routing_key",
        "event_action",
        "dedup_key",
        "payload",
        "links",
        "images",
        "client",
        "client_url",
    }
    if unknown:
        errors.append(f"unknown event fields {sorted(unknown)}")
    return errors


@pytest.fixture(scope="session")
def pagerduty_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the Events API client speaks https only)."""
    if shutil.which("openssl") is None:
        pytest.fail("the PagerDuty tests need `openssl` (make services-up installs it)")
    d = tmp_path_factory.mktemp("pd-tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def fake_pagerduty(pagerduty_tls: tuple[Path, Path]) -> Iterator[FakePagerDuty]:
    state = FakePagerDuty(ca_file=str(pagerduty_tls[0]))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any], path: str, body: Any) -> None:
            state.requests.append((path, status, body))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                if state.down:
                    state.requests.append((self.path, 0, None))
                    self.close_connection = True
                    self.connection.close()  # nothing answers: a transport error
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if self.path not in {"/v2/enqueue", "/v2/change/enqueue"}:
                    self._answer(404, {"status": "not found"}, self.path, body)
                    return
                if state.fail_with is not None:
                    self._answer(state.fail_with, {"status": "error"}, self.path, body)
                    return
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    self._answer(
                        400, {"status": "invalid event", "errors": ["not JSON"]}, self.path, body
                    )
                    return
                if self.path == "/v2/change/enqueue":
                    p = (body or {}).get("payload") or {}
                    ok = (
                        isinstance(p.get("summary"), str) and body.get("routing_key") == ROUTING_KEY
                    )
                    self._answer(
                        202 if ok else 400,
                        {"status": "success" if ok else "invalid"},
                        self.path,
                        body,
                    )
                    return
                errors = validate(body, len(raw))
                if errors:
                    self._answer(
                        400,
                        {
                            "status": "invalid event",
                            "message": "Event object is invalid",
                            "errors": errors,
                        },
                        self.path,
                        body,
                    )
                    return
                now = time.monotonic()
                sent = [
                    t
                    for t in state._sent_in_window.get(body["routing_key"], [])
                    if now - t < state.window_s
                ]
                if len(sent) >= state.rate_limit:
                    state._sent_in_window[body["routing_key"]] = sent
                    self._answer(429, {"status": "throttle event"}, self.path, body)
                    return
                state._sent_in_window[body["routing_key"]] = [*sent, now]
                key = body.get("dedup_key") or f"pd-{len(state.accepted)}"
                state.accepted.append({**body, "dedup_key": key})
                self._answer(
                    202,
                    {"status": "success", "message": "Event processed", "dedup_key": key},
                    self.path,
                    body,
                )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*pagerduty_tls)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
