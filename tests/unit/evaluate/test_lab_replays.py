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


def test_a_replay_too_short_to_judge_says_so(tmp_path: Path) -> None:
    # the redis_down recording cut to its last 5 minutes before the fault: 60 samples of
    # a 5-second scrape, under the 90 of probation, so the fault cannot page; the user is
    # told why (and what to do), instead of reading a silent miss
    import csv
    import gzip
    import shutil

    src, dst = DATA / "redis_down", tmp_path / "short" / "redis_down"
    dst.mkdir(parents=True)
    truth = json.loads((src / "truth.json").read_text())
    with gzip.open(src / "metrics.csv.gz", "rt", newline="") as fh:
        rows = list(csv.reader(fh))
    with (dst / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(rows[0])
        w.writerows(r for r in rows[1:] if float(r[0]) >= truth["start"] - 300)
    for name in ("truth.json", "topology.yaml"):
        shutil.copy(src / name, dst / name)
    out = CliRunner().invoke(app, ["eval", "replays", str(dst.parent), "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert res["faults"][0]["miss"] == "too_young"
    assert res["replays"][0]["short"] and res["replays"][0]["history_samples"] == 60
    text = CliRunner().invoke(app, ["eval", "replays", str(dst.parent)], env={"COLUMNS": "200"})
    assert "60 samples before the first fault" in text.output
    assert "Record a longer window" in text.output
