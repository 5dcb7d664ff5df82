"""Log stage: log records → template-rate series for the detectors, and new-error anomalies.

Each record's content is mined by one template miner per resource kind (kinds from the
topology; drain3 with the masking rules of :mod:`foreshock.detectors.logs.masking`), so the
resources of one kind share their templates. Then:

- **Rates.** Every ``interval`` seconds of event time (windows aligned to multiples of
  ``interval``, closed ``lateness`` seconds after their end so that files polled one after
  another do not lose lines to the next window) the stage emits one
  :class:`~foreshock.schemas.metrics.MetricBatch` stamped with the window's end, holding for every
  resource the counters ``log_lines_total{level="<level>"}`` for each level seen on it
  and ``log_template_lines_total{template="<id>"}`` for each template seen on it (at most
  ``max_template_series`` per resource): lines since the stage started. The detect stage
  turns them into rates with a Poisson noise floor (the ``logs`` pack declares them
  counters), so one stray line on a quiet resource is not an anomaly, and a series
  once seen keeps being sent, so the detectors see drops and returns.
- **New error templates.** After the warm-up (the first ``warmup`` seconds of event
  time since the stage started or the resource's first line, whichever is earlier:
  startup chatter is learned silently, while a resource whose file is tailed from its
  end and that stays silent for an hour is not "starting" when it finally logs its
  shutdown), a template never seen on that
  resource whose line is at warning level or above, or whose text looks like an error
  (:data:`ERROR_WORDS`), opens a ``kind="log"`` :class:`~foreshock.schemas.anomaly.Anomaly`:
  ``metric='log_template{template="<id>"}'``, ``detector="logs:new_template"``,
  ``role="errors"``, ``direction="up"``, ``evidence=[template, example line,
  "failure_mode:<name>"…]`` (the pack's ``log_patterns`` that match the template or the
  line, as case-insensitive substrings or regexes), ``score`` by level (fatal 0.99, error
  0.95, warning 0.85, else 0.8; 0.95 at least when a pack pattern matches), ``raw_score``
  the level's rank (0 debug … 5 fatal), ``value`` the template's lines in the episode,
  ``baseline=0``, ``onset=detected_at`` the line's time.
  While the template keeps appearing nothing more is raised; once it has been quiet for
  ``quiet`` seconds a ``state="closed"`` copy (``value``: the episode's lines) closes the
  episode. If it comes back later it opens a new episode, up to ``max_episodes`` per
  template and resource; after that it is part of the resource's normal behaviour (its
  rate series still goes to the detectors).

The stage's state is plain data (:meth:`LogStage.state_dict`: counters, episodes and each
kind's miner); :meth:`LogStage.snapshot` wraps it with
:func:`~foreshock.schemas.state.dump_state`, so a snapshot is never unpickled.

Examples
--------
>>> stage = LogStage(kinds={"redis-cache": "redis"}, interval=10.0, lateness=0.0)
>>> from foreshock.schemas.logs import LogRecord
>>> def line(t, msg, level="notice"):
...     return stage.process(LogRecord(timestamp=t, resource="redis-cache", message=msg,
...                                    level=level))
>>> _ = line(0.0, "Ready to accept connections tcp")
>>> _ = line(1.0, "Background saving started by pid 42")
>>> batch = line(12.0, "Background saving started by pid 43")[0]
>>> batch.timestamp, dict(zip(batch.metrics, batch.values))['log_lines_total{level="notice"}']
(10.0, 2.0)
>>> out = line(200.0, "Error accepting a client connection: too many open files", "warning")
>>> [(a.metric, a.state) for a in out if isinstance(a, Anomaly)]
[('log_template{template="T3"}', 'open')]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from foreshock.detectors.logs.miner import TemplateMatch, TemplateMiner
from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.stages.log_resources import (
    Episode,
    ResourceLog,
    fail,
    resource_of,
    resource_state,
    want_dict,
    want_float,
    want_int,
    want_str,
)
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.logs import LEVELS, LogRecord
from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.state import dump_state, load_state

__all__ = ["ERROR_WORDS", "LogStage", "Miner"]

ERROR_WORDS = re.compile(
    r"\b(?:error|fail|fatal|refused|denied|too many|time ?out|timed out|abort|crash|"
    r"oom\b|out of memory|deadlock|lock wait)",
    re.I,
)
_RANK = {level: i for i, level in enumerate(LEVELS)}
_SCORE = {"fatal": 0.99, "error": 0.95, "warning": 0.85}
_STATE_KEYS = frozenset({"miners", "resources", "window", "clock", "started", "lines", "anomalies"})


class Miner(Protocol):
    """What the stage needs of a template miner (``foreshock.detectors.logs.TemplateMiner``)."""

    def add(self, content: str) -> TemplateMatch: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class _Pattern:
    text: str
    regex: re.Pattern[str] | None
    failure_mode: str

    def matches(self, text: str) -> bool:
        if self.text.casefold() in text.casefold():
            return True
        return self.regex is not None and self.regex.search(text) is not None


class LogStage:
    """Stage: :class:`~foreshock.schemas.logs.LogRecord` → rate batches and new-template anomalies.

    Parameters
    ----------
    kinds
        Resource id → kind (from the topology); resources not in it are of kind ``other``.
    packs
        Pack index (their ``log_patterns`` name failure modes); the built-in packs by default.
    interval
        Seconds of event time per rate window.
    lateness
        A window is closed once event time is this far past its end.
    warmup
        Seconds of event time learned without anomalies, counted from the earlier of the
        stage's first event time (a record or a tick) and the resource's first line.
    quiet
        An episode closes after its template has been quiet this long.
    max_episodes
        Episodes per template and resource before the template counts as normal.
    max_template_series
        Template-rate series per resource (later templates only count in the level rates).
    max_fill
        At most this many empty windows are emitted to fill a gap in event time.
    miner_factory
        Makes one miner per kind (default :class:`~foreshock.detectors.logs.miner.TemplateMiner`).

    Examples
    --------
    >>> stage = LogStage(kinds={"pg-1": "postgresql"}, warmup=0.0, lateness=0.0)
    >>> [a] = stage.process(LogRecord(timestamp=5.0, resource="pg-1", level="fatal",
    ...                               message="sorry, too many clients already"))
    >>> a.kind, a.detector, a.score, a.value
    ('log', 'logs:new_template', 0.99, 1.0)
    >>> [c] = [x for x in stage.tick(700.0) if isinstance(x, Anomaly)]
    >>> c.state
    'closed'
    """

    absorbs = True  # log records stop here; the rate batches go on to the detectors

    def __init__(
        self,
        kinds: dict[str, str] | None = None,
        packs: PackIndex | None = None,
        interval: float = 10.0,
        lateness: float = 5.0,
        warmup: float = 120.0,
        quiet: float = 600.0,
        max_episodes: int = 3,
        max_template_series: int = 200,
        max_fill: int = 60,
        miner_factory: Callable[[], Miner] = TemplateMiner,
    ) -> None:
        self.kinds = dict(kinds or {})
        self.packs = packs or PackIndex(load_packs())
        self.interval = interval
        self.lateness = lateness
        self.warmup = warmup
        self.quiet = quiet
        self.max_episodes = max_episodes
        self.max_template_series = max_template_series
        self.max_fill = max_fill
        self.miner_factory = miner_factory
        self._miners: dict[str, Miner] = {}
        self._resources: dict[str, ResourceLog] = {}
        self._patterns: dict[str, list[_Pattern]] = {}
        self._window: float | None = None  # start of the open window
        self._clock = -math.inf
        self._started = math.inf  # the first event time seen
        self.lines = 0
        self.anomalies = 0

    # ---------------------------------------------------------------- stage contract
    def process(self, item: LogRecord) -> list[MetricBatch | Anomaly]:
        """Mine one record; returns closed windows' batches and any anomaly it opens."""
        t = float(item.timestamp)
        out = self._advance(t)
        r = self._resources.get(item.resource)
        if r is None:
            r = ResourceLog(self.kinds.get(item.resource, "other"), first=min(t, self._started))
            self._resources[item.resource] = r
        miner = self._miners.get(r.kind)
        if miner is None:
            miner = self._miners[r.kind] = self.miner_factory()
        match = miner.add(item.message)
        tid = match.template_id
        level = item.level if item.level in _RANK else "info"
        self.lines += 1
        r.levels[level] = r.levels.get(level, 0) + 1
        if tid in r.templates or len(r.templates) < self.max_template_series:
            r.templates[tid] = r.templates.get(tid, 0) + 1
        first_time = tid not in r.seen
        r.seen.add(tid)
        ep = r.episodes.get(tid)
        if ep is not None:
            ep.lines += 1
            ep.last_seen = max(ep.last_seen, t)
            return out
        warm = t - r.first >= self.warmup
        eligible = first_time or 0 < r.raised[tid] < self.max_episodes
        if warm and eligible and self._alarming(level, match.template, item.message):
            a = self._open(item, r, match, level)
            r.episodes[tid] = Episode(a, t)
            r.raised[tid] += 1
            self.anomalies += 1
            out.append(a)
        return out

    def tick(self, now: float) -> Iterable[MetricBatch | Anomaly]:
        """Advance event time: close windows and quiet episodes."""
        return self._advance(now)

    # ---------------------------------------------------------------- state as data
    def config(self) -> dict[str, Any]:
        """The hyperparameters the state is learned under (a snapshot must match them).

        Examples
        --------
        >>> LogStage(interval=30.0).config()["interval"]
        30.0
        """
        return {
            "interval": self.interval,
            "lateness": self.lateness,
            "warmup": self.warmup,
            "quiet": self.quiet,
            "max_episodes": self.max_episodes,
            "max_template_series": self.max_template_series,
            "max_fill": self.max_fill,
        }

    def snapshot(self) -> bytes:
        """The stage's state as a snapshot (:func:`~foreshock.schemas.state.dump_state`)."""
        return dump_state("logs", self.state_dict(), config=self.config())

    def restore(self, state: bytes) -> None:
        """Continue from a :meth:`snapshot` of a stage with the same hyperparameters.

        Raises
        ------
        SnapshotError
            A foreign, tampered or malformed snapshot, or one taken with other
            hyperparameters; the stage is then left as it was.

        Examples
        --------
        >>> a = LogStage(kinds={"pg-1": "postgresql"})
        >>> _ = a.process(LogRecord(timestamp=5.0, resource="pg-1", message="checkpoint done"))
        >>> b = LogStage(kinds={"pg-1": "postgresql"})
        >>> b.restore(a.snapshot())
        >>> b.lines, b.state_of()
        (1, {'pg-1': {'templates': 1, 'open': []}})
        >>> LogStage(interval=60.0).restore(a.snapshot())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foreshock.schemas.errors.SnapshotError: snapshot learned under {'interval': 10.0, ...
        """
        self.load_state_dict(load_state(state, "logs", config=self.config()))

    def state_dict(self) -> dict[str, Any]:
        """The stage's state as plain data (for :meth:`load_state_dict`).

        Per resource its kind, first line time, level and template counters, templates
        seen, open episodes (the anomaly as a dict) and episodes raised per template; the
        open window, event-time clock and start, the line and anomaly totals, and each
        kind's miner state (:meth:`Miner.state_dict`).

        Examples
        --------
        >>> stage = LogStage(kinds={"pg-1": "postgresql"})
        >>> s = stage.state_dict()
        >>> s["window"], s["clock"], s["started"], s["resources"]
        (None, -inf, inf, {})
        """
        return {
            "miners": {kind: m.state_dict() for kind, m in self._miners.items()},
            "resources": {res: resource_state(r) for res, r in self._resources.items()},
            "window": self._window,
            "clock": self._clock,
            "started": self._started,
            "lines": self.lines,
            "anomalies": self.anomalies,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the stage's state by one from :meth:`state_dict`.

        Raises
        ------
        SnapshotError
            ``state`` is not shaped like a :meth:`state_dict` (or a miner refuses its
            part); the stage is then left as it was.

        Examples
        --------
        >>> LogStage().load_state_dict({"lines": 3})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foreshock.schemas.errors.SnapshotError: log stage state: expected a dict with keys ...
        """
        if not isinstance(state, dict) or state.keys() != _STATE_KEYS:
            fail(f"expected a dict with keys {', '.join(sorted(_STATE_KEYS))}")
        miners_state = want_dict(state["miners"], "miners")
        resources_state = want_dict(state["resources"], "resources")
        window = state["window"]
        if window is not None:
            window = want_float(window, "window")
        clock = want_float(state["clock"], "clock")
        started = want_float(state["started"], "started")
        lines = want_int(state["lines"], "lines")
        anomalies = want_int(state["anomalies"], "anomalies")
        resources = {
            want_str(res, "resource id"): resource_of(r, f"resources[{res!r}]")
            for res, r in resources_state.items()
        }
        miners: dict[str, Miner] = {}
        for kind, ms in miners_state.items():
            m = self.miner_factory()
            m.load_state_dict(want_dict(ms, f"miners[{kind!r}]"))
            miners[want_str(kind, "miner kind")] = m
        self._miners, self._resources = miners, resources
        self._window, self._clock, self._started = window, clock, started
        self.lines, self.anomalies = lines, anomalies

    def state_of(self) -> dict[str, Any]:
        """Templates seen and open episodes per resource (for ``foreshock`` status output)."""
        return {
            res: {"templates": len(r.seen), "open": sorted(r.episodes)}
            for res, r in self._resources.items()
        }

    # ---------------------------------------------------------------- anomalies
    def _alarming(self, level: str, template: str, line: str) -> bool:
        if _RANK[level] >= _RANK["warning"]:
            return True
        return bool(ERROR_WORDS.search(template) or ERROR_WORDS.search(line))

    def _failure_modes(self, kind: str, texts: tuple[str, ...]) -> list[str]:
        patterns = self._patterns.get(kind)
        if patterns is None:
            pack = self.packs.packs.get(kind)
            owners = [pack] if pack else list(self.packs.packs.values())
            patterns = [
                _Pattern(p.pattern, _compile(p.pattern), p.failure_mode)
                for owner in owners
                for p in owner.log_patterns
                if p.failure_mode
            ]
            self._patterns[kind] = patterns
        found: list[str] = []
        for p in patterns:
            if p.failure_mode not in found and any(p.matches(t) for t in texts):
                found.append(p.failure_mode)
        return found

    def _open(self, item: LogRecord, r: ResourceLog, match: TemplateMatch, level: str) -> Anomaly:
        modes = self._failure_modes(r.kind, (match.template, item.message))
        score = _SCORE.get(level, 0.8)
        if modes:
            score = max(score, 0.95)
        return Anomaly(
            resource=item.resource,
            metric=f'log_template{{template="{match.template_id}"}}',
            onset=item.timestamp,
            detected_at=item.timestamp,
            score=score,
            raw_score=float(_RANK[level]),
            direction="up",
            value=1.0,
            baseline=0.0,
            detector="logs:new_template",
            kind="log",
            role="errors",
            unit="lines",
            evidence=[match.template, item.message, *(f"failure_mode:{m}" for m in modes)],
        )

    def _close_quiet(self) -> list[Anomaly]:
        out: list[Anomaly] = []
        for r in self._resources.values():
            for tid in [
                k for k, ep in r.episodes.items() if self._clock - ep.last_seen >= self.quiet
            ]:
                ep = r.episodes.pop(tid)
                update = {"state": "closed", "detected_at": self._clock, "value": float(ep.lines)}
                out.append(ep.anomaly.model_copy(update=update))
        return out

    # ---------------------------------------------------------------- windows
    def _advance(self, now: float) -> list[MetricBatch | Anomaly]:
        self._started = min(self._started, now)
        if now <= self._clock:
            return []
        self._clock = now
        if self._window is None:
            self._window = math.floor(now / self.interval) * self.interval
            return []
        out: list[MetricBatch | Anomaly] = []
        done = math.floor((now - self.lateness - self._window) / self.interval)
        for i in range(max(done, 0)):
            if 0 < i < done - self.max_fill:  # a long gap: only its last windows are sent
                continue
            batch = self._batch(self._window + (i + 1) * self.interval)
            if batch is not None:
                out.append(batch)
        if done > 0:
            self._window += done * self.interval
        out += self._close_quiet()
        return out

    def _batch(self, end: float) -> MetricBatch | None:
        resources: list[str] = []
        metrics: list[str] = []
        values: list[float] = []
        for res in sorted(self._resources):
            r = self._resources[res]
            series = [
                *(
                    (f'log_lines_total{{level="{lv}"}}', r.levels, lv)
                    for lv in LEVELS
                    if lv in r.levels
                ),
                *(
                    (f'log_template_lines_total{{template="{t}"}}', r.templates, t)
                    for t in r.templates
                ),
            ]
            for name, counts, key in series:
                resources.append(res)
                metrics.append(name)
                values.append(float(counts[key]))
        if not values:
            return None
        return MetricBatch(timestamp=end, resources=resources, metrics=metrics, values=values)


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.I)
    except re.error:
        return None
