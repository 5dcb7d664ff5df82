"""Open the backends the settings choose: the report store and the dependency graph.

This is the one place that maps :class:`~foreshock.pipelines.settings.Settings` to the
backends' own constructors (which know nothing of settings):

- ``settings.store_backend`` (``FORESHOCK_STORE_BACKEND``): SQLite in the state folder, or
  OpenSearch (:meth:`.OpenSearchReportStore.connect`);
- ``settings.graph_backend`` (``FORESHOCK_GRAPH_BACKEND``): networkx in memory, or Neo4j
  (:meth:`.Neo4jGraph.connect`), which also keeps the incident history.

The OpenSearch and Neo4j clients are only imported when they are used.

Examples
--------
>>> import tempfile, pathlib
>>> from foreshock.pipelines.settings import Settings
>>> tmp = tempfile.TemporaryDirectory()
>>> home = pathlib.Path(tmp.name) / "state"
>>> store = open_store(Settings.load(env={}, config=None), home)
>>> type(store).__name__, sqlite_path(home).exists()
('SQLiteReportStore', True)
>>> store.close()
>>> settings = Settings.load(env={"FORESHOCK_STORE_BACKEND": "opensearch"}, config=None)
>>> type(open_store(settings, home)).__name__                      # doctest: +SKIP
'OpenSearchReportStore'
>>> tmp.cleanup()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foreshock.enrichers.stores.base import ReportStore
from foreshock.graph.backends.base import GraphBackend, IncidentHistory
from foreshock.pipelines.settings import Settings
from foreshock.schemas.closing import Closing
from foreshock.schemas.report import RootCauseReport
from foreshock.schemas.topology import Topology

if TYPE_CHECKING:
    from foreshock.enrichers.llm.background import BackgroundEnricher
    from foreshock.pipelines.sinks.alerts import AlertSink
    from foreshock.pipelines.sinks.silences import Silencer

__all__ = [
    "OpenedGraph",
    "open_enricher",
    "open_graph",
    "open_pager",
    "open_silencer",
    "open_store",
    "silences_path",
    "sqlite_path",
]


def sqlite_path(home: Path) -> Path:
    """Where the SQLite backend keeps reports in the state folder ``home``.

    Examples
    --------
    >>> sqlite_path(Path("/srv/foreshock")).as_posix()
    '/srv/foreshock/reports.sqlite'
    """
    return home / "reports.sqlite"


def open_store(settings: Settings, home: Path) -> ReportStore:
    """The report store of ``settings.store_backend``.

    ``sqlite``: ``home/reports.sqlite``, created (with ``home``) if missing. ``opensearch``:
    the indices ``<opensearch_index_prefix>-*`` at ``opensearch_url`` (basic auth with
    ``opensearch_user``/``opensearch_password`` if a user is set; for ``https://``, the
    certificate verified against ``opensearch_ca_file``, else the system's CAs, unless
    ``opensearch_verify_certs`` is off; ``home`` unused), created from foreshock's templates
    if missing. The caller closes the store.

    Raises
    ------
    StoreError
        The store cannot be opened (unreadable file; OpenSearch not reachable, with a hint;
        its certificate not trusted; the credentials rejected).
    """
    if settings.store_backend == "opensearch":
        from foreshock.enrichers.stores.opensearch import OpenSearchReportStore

        return OpenSearchReportStore.connect(
            settings.opensearch_url,
            settings.opensearch_user,
            settings.opensearch_password,
            prefix=settings.opensearch_index_prefix,
            ca_file=settings.opensearch_ca_file,
            verify_certs=settings.opensearch_verify_certs,
        )
    from foreshock.enrichers.stores.sqlite import SQLiteReportStore

    home.mkdir(parents=True, exist_ok=True)
    return SQLiteReportStore(sqlite_path(home))


@dataclass
class OpenedGraph(Closing):
    """The dependency graph a runtime asks, and where it records incidents (if anywhere).

    Parameters
    ----------
    graph
        The loaded graph backend.
    history
        The incident history in the same graph, or ``None`` (the embedded backend keeps
        none).

    Examples
    --------
    >>> from foreshock.graph.backends.embedded import NetworkXGraph
    >>> with OpenedGraph(NetworkXGraph()) as opened:
    ...     opened.history is None
    True
    """

    graph: GraphBackend
    history: IncidentHistory | None = None

    def close(self) -> None:
        """Release the graph's connection (nothing to release in memory); safe to call twice."""
        if isinstance(self.graph, Closing):
            self.graph.close()


