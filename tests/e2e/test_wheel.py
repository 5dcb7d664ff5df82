"""What ``pip install foreshock`` puts on a machine: one import name, no lab code, its data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_one_import_name_and_no_lab_code(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("foreshock-*.whl")
    with zipfile.ZipFile(wheel) as z:
        files = z.namelist()
        top = next(f for f in files if f.endswith(".dist-info/top_level.txt"))
        assert z.read(top).decode().split() == ["foreshock"]
    code = [f for f in files if not f.startswith("foreshock-")]
    assert code and all(f.startswith("foreshock/") for f in code), code[:5]
    lab = ("foreshock_lab", "loadgen", "psycopg", "pymysql")  # the lab's load and faults
    assert not [f for f in code if any(word in f for word in lab)]
    assert not [f for f in code if "import redis" in z_text(wheel, f)]
    # the data the code reads at run time ships with it
    for needed in (
        "foreshock/packs/redis/pack.yaml",
        "foreshock/sim/fleet.yaml",
        "foreshock/py.typed",
        "foreshock/cli/app.py",
    ):
        assert needed in files


def z_text(wheel: Path, name: str) -> str:
    if not name.endswith(".py"):
        return ""
    with zipfile.ZipFile(wheel) as z:
        return z.read(name).decode()
