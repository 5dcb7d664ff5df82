"""Kafka transport: topic names, the wire format, the compacted state topic."""
