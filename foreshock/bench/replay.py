"""Long replays: CPU time and peak memory of ``foreshock run --replay`` by length.

Each replay is simulated (fault ``none``, one seed) and run by ``foreshock run --replay
R --json`` in a child process of its own; the child's CPU time (user + sys) and peak
resident set size come from the kernel (:func:`os.wait4`), as ``/usr/bin/time -v`` reports
them. ``ratio`` is the longest run's CPU time over the shortest one's scaled by the row
counts: 1.0 when a run's cost grows in proportion to its rows.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> res = run_replay_bench([1.0, 2.0], Path(tempfile.mkdtemp()))  # doctest: +SKIP
>>> [r["hours"] for r in res["runs"]], res["ratio"] > 0  # doctest: +SKIP
([1.0, 2.0], True)
"""

from __future__ import annotations

import os
import subprocess  # nosec B404: runs this package's own CLI, no shell
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from foreshock.sim.simulator import simulate

__all__ = ["measure_run", "run_replay_bench"]


def measure_run(replay: Path, home: Path) -> dict[str, float]:
    """CPU seconds (user, sys) and peak RSS (MB) of ``foreshock run --replay`` on ``replay``."""
    main = "from foreshock.cli.app import main; main()"  # the `foreshock` console script
    cmd = [sys.executable, "-c", main, "run", "--replay", str(replay), "--home", str(home)]
    proc = subprocess.Popen(  # nosec B603: fixed argv, no shell
        [*cmd, "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"foreshock run --replay {replay} failed: {err.strip()[-500:]}")
    return {
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,  # kB on Linux
    }


def run_replay_bench(
    hours: Sequence[float],
    workdir: Path,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Simulate a quiet replay of each length in ``hours`` under ``workdir`` and time its run."""
    runs = []
    for h in sorted(hours):
        if progress is not None:
            progress(f"simulating {h:g} h")
        folder = simulate("none", seed=seed, hours=h).write(workdir / f"replay-{h:g}h")
        with (folder / "metrics.csv").open("rb") as fh:
            rows = sum(1 for _ in fh) - 1
        if progress is not None:
            progress(f"running {h:g} h ({rows:,} rows)")
        runs.append({"hours": h, "rows": rows, **measure_run(folder, workdir / f"home-{h:g}h")})
    first, last = runs[0], runs[-1]
    scale = last["rows"] / first["rows"]
    return {"runs": runs, "ratio": last["cpu_s"] / (scale * first["cpu_s"])}
