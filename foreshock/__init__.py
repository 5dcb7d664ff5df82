"""foreshock: an event-streaming AIOps pipeline for middleware fleets.

Metric and log streams in; anomalies, incidents with ranked root causes, reports, forecasts
and one page per incident out. Start with ``foreshock demo``; the layers are described in
``docs/design.md``.
"""

__version__ = "0.1.0"
