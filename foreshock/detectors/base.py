"""The detector contracts.

A detector learns online and returns a raw score where a larger magnitude means more
anomalous. Calibration (raw → [0, 1]) and decision (score → yes/no) are separate steps
(:mod:`foreshock.detectors.calibration`, :mod:`foreshock.detectors.decision`).

- :class:`BatchDetector` is *the* detector contract: what the detect stage calls, once per
  scrape, for every series at once (numpy arrays of series ids and values). Every name in
  :mod:`foreshock.detectors.registry` builds one, ``foreshock run --detector NAME`` runs it,
  and the conformance suite (``tests/conformance``) checks each against this contract.
- :class:`Detector` is River's one-observation contract (``learn_one``/``score_one`` on a
  ``dict[str, float]``): the building block of the River tier, which
  :class:`~foreshock.detectors.per_series.PerSeries` lifts to a batch detector (one model
  per series).

Examples
--------
>>> from foreshock.detectors.fleet import RobustBaseline
>>> isinstance(RobustBaseline(), BatchDetector)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class Detector(Protocol):
    """One series (or one feature vector) at a time, as in River."""

    def learn_one(self, x: dict[str, float]) -> None: ...

    def score_one(self, x: dict[str, float]) -> float: ...


@runtime_checkable
class BatchDetector(Protocol):
    """Many series per call; state lives in arrays (or per-series models) by series id.

    Series ids are small non-negative integers handed out by the caller; a new id may
    appear in any call. ``name`` is the registry name (anomalies carry it as their
    ``detector``); two class attributes tell the stage how to read the scores:

    - ``zscore``: raw scores are (robust) z-scores, so calibration may cap them at the
      normal distribution's tail and a per-series noise ``floor`` applies;
    - ``stores_state``: :meth:`state_dict` holds the learned state (a restored detector
      scores as the original); when false, a restored detector relearns from the stream.
    """

    name: str
    zscore: bool
    stores_state: bool

    def update(
        self,
        ids: IntArray,
        values: FloatArray,
        timestamp: float,
        floor: FloatArray | None = None,
    ) -> FloatArray:
        """Score ``values`` of series ``ids`` against what was learned, then learn them.

        Returns one signed raw score per value (positive: above the baseline; 0 while a
        series warms up, and for a value that is not finite, which is not learned).
        ``floor`` optionally raises the scale floor per value (z-score detectors).
        """
        ...

    def is_warm(self, ids: IntArray) -> BoolArray:
        """Which of ``ids`` have seen enough samples to be scored."""
        ...

    def forget(self, ids: IntArray) -> None:
        """Drop what was learned of series ``ids``: they warm up again (after a long gap)."""
        ...

    def baseline(self, ids: IntArray, timestamp: float) -> FloatArray:
        """The value expected of series ``ids`` at ``timestamp`` (evidence in anomalies)."""
        ...

    def level_of(self, ids: IntArray) -> FloatArray:
        """Typical level of series ``ids`` without seasonality (for noise floors)."""
        ...

    def state_bytes(self) -> int:
        """Bytes of learned state currently held (for the ≤ 1 KB/series budget)."""
        ...

    def params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor (plain data)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Learned state as plain data and numpy arrays (see :mod:`foreshock.schemas.state`)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the learned state by one from :meth:`state_dict`."""
        ...
