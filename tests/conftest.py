"""Shared fixtures: small replay folders the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreshock.sim.simulator import simulate


@pytest.fixture(scope="session")
def lock_replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-hour simulated replay with MySQL lock contention (seed 3)."""
    out = tmp_path_factory.mktemp("replay") / "lock"
    return simulate("mysql_lock_contention", seed=3, hours=4).write(out)
