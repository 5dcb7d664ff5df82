"""Middleware packs: knowledge as data (metric semantics, capacity pairs, failure modes)."""