def open_graph(settings: Settings, topology: Topology) -> OpenedGraph:
    """The graph of ``settings.graph_backend``, with ``topology`` loaded.

    ``embedded``: a networkx graph of ``topology``, no incident history. ``neo4j``: the
    server at ``neo4j_uri`` (``neo4j_user``/``neo4j_password``, no auth with an empty
    password; database ``neo4j_database``; TLS with ``bolt+s://`` / ``neo4j+s://`` URIs or
    a ``neo4j_ca_file``, which the certificate is verified against), with ``topology``
    upserted into it and the incident history of the same database. The caller closes it
    (``with``, or :meth:`OpenedGraph.close`).

    Raises
    ------
    ConfigError
        Neo4j is not reachable, rejects the credentials or shows a certificate that is not
        trusted (one line, with a hint).

    Examples
    --------
    >>> from foreshock.pipelines.settings import Settings
    >>> topology = Topology.model_validate({
    ...     "nodes": [{"id": "web", "kind": "service"}, {"id": "db", "kind": "mysql"}],
    ...     "edges": [{"from": "web", "to": "db", "type": "depends_on"}]})
    >>> opened = open_graph(Settings.load(env={}, config=None), topology)
    >>> type(opened.graph).__name__, opened.graph.upstream("web"), opened.history
    ('NetworkXGraph', {'db'}, None)
    >>> opened.close()

    With ``FORESHOCK_GRAPH_BACKEND=neo4j`` and a server (``make services-up``):

    >>> settings = Settings.load(env={"FORESHOCK_GRAPH_BACKEND": "neo4j"}, config=None)
    >>> opened = open_graph(settings, topology)                       # doctest: +SKIP
    >>> type(opened.graph).__name__, type(opened.history).__name__   # doctest: +SKIP
    ('Neo4jGraph', 'Neo4jIncidentHistory')
    >>> opened.close()                                                # doctest: +SKIP
    """
    if settings.graph_backend == "neo4j":
        from foreshock.graph.backends.neo4j_graph import Neo4jGraph

        graph = Neo4jGraph.connect(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password,
            settings.neo4j_database,
            ca_file=settings.neo4j_ca_file,
        )
        try:
            graph.load(topology)
        except BaseException:
            graph.close()
            raise
        return OpenedGraph(graph, graph.history())
    from foreshock.graph.backends.embedded import NetworkXGraph

    return OpenedGraph(NetworkXGraph(topology))


def open_enricher(settings: Settings, home: Path, topology: Topology) -> BackgroundEnricher | None:
    """The background LLM enricher the ``llm_*`` settings configure, or ``None`` when no
    endpoint is set (reports stay the narrator's). Its prompts carry the knowledge base's
    best failure modes for the root cause's kind; its cache and audit log live in ``home``.
    """
    if not (settings.llm_base_url and settings.llm_model):
        return None
    from foreshock.enrichers.llm.background import BackgroundEnricher as Background
    from foreshock.enrichers.llm.enricher import LlmEnricher
    from foreshock.enrichers.retrieval import KnowledgeIndex
    from foreshock.packs.knowledge import load_knowledge

    index = KnowledgeIndex(load_knowledge())
    kinds = topology.kinds()

    def knowledge(report: RootCauseReport) -> list[str]:
        kind = kinds.get(report.root_cause_resource)
        known = {m.kind for m in index.modes}
        hits = index.for_report(report, kind if kind in known else None)
        return [h.snippet() for h in hits]

    return Background(LlmEnricher.from_settings(settings, home), knowledge)


def open_pager(settings: Settings, home: Path, local: AlertSink) -> AlertSink:
    """``local`` (the alert log, the console), plus PagerDuty when
    ``pagerduty_routing_key`` is set and a webhook when ``webhook_url`` is: each through
    the durable outbox ``<home>/outbox.sqlite``, which a restarted pipeline goes on
    delivering."""
    from foreshock.pipelines.sinks.alerts import FanoutAlertSink
    from foreshock.pipelines.sinks.outbox import Outbox

    sinks = [local]
    if settings.pagerduty_routing_key:
        from foreshock.pipelines.sinks.pagerduty import PagerDutySink

        sinks.append(
            PagerDutySink(
                Outbox(home / "outbox.sqlite", dest="pagerduty"),
                settings.pagerduty_routing_key,
                settings.pagerduty_events_url,
                ca_file=settings.pagerduty_ca_file,
            )
        )
    if settings.webhook_url:
        from foreshock.pipelines.sinks.webhook import WebhookSink

        sinks.append(
            WebhookSink(Outbox(home / "outbox.sqlite", dest="webhook"), settings.webhook_url)
        )
    return local if len(sinks) == 1 else FanoutAlertSink(*sinks)


def silences_path(home: Path) -> Path:
    """Where ``foreshock silence`` keeps the silences of a home."""
    return home / "silences.sqlite"


def open_silencer(home: Path, topology: Topology) -> Silencer:
    """The silences of ``home`` (shared with ``foreshock silence``), matching kinds by the
    topology."""
    from foreshock.pipelines.sinks.silences import Silencer as Matcher
    from foreshock.pipelines.sinks.silences import SilenceStore

    return Matcher(SilenceStore(silences_path(home)), topology.kinds())
