"""``foreshock logs templates`` and ``foreshock eval loghub`` as a user runs them."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from foreshock.cli.app import app
from foreshock.evaluate.loghub import write_system

runner = CliRunner()


def cli(*args: str) -> str:
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _log(path: Path) -> Path:
    """A MySQL-style error log: 60 aborted connections, 30 slow queries, 10 lock waits."""
    rng = random.Random(0)
    events = ["abort"] * 60 + ["slow"] * 30 + ["lock"] * 10
    rng.shuffle(events)
    rows = []
    for i, e in enumerate(events):
        ts = f"2024-05-01 10:{i // 60:02d}:{i % 60:02d},{rng.randint(0, 999):03d}"
        if e == "abort":
            msg = (
                f"Aborted connection {rng.randint(1, 9999)} to db: 'shop' user: 'app' "
                f"host: '10.0.0.{rng.randint(1, 254)}' (Got timeout reading communication packets)"
            )
            rows.append(f"{ts} WARN [conn-{rng.randint(1, 50)}] mysqld: {msg}")
        elif e == "slow":
            rows.append(f"{ts} INFO [main] slowlog: Query took {rng.randint(2, 90)}s rows={i}")
        else:
            table = f"t{rng.randint(1, 9)}"
            rows.append(f"{ts} ERROR [innodb] lock: Lock wait timeout exceeded on table {table}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_templates_json_lists_each_event_once_with_its_count(tmp_path: Path) -> None:
    out = json.loads(cli("logs", "templates", "--input", str(_log(tmp_path / "e.log")), "--json"))
    assert out["lines"] == 100 and out["n_templates"] == 3
    assert [t["count"] for t in out["templates"]] == [60, 30, 10]
    top = out["templates"][0]["template"]
    assert top.startswith("Aborted connection <NUM> to db:") and "10.0.0" not in top
    assert "2024-05-01" not in top and "WARN" not in top  # the header is not in the template


def test_templates_top_and_table(tmp_path: Path) -> None:
    log = _log(tmp_path / "e.log")
    out = json.loads(cli("logs", "templates", "--input", str(log), "--top", "1", "--json"))
    assert len(out["templates"]) == 1 and out["n_templates"] == 3
    text = cli("logs", "templates", "--input", str(log))
    assert "3 templates" in text and "Lock wait timeout" in text and "60" in text


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "foreshock.cli.app", "logs", "templates", "--input", "nope.log"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert res.returncode == 1
    assert "no log file at nope.log" in res.stderr and "Traceback" not in res.stderr


def test_eval_loghub_json(tmp_path: Path) -> None:
    lines = [(f"Served {i} requests from 10.0.0.{i % 200 + 1}", "E1") for i in range(30)]
    lines += [(f"Cache miss ratio {i / 100:.2f} above limit", "E2") for i in range(10)]
    write_system(tmp_path, "Toy", lines)
    write_system(tmp_path, "Other", lines[:5])
    out = json.loads(cli("eval", "loghub", "--data", str(tmp_path), "--systems", "Toy", "--json"))
    assert list(out["per_system"]) == ["Toy"]
    assert out["mean_ga"] == 1.0 and out["lines_per_s"] > 0
    table = cli("eval", "loghub", "--data", str(tmp_path))
    assert "Toy" in table and "Other" in table and "mean" in table
