"""Report, incident and forecast stores: SQLite (FTS5) embedded, OpenSearch distributed."""
