"""The local PagerDuty Events API v2 server as a fixture (see fake_pagerduty.py)."""

from fake_pagerduty import fake_pagerduty, pagerduty_tls

__all__ = ["fake_pagerduty", "pagerduty_tls"]
