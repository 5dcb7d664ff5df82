"""Normal lab traffic: minutes of it through the whole pipeline, and no incident.

``FORESHOCK_LAB_QUIET_MIN`` minutes (30 by default; `make test` runs 20 so CI stays under
an hour, `make lab-soak` the 30 of issue 5's acceptance or ``SOAK_MIN`` more).
Runs first among the lab tests (the others inject faults). The minutes start when this
test starts (not earlier: in `make test` the rest of the suite runs before, with three
JVMs busy on the same two cores, and that is not the lab's normal traffic) and at least
5 minutes after the lab started (caches warm up); the pipeline then judges them with
everything since the lab started as its history, as a live run would have.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

from foreshock_lab import LabConfig
from lab_live import log_specs, settings, source

from foreshock.pipelines.runtimes.live import run_live
from foreshock.pipelines.sources.logs.tail import LogFiles

WARM = 300.0
QUIET = 60.0 * float(os.environ.get("FORESHOCK_LAB_QUIET_MIN", "30"))
LAG = 15.0
GAP = 30.0  # longer without an up scrape of the load generator: the lab was down


def _lab_started(config: LabConfig) -> float:
    """When the load generator's current run began: the first of its unbroken up scrapes.

    An earlier run of the lab whose data was kept (`make lab-up` reuses it) ends at a gap.
    """
    url = f"{config.prometheus_url}/api/v1/query?" + urlencode({"query": 'up{job="app"}[6h]'})
    with urlopen(url, timeout=10) as r:
        result = json.load(r)["data"]["result"]
    assert result, "the load generator is not scraped"
    return current_run_start(
        sorted(float(t) for s in result for t, v in s["values"] if v == "1"), max_gap=GAP
    )


def current_run_start(times: list[float], max_gap: float) -> float:
    """The first of the last stretch of `times` with no gap longer than `max_gap`.

    >>> current_run_start([0.0, 5.0, 10.0, 100.0, 105.0], max_gap=30.0)
    100.0
    """
    assert times, "the load generator was never up"
    i = len(times) - 1
    while i > 0 and times[i] - times[i - 1] <= max_gap:
        i -= 1
    return times[i]


def test_minutes_of_normal_traffic_open_no_incident(lab: LabConfig, tmp_path: Path) -> None:
    assert QUIET >= 600.0, "FORESHOCK_LAB_QUIET_MIN: at least 10 minutes of normal traffic"
    began = _lab_started(lab)
    start = max(time.time(), began + WARM)
    end = start + QUIET
    wait = end + LAG - time.time()
    if wait > 0:
        print(f"waiting {wait / 60:.1f} min for {QUIET / 60:.0f} min of normal lab traffic")
        time.sleep(wait)
    src = source(lab, backfill=0.0)
    result = run_live(
        src,
        tmp_path / "home",
        logs=LogFiles(log_specs(lab)),
        window=(began, end),
        settings=settings(),
    )
    scrapes = [b for b in (result.first_ts, result.last_ts) if b is not None]
    assert scrapes and scrapes[-1] - scrapes[0] >= (end - began) * 0.95, "history has gaps"
    assert result.log_records > 0, "the servers' logs were not read"
    incidents = [i for i in result.incidents.values() if i.opened_at >= start]
    detail = [
        (i.id, round(i.opened_at - start), [(a.resource, a.metric) for a in i.anomalies])
        for i in incidents
    ]
    assert incidents == [], f"incidents during normal traffic: {detail}"
