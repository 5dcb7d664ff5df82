"""Evaluations whose numbers go into docs/benchmarks.md: simulated RCA and quiet nights,
predicted exhaustion, NAB (official scoring rules), Loghub, forecast accuracy."""
