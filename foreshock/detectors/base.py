"""The detector contracts.

Two tiers share one idea: a detector learns online and returns a raw score where higher
means more anomalous. Calibration (raw → [0, 1]) and decision (score → yes/no) are
separate steps (see :mod:`foreshock.detectors.calibration` and :mod:`foreshock.detectors.decision`).

- :class:`Detector` is River's one-observation contract (``learn_one``/``score_one`` on a
  ``dict[str, float]``); every detector in the registry implements it, so the conformance
  suite in ``tests/conformance`` runs on all of them.
- :class:`BatchDetector` is the fleet tier's contract: one call updates many series at
  once from numpy arrays of series ids and values.

Examples
--------
>>> from foreshock.detectors.fleet import RobustBaseline
>>> isinstance(RobustBaseline(), Detector)
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@runtime_checkable
class Detector(Protocol):
    """One series (or one feature vector) at a time, as in River."""

    def learn_one(self, x: dict[str, float]) -> None: ...

    def score_one(self, x: dict[str, float]) -> float: ...


@runtime_checkable
class BatchDetector(Protocol):
    """Many series per call; state lives in arrays indexed by series id."""

    def update(self, ids: IntArray, values: FloatArray, timestamp: float) -> FloatArray:
        """Score ``values`` of series ``ids`` against their baselines, then learn them.

        Returns the signed raw score of each value (positive: above baseline).
        """
        ...

    def state_bytes(self) -> int:
        """Bytes of learned state currently held (for the ≤ 1 KB/series budget)."""
        ...
