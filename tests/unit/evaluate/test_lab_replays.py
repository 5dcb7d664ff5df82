"""The lab's real faults, recorded from its Prometheus, scored offline (issue 11, item 4).

``tests/data/lab-replays`` holds one recording per lab fault, made by
``python -m foreshock_lab.record`` (infra/lab): ~15 minutes of the lab's normal traffic,
then the fault for 150 s, as ``foreshock record`` writes them, with a ``truth.json``; the
metrics are gzipped to keep the repository small (a replay folder may hold
``metrics.csv.gz``). ``foreshock eval replays`` must name
each fault's root cause and failure mode, and open no incident before the fault.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from foreshock.cli.app import app

DATA = Path(__file__).resolve().parents[2] / "data" / "lab-replays"


def test_every_recorded_lab_fault_is_named_with_its_failure_mode(tmp_path: Path) -> None:
    # the folders as shipped, metrics gzipped: read as they are
    names = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    assert len(names) >= 3, names
    out = CliRunner().invoke(
        app, ["eval", "replays", str(DATA), "--json", "--keep", str(tmp_path / "homes")]
    )
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    faults = {r["replay"]: r for r in res["faults"]}
    assert sorted(faults) == names
    wrong = {
        n: (r["top"], r["mode_ok"])
        for n, r in faults.items()
        if not (r["rank"] == 1 and r["mode_ok"])
    }
    assert wrong == {}, wrong
    assert res["false_incidents"] == 0, res["replays"]
