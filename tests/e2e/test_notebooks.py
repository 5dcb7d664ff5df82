"""Every notebook in ``notebooks/`` runs top to bottom on a fresh machine and shows its outputs.

Each notebook is executed with nbclient on the venv's ``python3`` kernel, in an empty
working folder with ``FORESHOCK_HOME`` in a temporary path and the SQLite store, so it
starts from an empty store, as a capacity planner's first run does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))

#: What each notebook must show beyond running cleanly: output MIME types and texts.
EXPECTED: dict[str, dict[str, Any]] = {
    "capacity_planning.ipynb": {
        "images": 2,  # the fleet runway and the soonest series
        "texts": ["DEMO DATA", "exhausts in", "| resource | metric |", "limit"],
        "files": ["reports.sqlite", "plots/fleet_runway.png", "plots/db-1.png"],
    },
}


def execute(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FORESHOCK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FORESHOCK_STORE_BACKEND", "sqlite")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("FORESHOCK_CONFIG", raising=False)
    # The kernel must import the repo's packages whatever the working folder.
    repo = str(NOTEBOOKS.parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    )
    work = tmp_path / "work"
    work.mkdir()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()
    return notebook


def outputs(notebook: Any) -> list[Any]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def test_there_are_notebooks() -> None:
    assert ALL, f"no notebooks in {NOTEBOOKS}"
    assert {p.name for p in ALL} >= set(EXPECTED)


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_notebook_runs_and_shows_its_outputs(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = execute(path, tmp_path, monkeypatch)
    outs = outputs(notebook)
    errors = [o for o in outs if o.output_type == "error"]
    assert not errors, "\n".join(f"{e.ename}: {e.evalue}" for e in errors)
    expected = EXPECTED.get(path.name, {})
    images = [o for o in outs if "image/png" in o.get("data", {})]
    assert len(images) >= expected.get("images", 0)
    text = "\n".join(
        o.get("text", "")
        if o.output_type == "stream"
        else o.get("data", {}).get("text/markdown", "") + o.get("data", {}).get("text/plain", "")
        for o in outs
    )
    for needle in expected.get("texts", []):
        assert needle in text, f"{path.name} should show {needle!r}"
    assert (tmp_path / "home").is_dir()  # the notebook used FORESHOCK_HOME, not the repo
    assert not (tmp_path / "work" / ".foreshock").exists()
    for name in expected.get("files", []):
        assert (tmp_path / "home" / name).is_file(), f"{path.name} should write {name}"
