"""Normal lab traffic: 30 minutes of it through the whole pipeline, and no incident.

Runs first among the lab tests (the others inject faults). The window starts after the
lab's first 5 minutes (caches warm up, detectors learn baselines from the backfill) and
lasts 30 minutes; when the lab is younger than that, the test waits for it (make test
starts the lab before everything else, so most of the wait overlaps the other tests).
"""

from __future__ import annotations

import time
from pathlib import Path

from lab_live import log_specs, source

from pipelines.lab import LabConfig
from pipelines.lab.faults import query
from pipelines.live import run_live
from pipelines.sources.logs.tail import LogFiles

WARM = 300.0
QUIET = 1800.0
LAG = 15.0


def _lab_started(config: LabConfig) -> float:
    """When the load generator's first scrape landed (its process start time)."""
    got = query(config.prometheus_url, 'process_start_time_seconds{job="app"}')
    assert got, "the load generator is not scraped"
    return max(v for _, v in got)


def test_thirty_minutes_of_normal_traffic_open_no_incident(lab: LabConfig, tmp_path: Path) -> None:
    start = _lab_started(lab) + WARM
    end = start + QUIET
    wait = end + LAG - time.time()
    if wait > 0:
        print(f"waiting {wait / 60:.1f} min for 30 min of normal lab traffic")
        time.sleep(wait)
    src = source(lab, backfill=0.0)
    result = run_live(
        src,
        tmp_path / "home",
        logs=LogFiles(log_specs(lab)),
        window=(start - WARM, end),
        forecast=False,
    )
    assert result.batches >= (QUIET + WARM) / 5.0 * 0.95, "Prometheus history has gaps"
    assert result.log_records > 0, "the servers' logs were not read"
    incidents = [i for i in result.incidents.values() if i.opened_at >= start]
    detail = [
        (i.id, round(i.opened_at - start), [(a.resource, a.metric) for a in i.anomalies])
        for i in incidents
    ]
    assert incidents == [], f"incidents during normal traffic: {detail}"
