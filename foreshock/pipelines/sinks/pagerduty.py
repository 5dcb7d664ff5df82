"""Pages to PagerDuty (Events API v2) through the durable outbox.

:func:`pagerduty_event` turns an :class:`~foreshock.schemas.alert.AlertEvent` into the
event PagerDuty documents: ``event_action``, a ``dedup_key`` of at most 255 characters
(the incident id, hashed if longer: never text from a model), and for a trigger a
``payload`` with ``summary`` (≤ 1024 characters), ``source``, ``severity``, ``timestamp``,
``component``, ``group``, ``class`` and masked ``custom_details``, plus ``links`` to the
report. The whole event stays under 512 KB: the longest details are cut first, never the
event refused.

:class:`PagerDutySink` stores each event in the :class:`~.outbox.Outbox` and returns; a
worker thread sends what is due through the maintained ``pagerduty`` package
(``EventsApiV2Client``), one event per key at a time and in order, at most one event every
``min_interval_s`` per routing key (PagerDuty allows about 120 a minute). A 429, a 5xx or
a connection failure is retried on the outbox's bounded back-off; any other 4xx (an event
PagerDuty calls invalid) is kept as failed with the reason and not retried.

Examples
--------
>>> from foreshock.schemas.alert import AlertEvent
>>> e = AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0, severity="error",
...                summary="redis-cache (memory_exhaustion): 9 anomalies on 6 resources",
...                source="redis-cache", details={"dsn": "redis://:hunter2@cache:6379"})
>>> body = pagerduty_event(e)
>>> body["event_action"], body["dedup_key"], body["payload"]["severity"]
('trigger', 'inc-1', 'error')
>>> "hunter2" in str(body)
False
>>> pagerduty_event(e.model_copy(update={"action": "resolve"}))
{'event_action': 'resolve', 'dedup_key': 'inc-1'}
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from foreshock.enrichers.masking import MASK_WINDOW, Masker
from foreshock.pipelines.sinks.delivery import OutboxSink, Refused
from foreshock.pipelines.sinks.outbox import Outbox, OutboxEvent
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.errors import ConfigError

__all__ = ["MAX_EVENT_BYTES", "PagerDutySink", "dedup_key_of", "pagerduty_event"]

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_EVENT_BYTES = 512 * 1024


def dedup_key_of(incident_id: str) -> str:
    """The incident id, or ``foreshock-<sha256>`` when it is longer than PagerDuty allows.

    >>> dedup_key_of("inc-1"), len(dedup_key_of("x" * 300))
    ('inc-1', 74)
    """
    if len(incident_id) <= MAX_DEDUP_KEY:
        return incident_id
    return "foreshock-" + hashlib.sha256(incident_id.encode()).hexdigest()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")


def pagerduty_event(event: AlertEvent, report_url: str = "") -> dict[str, Any]:
    """The Events API v2 body of ``event`` (without ``routing_key``; see the module doc)."""
    key = dedup_key_of(event.dedup_key)
    if event.action != "trigger":
        return {"event_action": event.action, "dedup_key": key}
    masker = Masker()
    details: dict[str, Any] = {k: _clip(v, masker) for k, v in event.details.items()}
    if event.report_id:
        details.setdefault("report", event.report_id)
    summary = masker.mask(event.summary[:MASK_WINDOW])
    payload: dict[str, Any] = {
        "summary": summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "…",
        "source": masker.mask(event.source)[:255] or "foreshock",
        "severity": event.severity,
        "timestamp": _iso(event.timestamp),
        "component": (event.component or event.source)[:255],
        "group": "foreshock",
        "class": details.get("failure_mode", "anomaly")[:255],
        "custom_details": details,
    }
    body: dict[str, Any] = {"event_action": "trigger", "dedup_key": key, "payload": payload}
    if report_url and event.report_id:
        body["links"] = [
            {
                "href": f"{report_url.rstrip('/')}/{event.report_id}",
                "text": f"foreshock report {event.report_id}",
            }
        ]
    return _fit(body)


def _clip(text: str, masker: Masker) -> str:
    """``text`` masked; beyond the masking window, cut, saying how much."""
    if len(text) <= MASK_WINDOW:
        return masker.mask(text)
    return masker.mask(text[:MASK_WINDOW]) + (
        f" …(cut to fit: {len(text) - MASK_WINDOW:,} characters left out)"
    )


def _fit(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` cut to :data:`MAX_EVENT_BYTES`: the longest custom detail is halved until it
    fits (saying how much was left out), never the event dropped."""
    details = body["payload"]["custom_details"]
    whole = {k: str(v) for k, v in details.items()}
    keep = {k: len(v) for k, v in whole.items()}
    while len(json.dumps(body).encode()) > MAX_EVENT_BYTES and any(keep.values()):
        name = max(keep, key=lambda k: keep[k])
        keep[name] //= 2
        cut = len(whole[name]) - keep[name]
        details[name] = whole[name][: keep[name]] + f" …(cut to fit: {cut:,} characters left out)"
    return body


class PagerDutySink(OutboxSink):
    """Alert sink: PagerDuty Events API v2, through a durable outbox (see module doc).

    Parameters
    ----------
    outbox
        Where events wait until delivered (survives restarts).
    routing_key
        The integration's routing key.
    events_url
        Base URL of the Events API (``https://events.pagerduty.com``).
    min_interval_s
        Least time between two events to this routing key.
    report_url
        Base URL of reports, for the event's ``links`` (none if empty).
    ca_file
        CA certificates to trust for the Events API (a TLS-inspecting proxy, a test
        server); empty: the system's. The client only speaks ``https://``.
    """

    def __init__(
        self,
        outbox: Outbox,
        routing_key: str,
        events_url: str = "https://events.pagerduty.com",
        min_interval_s: float = 0.5,
        report_url: str = "",
        ca_file: str = "",
    ) -> None:
        import ssl

        from pagerduty import EventsApiV2Client

        self.events_url = events_url
        self.report_url = report_url
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else True
        )
        try:
            self.client = EventsApiV2Client(routing_key, base_url=events_url, verify=verify)
        except Exception as exc:  # pagerduty.UrlError: not https
            raise ConfigError(f"pagerduty_events_url {events_url!r}: {exc}") from exc
        # The outbox retries, with its own back-off: the client tries once.
        self.client.retry = {429: 1, 500: 1, 502: 1, 503: 1, 504: 1}
        self.client.max_http_attempts = 1
        self.client.max_network_attempts = 0
        self.client.sleep_timer = 0.2
        self.client.timeout = 10  # seconds
        super().__init__(outbox, min_interval_s)

    def body(self, event: AlertEvent) -> tuple[str, dict[str, Any]]:
        body = pagerduty_event(event, self.report_url)
        return body["dedup_key"], body

    def post(self, ev: OutboxEvent) -> None:
        from pagerduty import HttpError

        body = dict(ev.body)
        action, key = body.pop("event_action"), body.pop("dedup_key")
        try:
            self.client.send_event(action, dedup_key=key, **body)
        except HttpError as exc:
            response = exc.response
            status = response.status_code if response is not None else 0
            if response is not None and 400 <= status < 500 and status != 429:
                raise Refused(f"HTTP {status}: {response.text[:300]}") from exc
            raise

    def __repr__(self) -> str:
        return f"PagerDutySink({self.events_url!r}, outbox={str(self.outbox.path)!r})"
