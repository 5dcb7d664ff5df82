"""Benchmarks: speed and memory, measured by commands (``foreshock bench``)."""
