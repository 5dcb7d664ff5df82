"""The webhook sink: Slack-style JSON through the shared durable outbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fake_pagerduty import ROUTING_KEY, FakePagerDuty
from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.pipelines.sinks.outbox import Outbox
from foreshock.pipelines.sinks.webhook import WebhookSink
from foreshock.schemas.alert import AlertEvent
from foreshock.sim.simulator import simulate


class Hook:
    def __init__(self) -> None:
        self.url = ""
        self.got: list[dict[str, Any]] = []
        self.status = 200


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.headers["Content-Type"] == "application/json"
            if state.status == 200:
                state.got.append(body)
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def _event(action: str = "trigger") -> AlertEvent:
    return AlertEvent(
        dedup_key="inc-1",
        action=action,
        timestamp=0.0,
        source="redis-cache",
        summary="redis-cache (memory_exhaustion): 9 anomalies on 6 resources",
    )


def test_messages_arrive_in_order_shaped_for_slack(hook: Hook, tmp_path: Path) -> None:
    sink = WebhookSink(Outbox(tmp_path / "o.sqlite", dest="webhook"), hook.url, 0.0)
    sink.send(_event())
    sink.send(_event("resolve"))
    assert sink.flush(10)
    sink.close()
    assert [m["text"].split()[1] for m in hook.got] == ["TRIGGER", "RESOLVE"]
    assert hook.got[0]["foreshock"]["source"] == "redis-cache"


def test_a_refused_message_is_not_retried(hook: Hook, tmp_path: Path) -> None:
    hook.status = 400
    sink = WebhookSink(Outbox(tmp_path / "o.sqlite", dest="webhook"), hook.url, 0.0)
    sink.send(_event())
    assert sink.flush(10)
    sink.close()
    assert sink.final_counts == {"failed": 1} and hook.got == []


def test_a_run_pages_pagerduty_and_the_webhook_from_one_outbox(
    hook: Hook, fake_pagerduty: FakePagerDuty, tmp_path: Path
) -> None:
    replay = simulate("redis_memory_exhaustion", seed=1, hours=4).write(tmp_path / "r")
    env = {
        "FORESHOCK_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "FORESHOCK_PAGERDUTY_EVENTS_URL": fake_pagerduty.url,
        "FORESHOCK_PAGERDUTY_CA_FILE": fake_pagerduty.ca_file,
        "FORESHOCK_WEBHOOK_URL": hook.url,
    }
    res = CliRunner().invoke(
        app, ["run", "--replay", str(replay), "--home", str(tmp_path / "h"), "--json"], env=env
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert "PagerDuty" in out["pages_to"] and "the webhook" in out["pages_to"]
    assert [a for _, a in fake_pagerduty.pages()] == ["trigger", "resolve"]
    assert [m["foreshock"]["action"] for m in hook.got] == ["trigger", "resolve"]
    shown = CliRunner().invoke(app, ["config", "show", "--json"], env=env)
    assert "B000/XXXX" not in shown.output and "127.0.0.1" in shown.output
