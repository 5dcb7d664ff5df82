"""Record a stretch of a live source as a replay folder (``foreshock record``).

What an incident looked like on Prometheus, written down exactly: ``metrics.csv`` holds
every sample as the live runtime would have read it (the same batches, timestamps and
values to the last bit: ``repr`` of each float), ``topology.yaml`` the topology discovery
built (merged with the user's YAML). ``foreshock run --replay`` on the folder then finds
what the live runtime found on that window, offline, as often as you like, and the folder
can be attached to a bug report or published to Kafka for the distributed runtime.

Examples
--------
>>> import tempfile, pathlib
>>> from foreshock.schemas.metrics import MetricBatch
>>> from foreshock.pipelines.sources.replay import read_replay
>>> out = pathlib.Path(tempfile.mkdtemp()) / "window"
>>> batches = [MetricBatch(timestamp=1700000000.125, resources=["db"], metrics=["up"],
...                        values=[0.1 + 0.2])]
>>> _ = write_replay(out, batches, Topology.model_validate({"nodes": [{"id": "db"}]}))
>>> back = read_replay(out).batches
>>> back[0].timestamp, back[0].values == [0.1 + 0.2]
(1700000000.125, True)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import yaml

from foreshock.schemas.metrics import MetricBatch
from foreshock.schemas.topology import Topology

__all__ = ["write_replay"]


def write_replay(out: Path, batches: Iterable[MetricBatch], topology: Topology) -> int:
    """Write ``batches`` and ``topology`` as a replay folder at ``out``; returns the samples."""
    out.mkdir(parents=True, exist_ok=True)
    samples = 0
    with (out / "metrics.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp", "resource", "metric", "value"])
        for batch in batches:
            ts = repr(float(batch.timestamp))
            for r, m, v in zip(batch.resources, batch.metrics, batch.values, strict=True):
                w.writerow([ts, r, m, repr(float(v))])
                samples += 1
    topo = topology.model_dump(by_alias=True, exclude_none=True)
    (out / "topology.yaml").write_text(yaml.safe_dump(topo, sort_keys=False))
    return samples
