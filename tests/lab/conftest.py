"""Fixtures of the lab tests: the real-middleware lab must be up (`make lab-up`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from foreshock_lab import LabConfig
from foreshock_lab.faults import revert_all, targets, wait_targets_up


@pytest.fixture(scope="session")
def lab() -> Iterator[LabConfig]:
    """The running lab, every Prometheus target up and no fault left from an earlier run."""
    config = LabConfig()
    try:
        targets(config.prometheus_url)  # no Prometheus at all: say so at once
        wait_targets_up(config.prometheus_url, timeout=30)  # a lab just started: wait
        revert_all(config)  # a run that was interrupted may have left a fault in place
    except Exception as exc:  # any failure to answer means the same to the developer
        message = (
            f"the lab is not up ({config.prometheus_url}, lab dir {config.lab_dir}): "
            f"run `make lab-up` ({exc})"
        )
        if os.environ.get("FORESHOCK_SKIP_LAB") == "1":
            pytest.skip(message)
        pytest.fail(message)
    yield config
    revert_all(config)
