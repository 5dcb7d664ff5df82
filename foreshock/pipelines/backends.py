"""Open the report store the settings choose: SQLite in the state folder, or OpenSearch.

``settings.store_backend`` picks the backend (``FORESHOCK_STORE_BACKEND=opensearch``); the
OpenSearch client is only imported when it is used.

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

from pathlib import Path

from foreshock.enrichers.stores.base import ReportStore
from foreshock.pipelines.settings import Settings

__all__ = ["open_store", "sqlite_path"]


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
    the indices ``<opensearch_index_prefix>-*`` at ``opensearch_url`` (``home`` unused),
    created from foreshock's templates if missing.

    Raises
    ------
    StoreError
        The store cannot be opened (unreadable file; OpenSearch not reachable, with a hint).
    """
    if settings.store_backend == "opensearch":
        from foreshock.enrichers.stores.opensearch import OpenSearchReportStore

        return OpenSearchReportStore(settings)
    from foreshock.enrichers.stores.sqlite import SQLiteReportStore

    home.mkdir(parents=True, exist_ok=True)
    return SQLiteReportStore(sqlite_path(home))
