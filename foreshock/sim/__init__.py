"""The simulated fleet: profiles, faults, topology; a smoke test, not evidence of quality."""
