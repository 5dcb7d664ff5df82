"""Where records leave the pipeline: pages (alert sinks) and dropped input (dead letters)."""
