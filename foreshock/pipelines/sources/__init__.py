"""Sources: replay folders, Prometheus (with topology discovery), log files, recordings."""
