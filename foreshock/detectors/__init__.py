"""Detectors (the batch contract, fleet and River tiers), calibration, decision, forecasters,
the log template miner."""
