"""Shared fixtures of the capacity tests: the demo fleet's forecasts and series."""

from __future__ import annotations

import numpy as np
import pytest

from foreshock.capacity.demo import demo_forecasts
from foreshock.schemas.forecast import Forecast


@pytest.fixture(scope="module")
def demo() -> tuple[list[Forecast], dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]]:
    return demo_forecasts(seed=1)
