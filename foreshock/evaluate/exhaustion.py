"""Predictive alerts on the simulated fleet (``foreshock eval exhaustion``).

A gradual fault (a disk filling, a memory leak, ...) runs until its resource is exhausted
at a time the simulator knows (``truth.json``: ``exhaustion_at``); the run says how long
before it the pipeline paged, whether the forecast that raised the alert held the true
time in its 80% interval, and, for quiet runs, whether any exhaustion was predicted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.settings import Settings
from foreshock.sim.simulator import simulate

__all__ = ["exhaustion_run", "exhaustion_summary"]


def exhaustion_run(
    fault: str, seed: int, hours: float, tmp: Path, settings: Settings | None = None
) -> dict[str, Any]:
    """One gradual fault (or ``none``) × seed: lead times and interval coverage."""
    folder = simulate(fault, seed=seed, hours=hours).write(tmp / f"{fault}-{seed}")
    res = run_replay(folder, tmp / f"home-{fault}-{seed}", settings=settings)
    truth = res.truth or {}
    predicted = [a for a in res.anomalies if a.kind == "predicted_exhaustion" and a.state == "open"]
    row: dict[str, Any] = {
        "fault": fault,
        "seed": seed,
        "predicted": len(predicted),
        "forecasts": len(res.forecasts),
    }
    cap = truth.get("capacity_series")
    if not cap:
        return row
    exh = float(truth["exhaustion_at"])
    mine = [a for a in predicted if (a.resource, a.metric) == (cap["resource"], cap["metric"])]
    first = min(mine, key=lambda a: a.detected_at) if mine else None
    # pages of incidents that involve the exhausting resource
    triggers = [
        e.timestamp
        for e in res.alerts
        if e.action == "trigger" and cap["resource"] in e.details.get("resources", "").split(", ")
    ]
    row.update(exhaustion_at=exh, lead_min=None, alert_lead_min=None, covered=None)
    if first is not None:
        row["lead_min"] = (exh - first.detected_at) / 60
        fc = next(
            (
                f
                for f in res.forecasts
                if f.made_at == first.detected_at
                and (f.resource, f.metric) == (cap["resource"], cap["metric"])
            ),
            None,
        )
        if fc is not None and fc.exhaustion_p10 is not None:
            hi = fc.exhaustion_p90 if fc.exhaustion_p90 is not None else float("inf")
            row["covered"] = fc.exhaustion_p10 <= exh <= hi
            row["interval_h"] = [
                (fc.exhaustion_p10 - first.detected_at) / 3600,
                (hi - first.detected_at) / 3600,
            ]
            row["model"] = fc.model
    if triggers:
        row["alert_lead_min"] = (exh - min(triggers)) / 60
    return row


def exhaustion_summary(
    rows: list[dict[str, Any]], quiet_rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Shares of runs paged ≥ 30 min ahead, predicted, covered; quiet runs that predicted."""
    n = len(rows) or 1
    return {
        "runs": len(rows),
        "lead_ge_30min": sum(1 for r in rows if (r.get("alert_lead_min") or -1) >= 30) / n,
        "predicted_runs": sum(1 for r in rows if r.get("lead_min") is not None) / n,
        "predicted_lead_ge_30min": sum(1 for r in rows if (r.get("lead_min") or -1) >= 30) / n,
        "covered_80": sum(1 for r in rows if r.get("covered")) / n,
        "quiet_runs_with_prediction": sum(1 for r in quiet_rows if r["predicted"] > 0),
        "quiet_runs": len(quiet_rows),
    }
