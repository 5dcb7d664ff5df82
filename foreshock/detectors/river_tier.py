"""River tier: River's online anomaly detectors behind the detector contract.

The fleet tier (:mod:`foreshock.detectors.fleet`) watches every series cheaply; the River tier runs
richer, per-model detectors on the few series (or feature vectors) that deserve them.
Both accept the same observation, a ``dict[str, float]``: the key ``"t"`` (timestamp) is
ignored here, non-finite or non-numeric values are skipped (seen as missing), keys
appear and disappear freely, and ``x`` is never modified.

- :class:`HalfSpaceTreesDetector`: ``MinMaxScaler() | HalfSpaceTrees()``, River's
  streaming isolation forest. Scores lie in [0, 1] and are 0 during the first window.
- :class:`LODADetector`: River's LODA (random projections + streaming histograms).

Models are built lazily, on the first observation with a usable value. The detect stage
runs them through the batch contract as :class:`RiverHST` and :class:`RiverLODA` (one model
per series, :class:`~foreshock.detectors.per_series.PerSeries`): registry names ``hst`` and
``loda``, ``foreshock run --detector hst``.

Examples
--------
>>> det = HalfSpaceTreesDetector(window_size=50)
>>> for i in range(200):
...     det.learn_one({"value": 10.0 + (i % 7) * 0.1, "t": 60.0 * i})
>>> det.score_one({"value": 100.0}) > det.score_one({"value": 10.3})
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from river import anomaly, base, compose, preprocessing

from foreshock.detectors.per_series import PerSeries

__all__ = ["HalfSpaceTreesDetector", "LODADetector", "RiverHST", "RiverLODA"]

_TIME_KEY = "t"


def _features(x: dict[str, float]) -> dict[Hashable, float]:
    """A new dict of the usable features of ``x``: no ``"t"``, finite numbers only."""
    out: dict[Hashable, float] = {}
    for key, raw in x.items():
        if key == _TIME_KEY:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            out[key] = value
    return out


class HalfSpaceTreesDetector:
    """Half-Space Trees on min-max scaled features (River tier).

    ``river.preprocessing.MinMaxScaler() | river.anomaly.HalfSpaceTrees(...)``: the scaler
    maps each feature into [0, 1] as HST expects; values beyond the range seen so far
    fall outside it and land in sparsely populated leaves, hence high scores.

    Parameters
    ----------
    n_trees
        Number of trees.
    height
        Height of each tree.
    window_size
        Observations per mass window; scores are 0 until the first window is complete.
    seed
        Random seed of the trees (River's default is ``None``; a fixed seed here makes
        two detectors built alike score alike).

    Notes
    -----
    Two properties of this River pipeline worth knowing when reading its scores:

    - Tree splits are drawn away from the edges of [0, 1] (River pads by 15%), so a value
      beyond the largest seen so far scores like the top of the seen range, not higher.
    - The scaler widens its range at once when an outlier is learned, while the trees
      keep the masses of the previous window: until ``window_size`` more observations
      are learned, ordinary values may score high.

    Examples
    --------
    >>> import random
    >>> det = HalfSpaceTreesDetector(window_size=100)
    >>> det.n_trees, det.height, det.window_size, det.seed
    (10, 8, 100, 42)
    >>> rng = random.Random(0)
    >>> for i in range(300):
    ...     det.learn_one({"value": rng.gauss(50.0, 2.0), "t": 15.0 * i})
    >>> normal = det.score_one({"value": 50.0})
    >>> spike = det.score_one({"value": 60.0})
    >>> bool(0.0 <= normal < spike <= 1.0)
    True
    """

    name = "hst"

    def __init__(
        self,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        seed: int | None = 42,
    ) -> None:
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.seed = seed
        self._model: compose.Pipeline | None = None
        self._seen: set[Hashable] = set()

    def _build(self) -> compose.Pipeline:
        return compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(
                n_trees=self.n_trees,
                height=self.height,
                window_size=self.window_size,
                seed=self.seed,
            ),
        )

    def learn_one(self, x: dict[str, float]) -> None:
        """Learn one observation; observations with no usable value are ignored."""
        features = _features(x)
        if not features:
            return
        if self._model is None:
            self._model = self._build()
        self._seen.update(features)
        self._model.learn_one(features)

    def score_one(self, x: dict[str, float]) -> float:
        """Anomaly score in [0, 1] (higher: more anomalous); 0 while nothing is known."""
        if self._model is None:
            return 0.0
        # features never learned have no scale yet: treat them as missing
        features = {k: v for k, v in _features(x).items() if k in self._seen}
        if not features:
            return 0.0
        return float(self._model.score_one(features))


class LODADetector:
    """LODA, River's lightweight online detector of anomalies (River tier).

    The reported score is ``exp`` of River's score (the mean negative log-density of the
    projections), i.e. the inverse geometric-mean density: the same ranking, but never
    negative, as the :class:`~foreshock.detectors.base.Detector` contract asks.

    Parameters
    ----------
    n_bins
        Maximum number of bins of each projection's streaming histogram.
    n_random_cuts
        Number of random projections (ensemble size).
    seed
        Random seed of the projections.

    Examples
    --------
    >>> import math
    >>> det = LODADetector()
    >>> for i in range(300):
    ...     det.learn_one({"value": 50.0 + 5.0 * math.sin(i / 10.0), "t": 15.0 * i})
    >>> bool(det.score_one({"value": 90.0}) > det.score_one({"value": 52.0}) >= 0.0)
    True
    """

    def __init__(self, n_bins: int = 10, n_random_cuts: int = 100, seed: int | None = 42) -> None:
        self.n_bins = n_bins
        self.n_random_cuts = n_random_cuts
        self.seed = seed
        # typed as River's base class: LODA's own methods carry no annotations
        self._model: base.AnomalyDetector | None = None

    def learn_one(self, x: dict[str, float]) -> None:
        """Learn one observation; observations with no usable value are ignored."""
        features = _features(x)
        if not features:
            return
        if self._model is None:
            self._model = anomaly.LODA(
                n_bins=self.n_bins, n_random_cuts=self.n_random_cuts, seed=self.seed
            )
        self._model.learn_one(features)

    def score_one(self, x: dict[str, float]) -> float:
        """Inverse geometric-mean density (> 0, higher: more anomalous); 0 while untrained."""
        if self._model is None:
            return 0.0
        features = _features(x)
        if not features:
            return 0.0
        return math.exp(float(self._model.score_one(features)))


class RiverHST(PerSeries):
    """Batch detector: one :class:`HalfSpaceTreesDetector` per series (registry name ``hst``).

    Examples
    --------
    >>> params = RiverHST(window_size=50).params()
    >>> params["warmup"], params["window_size"], params["n_trees"]
    (50, 50, 10)
    """

    name = "hst"

    def __init__(
        self,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        seed: int | None = 42,
        warmup: int | None = None,
        score_warmup: int = 30,
        level_halflife: float = 40.0,
        score_halflife: float = 400.0,
        clip: float = 4.0,
    ) -> None:
        super().__init__(
            HalfSpaceTreesDetector,
            warmup=window_size if warmup is None else warmup,  # HST scores 0 for a window
            score_warmup=score_warmup,
            level_halflife=level_halflife,
            score_halflife=score_halflife,
            clip=clip,
            n_trees=n_trees,
            height=height,
            window_size=window_size,
            seed=seed,
        )


class RiverLODA(PerSeries):
    """Batch detector: one :class:`LODADetector` per series (registry name ``loda``).

    Examples
    --------
    >>> RiverLODA().params()["n_random_cuts"]
    100
    """

    name = "loda"

    def __init__(
        self,
        n_bins: int = 10,
        n_random_cuts: int = 100,
        seed: int | None = 42,
        warmup: int = 30,
        score_warmup: int = 30,
        level_halflife: float = 40.0,
        score_halflife: float = 400.0,
        clip: float = 4.0,
    ) -> None:
        super().__init__(
            LODADetector,
            warmup=warmup,
            score_warmup=score_warmup,
            level_halflife=level_halflife,
            score_halflife=score_halflife,
            clip=clip,
            n_bins=n_bins,
            n_random_cuts=n_random_cuts,
            seed=seed,
        )
