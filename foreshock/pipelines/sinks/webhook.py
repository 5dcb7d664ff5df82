"""Pages as JSON POSTs to a webhook (a Slack incoming webhook, a chat bridge, your own
service), through the same durable outbox as PagerDuty.

The body has a ``text`` line that Slack, Mattermost and Teams-style webhooks show as is,
and the whole event under ``foreshock`` (masked) for programs. At most one message a
second (Slack's limit per channel); a 429, a 5xx or a network failure is retried on the
outbox's back-off, any other 4xx is kept as failed with the reason.

Examples
--------
>>> from foreshock.schemas.alert import AlertEvent
>>> e = AlertEvent(dedup_key="inc-1", action="trigger", timestamp=0.0, summary="disk full",
...                source="db-1", details={"dsn": "mysql://app:pw123456@db-1/shop"})
>>> body = webhook_body(e)
>>> body["text"]
':rotating_light: TRIGGER critical db-1: disk full [inc-1]'
>>> "pw123456" in str(body), body["foreshock"]["dedup_key"]
(False, 'inc-1')
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from foreshock.enrichers.masking import MASK_WINDOW, Masker
from foreshock.pipelines.sinks.delivery import OutboxSink, Refused
from foreshock.pipelines.sinks.outbox import Outbox, OutboxEvent
from foreshock.schemas.alert import AlertEvent
from foreshock.schemas.errors import ConfigError

__all__ = ["WebhookSink", "webhook_body"]

_ICON = {"trigger": ":rotating_light:", "acknowledge": ":eyes:", "resolve": ":white_check_mark:"}


def webhook_body(event: AlertEvent) -> dict[str, Any]:
    """The JSON a webhook receives for ``event`` (see the module doc)."""
    masker = Masker()
    summary = masker.mask(event.summary[:MASK_WINDOW])[:1000]
    action = "UPDATE" if event.revision else event.action.upper()
    text = (
        f"{_ICON.get(event.action, '')} {action} {event.severity} "
        f"{masker.mask(event.source)}: {summary} [{event.dedup_key}]"
    ).strip()
    record = event.model_dump(mode="json")
    record["summary"] = summary
    record["details"] = {k: masker.mask(v[:MASK_WINDOW]) for k, v in event.details.items()}
    return {"text": text, "foreshock": record}


class WebhookSink(OutboxSink):
    """Alert sink: a JSON POST per event to ``url``, through the outbox.

    Parameters
    ----------
    outbox
        Where events wait until delivered (its ``dest`` should be ``webhook``).
    url
        The webhook's URL (``http://`` or ``https://``).
    min_interval_s
        Least time between two messages (Slack allows about one a second).
    timeout_s
        Seconds one POST may take.
    """

    def __init__(
        self, outbox: Outbox, url: str, min_interval_s: float = 1.0, timeout_s: float = 10.0
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook_url must be an http:// or https:// URL, not {url[:40]!r}")
        self.url = url
        self.timeout_s = timeout_s
        super().__init__(outbox, min_interval_s)

    def body(self, event: AlertEvent) -> tuple[str, dict[str, Any]]:
        return event.dedup_key, webhook_body(event)

    def post(self, ev: OutboxEvent) -> None:
        data = json.dumps(ev.body).encode()
        req = urllib.request.Request(
            self.url, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            # nosec B310: the scheme is http(s), checked in __init__
            with urllib.request.urlopen(req, timeout=self.timeout_s) as response:  # nosec B310
                response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code != 429:
                raise Refused(f"HTTP {exc.code}: {exc.read()[:300]!r}") from exc
            raise

    def __repr__(self) -> str:
        return f"WebhookSink(outbox={str(self.outbox.path)!r})"
