"""The report store interface: where reports, incidents and forecasts are kept and searched.

Two backends implement :class:`ReportStore`: SQLite with FTS5 for the embedded runtime
(:class:`foreshock.enrichers.stores.sqlite.SQLiteReportStore`) and an OpenSearch index for the
distributed one. Both answer the same calls the same way, so the CLI, the enricher's
retrieval of past incidents and the tests do not care which one they hold.

Examples
--------
>>> hit = SearchHit(report_id="inc-1-v1", incident_id="inc-1", title="Redis memory",
...                 created_at=0.0, score=1.5, snippet="**Redis** evicted keys")
>>> hit.report_id, hit.score
('inc-1-v1', 1.5)
>>> issubclass(StoreError, ForeshockError)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from foreshock.schemas.errors import ForeshockError
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport

__all__ = ["ReportStore", "SearchHit", "StoreError"]


class StoreError(ForeshockError, OSError):
    """A report store cannot be opened or used (bad path, not a database, missing FTS5).

    Examples
    --------
    >>> str(StoreError("cannot open report store at /nope/r.db"))
    'cannot open report store at /nope/r.db'
    """


class SearchHit(BaseModel):
    """One full-text search result: which report matched, how well, and where.

    Parameters
    ----------
    report_id, incident_id, title, created_at
        Copied from the matching :class:`~foreshock.schemas.report.RootCauseReport`.
    score
        Relevance, higher is better. Only comparable between hits of one search.
    snippet
        A short excerpt of the best-matching field with the matched words highlighted.

    Examples
    --------
    >>> SearchHit(report_id="r", incident_id="i", title="t", created_at=1.0, score=0.2,
    ...           snippet="…").incident_id
    'i'
    """

    model_config = ConfigDict(frozen=True)

    report_id: str
    incident_id: str
    title: str
    created_at: float
    score: float = Field(description="Relevance, higher is better (within one search).")
    snippet: str = Field(description="Excerpt of the best-matching field, matches highlighted.")


@runtime_checkable
class ReportStore(Protocol):
    """Keeps root-cause reports (full-text searchable), their incidents, and forecasts.

    Every write is idempotent, so a stage replayed after a restart can write again.

    Examples
    --------
    >>> from foreshock.enrichers.stores.sqlite import SQLiteReportStore
    >>> store: ReportStore = SQLiteReportStore(":memory:")
    >>> isinstance(store, ReportStore)
    True
    >>> store.close()
    """

    def put(self, report: RootCauseReport) -> bool:
        """Store ``report``, replacing any report with the same id.

        Returns ``False`` when identical content was already stored (nothing written),
        ``True`` otherwise.
        """
        ...

    def get(self, report_id: str) -> RootCauseReport | None:
        """The report with this id; else, if it is an incident id, that incident's newest report."""
        ...

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Full-text search over the reports with free user text, best match first.

        Any text is accepted: operators and punctuation are taken literally, never as
        query syntax.
        """
        ...

    def recent(self, limit: int = 10) -> list[RootCauseReport]:
        """The newest reports (by ``created_at``), newest first."""
        ...

    def put_incident(self, incident: Incident) -> None:
        """Insert or update an incident by id; an older ``version`` never replaces a newer one."""
        ...

    def get_incident(self, incident_id: str) -> Incident | None:
        """The stored incident with this id, or ``None``."""
        ...

    def put_forecasts(self, forecasts: Iterable[Forecast]) -> int:
        """Store forecasts; returns how many were new or changed.

        A forecast is identified by ``(resource, metric, model, made_at)``: putting it again
        replaces it, and identical content writes nothing (and is not counted).
        """
        ...

    def forecasts(
        self, resource: str | None = None, metric: str | None = None, latest_only: bool = True
    ) -> list[Forecast]:
        """Stored forecasts, optionally of one resource and/or one metric.

        With ``latest_only``, one forecast per ``(resource, metric)``: the newest
        ``made_at`` (ties: the first model name). Ordered by resource, metric, then newest
        ``made_at`` first, then model.
        """
        ...

    def close(self) -> None:
        """Release the store's resources; the store must not be used afterwards."""
        ...
