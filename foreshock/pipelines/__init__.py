"""Runtimes, the one chain assembly, stages, sources, sinks and settings."""
