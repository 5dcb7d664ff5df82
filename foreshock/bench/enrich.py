"""``foreshock bench enrich``: the pipeline does not wait on the LLM.

The same simulated replay runs three times: without an LLM endpoint; with one that is
down (nothing listens on its port); and with one that answers every request after
``delay_s`` seconds (an in-process stub speaking the chat-completions wire protocol on
127.0.0.1, answering like a model that follows the rules: the first ranked candidate,
citing E1). For each run: the pipeline's own throughput (samples per second of the chain,
the end-of-run wait for the model excluded and reported apart), incidents, reports and
who wrote them, and the audit log's lines.

Examples
--------
>>> stub = StubEndpoint(delay_s=0.0)
>>> stub.url.startswith("http://127.0.0.1:")
True
>>> stub.close()
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["StubEndpoint", "run_enrich_bench"]

_FIRST = re.compile(r"candidates \(best first\): ([^,\n]+)")


def _answer(prompt: str) -> str:
    found = _FIRST.search(prompt)
    root = found.group(1) if found else "unknown"
    return json.dumps(
        {
            "summary": f"{root} is the root cause: its anomaly came first.",
            "root_cause": {"resource": root, "failure_mode": None},
            "causal_chain": [{"step": f"{root} changed first", "evidence": ["E1"]}],
            "checks": [{"command": "see the knowledge base", "why": "confirm the mode"}],
            "remediations": [{"action": "follow the runbook", "risk": "low"}],
            "confidence": 0.5,
            "would_change": ["an earlier anomaly elsewhere"],
        }
    )


class StubEndpoint:
    """A chat-completions endpoint on 127.0.0.1 that answers after ``delay_s`` seconds."""

    def __init__(self, delay_s: float) -> None:
        delay = delay_s
        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                stub.requests += 1
                time.sleep(delay)
                content = _answer(body["messages"][-1]["content"] if body["messages"] else "")
                if len(body["messages"]) > 2:  # a retry: answer from the first prompt
                    content = _answer(body["messages"][1]["content"])
                data = json.dumps(
                    {
                        "id": "chatcmpl-bench",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "stub"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_enrich_bench(
    fault: str,
    seed: int,
    hours: float,
    delay_s: float,
    timeout_s: float,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the three modes (see the module doc); one row per mode."""
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.pipelines.settings import Settings
    from foreshock.sim.simulator import simulate

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="foreshock-bench-enrich-") as d:
        replay = simulate(fault, seed=seed, hours=hours).write(Path(d) / "replay")
        stub = StubEndpoint(delay_s)
        try:
            modes = {
                "no endpoint": "",
                "endpoint down": f"http://127.0.0.1:{_closed_port()}/v1",
                f"answers in {delay_s:g} s": stub.url,
            }
            for mode, url in modes.items():
                if progress is not None:
                    progress(f"bench enrich: {mode}")
                env = {
                    "FORESHOCK_LLM_BASE_URL": url,
                    "FORESHOCK_LLM_MODEL": "stub" if url else "",
                    "FORESHOCK_LLM_TIMEOUT_S": str(timeout_s),
                }
                home = Path(d) / f"home-{len(rows)}"
                res = run_replay(replay, home, settings=Settings.load(env=env))
                chain_s = max(res.seconds - res.llm_wait_seconds, 1e-9)
                audit = home / "llm-audit.jsonl"
                calls = audit.read_text().splitlines() if audit.exists() else []
                writers = Counter(r.enriched_by for r in res.reports)
                notes = Counter(r.enrichment_note for r in res.reports if r.enrichment_note)
                rows.append(
                    {
                        "mode": mode,
                        "samples": res.samples,
                        "chain_s": chain_s,
                        "samples_per_s": res.samples / chain_s,
                        "wait_at_end_s": res.llm_wait_seconds,
                        "incidents": len(res.incidents),
                        "reports": len(res.reports),
                        "written_by": dict(writers),
                        "notes": dict(notes),
                        "audit_lines": len(calls),
                        "outcomes": dict(Counter(json.loads(x)["outcome"] for x in calls)),
                    }
                )
        finally:
            stub.close()
    return {"fault": fault, "seed": seed, "hours": hours, "delay_s": delay_s, "runs": rows}
