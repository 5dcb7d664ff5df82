"""Root cause and quiet-night evaluations on the simulated fleet (``foreshock eval rca|quiet``).

Each run simulates a fleet with one fault (or none), replays it through the embedded
pipeline, and reports where the true root cause ranked, how many incidents and pages the
run opened, and whether the failure mode was named.

Examples
--------
>>> parse_seeds("1-3"), parse_seeds("4,7")
([1, 2, 3], [4, 7])
>>> summarise([{"fault": "f", "rank": 1, "mode_ok": True, "incidents": 1, "alerts": 1}])["all"]
{'runs': 1, 'top1': 1.0, 'top3': 1.0, 'mode': 1.0, 'one_incident': 1.0, 'one_page': 1.0}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.settings import Settings
from foreshock.sim.simulator import simulate

__all__ = ["parse_seeds", "run_one", "summarise"]


def parse_seeds(text: str) -> list[int]:
    """``1-10`` or ``1,3,5`` → list of seeds."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out += list(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def run_one(
    fault: str, seed: int, hours: float, tmp: Path, settings: Settings | None = None
) -> dict[str, Any]:
    """Simulate one fault × seed, run it, and say how the pipeline did."""
    folder = simulate(fault, seed=seed, hours=hours).write(tmp / f"{fault}-{seed}")
    res = run_replay(folder, tmp / f"home-{fault}-{seed}", settings=settings)
    truth = res.truth or {}
    true_root = (truth.get("root_cause") or {}).get("resource")
    true_mode = (truth.get("root_cause") or {}).get("failure_mode")
    incs = res.incidents
    rank = None
    mode_ok = False
    if incs and true_root:
        # the incident that holds the true root cause (or the first one)
        inc = next((i for i in incs if true_root in i.resources), incs[0])
        names = [c.resource for c in inc.candidates]
        rank = names.index(true_root) + 1 if true_root in names else None
        mode_ok = bool(inc.candidates and inc.candidates[0].failure_mode == true_mode)
    return {
        "fault": fault,
        "seed": seed,
        "incidents": len(incs),
        # pages: incidents paged (a same-key update of a page is not another page)
        "alerts": len({a.dedup_key for a in res.alerts if a.action == "trigger"}),
        "updates": sum(a.action == "trigger" and a.revision > 0 for a in res.alerts),
        "rank": rank,
        "mode_ok": mode_ok,
        "anomalies": sum(a.state == "open" for a in res.anomalies),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-1/top-3, failure mode, one incident, one page: per fault and over all runs."""

    def stats(rs: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(rs) or 1
        return {
            "runs": len(rs),
            "top1": sum(r["rank"] == 1 for r in rs) / n,
            "top3": sum(r["rank"] is not None and r["rank"] <= 3 for r in rs) / n,
            "mode": sum(r["mode_ok"] for r in rs) / n,
            "one_incident": sum(r["incidents"] == 1 for r in rs) / n,
            "one_page": sum(r["alerts"] == 1 for r in rs) / n,
        }

    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["fault"], []).append(r)
    return {"by_fault": {f: stats(rs) for f, rs in by.items()}, "all": stats(rows)}
