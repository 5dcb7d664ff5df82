"""Record the lab's faults as labelled replay folders (``python -m foreshock_lab.record``).

For each fault: wait ``--calm`` seconds, inject it, let it act ``--after`` seconds, revert
it, then write the Prometheus window from ``--before`` seconds before the injection to
``--after`` seconds after it with ``foreshock record`` (the samples the live runtime reads)
and a ``truth.json`` naming the fault, its start and its root cause. ``foreshock eval
replays OUT`` then scores the pipeline on them offline; ``tests/data/lab-replays`` holds
one such recording.

Example (a lab started by ``make lab-up``)::

    python -m foreshock_lab.record --out /tmp/lab-replays
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from foreshock_lab import LabConfig
from foreshock_lab.faults import inject, revert

#: The lab as a user topology (resource names, dependencies), as the lab's tests use it.
TOPOLOGY = Path(__file__).resolve().parents[1] / "topology.yaml"

#: fault → (root-cause resource, failure mode), as the lab's fault tests expect them
TRUTH: dict[str, tuple[str, str]] = {
    "redis_maxmemory": ("redis", "memory_exhaustion"),
    "mariadb_connections": ("mariadb", "connection_exhaustion"),
    "mariadb_lock_contention": ("mariadb", "lock_contention"),
    "postgresql_idle_in_transaction": ("postgresql", "idle_in_transaction"),
    "redis_down": ("redis", "unreachable"),
}


def record_fault(
    name: str,
    out: Path,
    config: LabConfig,
    before: float,
    after: float,
    foreshock: str,
    calm_since: float | None = None,
) -> Path:
    """Inject, wait, revert, record; returns the replay folder.

    ``calm_since``: when the previous fault was reverted (the window may hold it: only the
    time from a minute after it is labelled normal).
    """
    t0 = time.time()
    inject(name, config)
    try:
        time.sleep(after)
    finally:
        revert(name, config)
    time.sleep(30.0)  # Prometheus' last scrape of the window
    folder = out / name
    subprocess.run(
        [
            foreshock,
            "record",
            "--prometheus",
            config.prometheus_url,
            "--start",
            f"{t0 - before:.0f}",
            "--end",
            f"{t0 + after:.0f}",
            "--out",
            str(folder),
            "--topology",
            str(TOPOLOGY),
        ],
        check=True,
    )
    root, mode = TRUTH[name]
    truth = {
        "fault": name,
        "start": t0,
        "end": t0 + after,
        "root_cause": {"resource": root, "failure_mode": mode},
        "normal": [[max(t0 - before, (calm_since or 0.0) + 60.0), t0 - 60.0]],
        "description": f"lab fault {name}, injected {time.strftime('%F %T', time.gmtime(t0))}Z",
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the replay folders")
    p.add_argument("--faults", default=",".join(TRUTH), help="comma-separated fault names")
    p.add_argument("--before", type=float, default=1200.0, help="seconds before injection")
    p.add_argument("--after", type=float, default=180.0, help="seconds the fault acts")
    p.add_argument("--calm", type=float, default=240.0, help="seconds of calm before each")
    p.add_argument(
        "--foreshock",
        default=os.environ.get("FORESHOCK", str(Path(sys.executable).with_name("foreshock"))),
        help="the foreshock command",
    )
    args = p.parse_args(argv)
    config = LabConfig()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.faults.split(","):
        if name not in TRUTH:
            p.error(f"unknown fault {name!r}; known: {', '.join(TRUTH)}")
    calm_since: float | None = None
    for k, name in enumerate(args.faults.split(",")):
        # the first window needs its history: the lab may just have started
        calm = max(args.calm, args.before - 60.0) if k == 0 else args.calm
        print(f"{name}: {calm:.0f} s of calm, then {args.after:.0f} s of fault", flush=True)
        time.sleep(calm)
        folder = record_fault(
            name, args.out, config, args.before, args.after, args.foreshock, calm_since
        )
        calm_since = time.time()
        print(f"{name}: recorded {folder}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
