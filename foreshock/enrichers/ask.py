"""Plain-language questions about the fleet, answered from what foreshock stored.

:class:`Asker` reads the report store (incidents, their reports, forecasts) and answers
four kinds of question, each citing the ids it used:

- **capacity** ("what runs out first?", "when is the disk full?"): the latest forecasts
  that cross their limit, soonest first;
- **history** ("has redis-cache done this before?"): the incidents a resource was in, with
  their root causes;
- **explain** ("why was checkout slow at 10:05?"): the incident nearest that time (and
  involving the resource named), its root cause, summary and first evidence rows;
- **search** (anything else): full-text search over the reports.

Offline the answer is written from templates. With an LLM endpoint
(:class:`~foreshock.enrichers.ask_llm.LlmAsker`) the model rewrites it from the same
material, and is held to it (only the ids given, only the numbers in the material).

Examples
--------
>>> from foreshock.enrichers.stores.sqlite import SQLiteReportStore
>>> from foreshock.schemas.forecast import Forecast
>>> store = SQLiteReportStore(":memory:")
>>> _ = store.put_forecasts([Forecast(resource="db-1", metric="disk_used_bytes",
...     made_at=0.0, model="linear", horizon_s=86400.0, limit=100.0,
...     exhaustion_p10=3600.0, exhaustion_p50=7200.0, exhaustion_p90=14400.0)])
>>> a = Asker(store).ask("what runs out first?")
>>> a.intent, a.sources
('capacity', ['forecast:db-1/disk_used_bytes'])
>>> for part in a.text.split(" ("):
...     print(part)
db-1 disk_used_bytes reaches its limit
100) first: in about 2.0 h
between 1.0 h and 4.0 h, 80% interval), forecast at 00:00 UTC by linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from foreshock.enrichers.stores.base import ReportStore
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport

__all__ = ["Answer", "Asker", "intent_of"]

_CAPACITY = re.compile(
    r"\b(runs? out|running out|exhaust\w*|full|fill\w*|capacity|headroom|space left|"
    r"forecasts?|how long until|when will)\b",
    re.I,
)
_HISTORY = re.compile(
    r"\b(before|again|history|previous(ly)?|past|ever|how often|last time|times?)\b", re.I
)
_EXPLAIN = re.compile(
    r"\b(why|cause[ds]?|what happened|slow|down|broke\w*|fail\w*|errors?|latency|outage|"
    r"incident)\b",
    re.I,
)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_MAX_REPORTS = 1000
_NEAR_S = 1800.0  # an incident within this of the time asked about is "at" that time


@dataclass
class Answer:
    """An answer, the ids it rests on, and how it was written."""

    question: str
    intent: str
    text: str
    sources: list[str] = field(default_factory=list)
    #: the material the answer was written from (what an LLM may rephrase, nothing else)
    material: list[str] = field(default_factory=list)
    answered_by: str = "offline"
    note: str | None = None


def intent_of(question: str) -> str:
    """``capacity``, ``history``, ``explain`` or ``search``.

    >>> [intent_of(q) for q in ("what runs out first?", "has redis done this before?",
    ...                         "why was checkout slow at 10:05?", "evictions")]
    ['capacity', 'history', 'explain', 'search']
    """
    if _CAPACITY.search(question):
        return "capacity"
    if _HISTORY.search(question):
        return "history"
    if _EXPLAIN.search(question) or _CLOCK.search(question):
        return "explain"
    return "search"


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M UTC")


def _day_clock(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hours(s: float) -> str:
    return f"{s / 3600:.1f} h"


class Asker:
    """Answer questions from a report store (see the module doc).

    Parameters
    ----------
    store
        Where the pipeline stored incidents, reports and forecasts.
    """

    def __init__(self, store: ReportStore) -> None:
        self.store = store
        self._reports: list[RootCauseReport] | None = None

    # -- what the store holds ---------------------------------------------------------------
    def reports(self) -> list[RootCauseReport]:
        """The newest report of every incident, newest incident first."""
        if self._reports is None:
            newest: dict[str, RootCauseReport] = {}
            for r in self.store.recent(limit=_MAX_REPORTS):
                newest.setdefault(r.incident_id, r)
            self._reports = list(newest.values())
        return self._reports

    def resources(self) -> set[str]:
        """Every resource named in a report or forecast."""
        out = {f.resource for f in self.store.forecasts()}
        for r in self.reports():
            out.add(r.root_cause_resource)
            out.update(r.candidates)
            out.update(e.resource for e in r.evidence)
        return out

    def named(self, question: str) -> list[str]:
        """The known resources the question names (longest names first)."""
        q = question.lower()
        found = [
            r
            for r in self.resources()
            if re.search(rf"(?<![\w-]){re.escape(r.lower())}(?![\w-])", q)
        ]
        return sorted(found, key=lambda r: (-len(r), r))

    # -- answers ----------------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        """The offline answer to ``question``."""
        intent = intent_of(question)
        if intent == "capacity":
            return self._capacity(question)
        if intent == "history":
            return self._history(question)
        if intent == "explain":
            return self._explain(question)
        return self._search(question)

    def _capacity(self, question: str) -> Answer:
        named = self.named(question)
        series = [
            f
            for f in self.store.forecasts()
            if f.exhaustion_p50 is not None and (not named or f.resource in named)
        ]
        series.sort(key=lambda f: (f.exhaustion_p50 or 0.0) - f.made_at)
        if not series:
            return self._headroom(question, named)
        lines = [_forecast_line(f, first=(i == 0)) for i, f in enumerate(series[:5])]
        ids = [_forecast_id(f) for f in series[:5]]
        return Answer(question, "capacity", "\n".join(lines), ids, lines)

    def _headroom(self, question: str, named: list[str]) -> Answer:
        """Nothing crosses its limit: say so, and which series comes closest (the largest
        share of its limit forecast within the horizon, for limits above zero)."""
        where = f" on {', '.join(named)}" if named else ""
        text = f"No forecast{where} reaches its limit within its horizon: nothing runs out."
        near = [
            (max(f.point) / f.limit, f)
            for f in self.store.forecasts()
            if f.limit and f.limit > 0 and f.point and (not named or f.resource in named)
        ]
        if not near:
            return Answer(question, "capacity", text)
        share, f = max(near, key=lambda x: x[0])
        line = (
            f"Closest: {f.resource} {f.metric}, forecast to reach {share:.0%} of its limit "
            f"({f.limit:g}) within {_hours(f.horizon_s)} ({f.model}, made {_clock(f.made_at)})."
        )
        return Answer(question, "capacity", f"{text}\n{line}", [_forecast_id(f)], [text, line])

    def _history(self, question: str) -> Answer:
        named = self.named(question)
        if not named:
            return self._search(question)
        who = named[0]
        past = [r for r in self.reports() if who == r.root_cause_resource or who in r.candidates]
        if not past:
            return Answer(question, "history", f"{who} has not been in any incident on record.")
        as_root = sum(r.root_cause_resource == who for r in past)
        lines = [
            f"{who} was in {len(past)} incident(s), the root cause of {as_root}:",
            *(_incident_line(r, self.store.get_incident(r.incident_id)) for r in past[:10]),
        ]
        ids = [r.incident_id for r in past[:10]]
        return Answer(question, "history", "\n".join(lines), ids, lines)

    def _explain(self, question: str) -> Answer:
        named = set(self.named(question))
        reports = [
            r for r in self.reports() if not named or named & {r.root_cause_resource, *r.candidates}
        ]
        if not reports:
            return Answer(question, "explain", "No incident on record matches that question.")
        chosen, lines = reports[0], []
        clock = _CLOCK.search(question)
        if clock:
            want = int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
            chosen = min(reports, key=lambda r: self._distance(r, want))
            off = self._distance(chosen, want)
            if off > _NEAR_S:
                lines.append(
                    f"No incident was open at {clock.group(0)} UTC; the nearest, "
                    f"{_hours(off)} away:"
                )
        inc = self.store.get_incident(chosen.incident_id)
        lines += [_incident_line(chosen, inc), chosen.summary]
        lines += [
            f"E{i}: {e.resource} {e.metric} went {e.direction} at {_clock(e.onset)}"
            for i, e in enumerate(chosen.evidence[:5], 1)
        ]
        if chosen.checks:
            lines.append(f"First check: {chosen.checks[0]}")
        ids = [chosen.incident_id, chosen.id]
        return Answer(question, "explain", "\n".join(lines), ids, lines)

    def _distance(self, report: RootCauseReport, second_of_day: int) -> float:
        """Seconds between a time of day and the incident's span (0 inside it)."""
        inc = self.store.get_incident(report.incident_id)
        start = inc.opened_at if inc else report.created_at
        end = inc.updated_at if inc else report.created_at
        day = start - start % 86400
        best = float("inf")
        for d in (day - 86400, day, day + 86400):
            t = d + second_of_day
            best = min(best, 0.0 if start <= t <= end else min(abs(t - start), abs(t - end)))
        return best

    def _search(self, question: str) -> Answer:
        hits, seen = [], set()
        for h in self.store.search(question, limit=30):  # one hit per incident, the best
            if h.incident_id not in seen:
                seen.add(h.incident_id)
                hits.append(h)
        hits = hits[:3]
        if not hits:
            return Answer(question, "search", "No report mentions that.")
        lines = [f"{h.report_id} ({_day_clock(h.created_at)}): {h.title}" for h in hits]
        return Answer(question, "search", "\n".join(lines), [h.report_id for h in hits], lines)


def _forecast_id(f: Forecast) -> str:
    return f"forecast:{f.resource}/{f.metric}"


def _forecast_line(f: Forecast, first: bool) -> str:
    p50 = (f.exhaustion_p50 or f.made_at) - f.made_at
    spread = ""
    if f.exhaustion_p10 is not None and f.exhaustion_p90 is not None:
        spread = (
            f" (between {_hours(f.exhaustion_p10 - f.made_at)} and "
            f"{_hours(f.exhaustion_p90 - f.made_at)}, 80% interval)"
        )
    limit = f" ({f.limit:g})" if f.limit is not None else ""
    lead = " first" if first else ""
    return (
        f"{f.resource} {f.metric} reaches its limit{limit}{lead}: in about {_hours(p50)}"
        f"{spread}, forecast at {_clock(f.made_at)} by {f.model}."
    )


def _incident_line(r: RootCauseReport, inc: Incident | None) -> str:
    when = _day_clock(inc.opened_at) if inc else _day_clock(r.created_at)
    mode = f" ({r.failure_mode})" if r.failure_mode else ""
    return f"{r.incident_id}, opened {when}: root cause {r.root_cause_resource}{mode}."
