"""The stages: plain objects, no I/O (forecast, logs, detect, correlate, enrich, alert)."""
