"""A local HTTP server speaking OpenAI's chat-completions and embeddings wire protocol
(imported by conftest.py and the tests).

It checks every request as the real API would (method, path, JSON body, model, message
roles, temperature and token ranges, bearer key), records it, and answers from a script:
a JSON answer, a status code (429 with Retry-After, 500), a delay (to time the client
out), or invalid content.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

KEY = "sk-test-local-0000000000000000000000"
CORPUS = Path(__file__).parents[3] / "data" / "masking" / "corpus.jsonl"
#: every secret of the masking corpus: none may reach the server, in any test
SECRETS = sorted(
    {s for line in CORPUS.read_text().splitlines() for s in json.loads(line)["secrets"]}
)


@dataclass
class FakeOpenAI:
    """The server's script and what it received."""

    url: str = ""
    # str content | int status | ("sleep", s, str) | a function of the request body → str
    script: list[Any] = field(default_factory=list)
    #: when the script is empty: a function of the request body → the answer (else 500)
    default: Any = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def bodies(self) -> str:
        return "\n".join(json.dumps(r["body"]) for r in self.requests)


def _check(path: str, headers: Any, body: Any) -> list[str]:
    problems = []
    if headers.get("Authorization") != f"Bearer {KEY}":
        problems.append("missing or wrong bearer key")
    if headers.get("Content-Type", "").split(";")[0] != "application/json":
        problems.append("content type is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return [*problems, "no model"]
    if path == "/v1/chat/completions":
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            problems.append("messages must be a non-empty list")
        else:
            for m in msgs:
                if m.get("role") not in {"system", "user", "assistant"}:
                    problems.append(f"bad role {m.get('role')!r}")
                if not isinstance(m.get("content"), str):
                    problems.append("content must be a string")
        t = body.get("temperature", 1.0)
        if not isinstance(t, int | float) or not 0 <= t <= 2:
            problems.append("temperature out of [0, 2]")
        mt = body.get("max_tokens", body.get("max_completion_tokens"))
        if mt is not None and (not isinstance(mt, int) or mt < 1):
            problems.append("max_tokens must be a positive int")
        rf = body.get("response_format")
        if rf is not None and rf.get("type") not in {"json_object", "json_schema", "text"}:
            problems.append("bad response_format")
    elif path == "/v1/embeddings" and not isinstance(body.get("input"), str | list):
        problems.append("input must be a string or a list")
    return problems


def _strings(obj: Any) -> list[str]:
    """Every string inside a parsed JSON body (decoded: no JSON escapes left)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            with lock:
                state.problems += _check(self.path, self.headers, body)
                state.requests.append({"path": self.path, "body": body, "raw": raw.decode()})
                step = state.script.pop(0) if state.script else (state.default or 500)
            if self.path == "/v1/embeddings":
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": [float(len(s)), 1.0]}
                    for i, s in enumerate(inputs)
                ]
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self._send(
                    200,
                    {"object": "list", "data": data, "model": body["model"], "usage": usage},
                    {},
                )
                return
            if isinstance(step, tuple) and step[0] == "sleep":
                time.sleep(step[1])
                step = step[2]
            if callable(step):
                step = step(body)
            if isinstance(step, int):
                err = {
                    "error": {
                        "message": f"scripted {step}",
                        "type": "server_error",
                        "code": str(step),
                    }
                }
                self._send(step, err, {"retry-after-ms": "10"} if step == 429 else {})
                return
            choice = {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": step},
            }
            self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [choice],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
                },
                {},
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        assert not state.problems, state.problems  # every request was a valid API request
        sent = "\n".join(r["raw"] + "\n" + "\n".join(_strings(r["body"])) for r in state.requests)
        leaked = [s for s in SECRETS if s in sent]
        assert not leaked, f"masking corpus secrets reached the server: {leaked[:5]}"
