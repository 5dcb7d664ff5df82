"""How the fleet is split: a resource's partition, the same in every process and runtime.

The distributed runtime keys metrics by resource over ``kafka_partitions`` partitions; the
detect stage's calibration is shared by the resources of one such partition in *every*
runtime (see :class:`~foreshock.pipelines.stages.detect.DetectStage`), so the embedded,
live and distributed runtimes compute the same scores.

Examples
--------
>>> partition_of("redis-cache", 4) == partition_of("redis-cache", 4)
True
>>> sorted({partition_of(f"node-{i}", 4) for i in range(50)})
[0, 1, 2, 3]
"""

from __future__ import annotations

import hashlib

__all__ = ["partition_of"]


def partition_of(key: str, partitions: int) -> int:
    """Stable partition of a key (the same in every process, unlike ``hash``)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions
