"""State as data: versioned, checksummed snapshots of stage state (msgpack, never pickle).

A stage (or a partition driver) hands over its state as plain data: ``None``, booleans,
numbers, strings, bytes, lists, tuples (read back as lists), dicts, sets (read back as
sets) and numpy arrays of a few numeric dtypes. :func:`dump_state` wraps it in an envelope
that says what it is (``kind``), which version of the format wrote it, and the
configuration it was learned under; :func:`load_state` gives it back only when all of that
matches, and raises :class:`~foreshock.schemas.errors.SnapshotError` otherwise.

Nothing in a snapshot is ever executed: decoding builds only the types above, whatever
the bytes say, so a snapshot on a Kafka topic or in a file that someone else could write
is at worst wrong data, refused by its checksum. With a ``key`` (the ``state_key``
setting, the same on every worker) the checksum is a keyed BLAKE2b MAC, so a snapshot
forged without the key is refused too.

Layout: ``b"FSKS"`` · one version byte · 16-byte digest of the body · the msgpack body
``{"kind", "config", "state"}``.

Examples
--------
>>> import numpy as np
>>> blob = dump_state("detect", {"level": np.array([1.0, np.nan]), "seen": {"a"}},
...                   config={"detector": "fleet"})
>>> snap = load_state(blob, "detect", config={"detector": "fleet"})
>>> snap["level"].tolist()[0], snap["seen"]
(1.0, {'a'})
>>> load_state(blob, "correlate")
Traceback (most recent call last):
...
foreshock.schemas.errors.SnapshotError: snapshot of a 'detect' stage, not of a 'correlate' stage
>>> load_state(blob[:-1] + b"x", "detect")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.SnapshotError: snapshot checksum mismatch (tampered, ...)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgpack
import numpy as np

from foreshock.schemas.errors import SnapshotError

__all__ = ["STATE_FORMAT_VERSION", "dump_state", "load_state"]

STATE_FORMAT_VERSION = 1
_MAGIC = b"FSKS"
_DIGEST = 16
_HEADER = len(_MAGIC) + 1 + _DIGEST
_ARRAY, _SET = 1, 2
_DTYPES = frozenset({"<f8", "<f4", "<i8", "<i4", "|b1", "|u1"})


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype.str not in _DTYPES:
            raise TypeError(f"arrays of dtype {arr.dtype} are not state")
        body = msgpack.packb([arr.dtype.str, list(arr.shape), arr.tobytes()])
        return msgpack.ExtType(_ARRAY, body)
    if isinstance(obj, set | frozenset):
        return msgpack.ExtType(_SET, msgpack.packb(sorted(obj, key=repr), default=_encode))
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not state (plain data and numpy arrays only)")


def _decode(code: int, data: bytes) -> Any:
    if code == _ARRAY:
        dtype, shape, raw = msgpack.unpackb(data)
        if dtype not in _DTYPES:
            raise SnapshotError(f"snapshot holds an array of dtype {dtype!r}")
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
    if code == _SET:
        return set(_unpack(data))
    raise SnapshotError(f"snapshot holds an unknown extension type {code}")


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_decode, strict_map_key=False, raw=False)


def _digest(body: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(body, key=key[:64], digest_size=_DIGEST).digest()


def dump_state(
    kind: str, state: Any, config: Mapping[str, Any] | None = None, key: bytes = b""
) -> bytes:
    """Encode ``state`` (plain data) as a snapshot of a ``kind`` stage learned under ``config``.

    Raises
    ------
    TypeError
        If ``state`` holds anything but plain data and numpy arrays.
    """
    body: bytes = msgpack.packb(
        {"kind": kind, "config": dict(config or {}), "state": state},
        default=_encode,
        use_bin_type=True,
    )
    return _MAGIC + bytes([STATE_FORMAT_VERSION]) + _digest(body, key) + body


def load_state(
    blob: bytes, kind: str, config: Mapping[str, Any] | None = None, key: bytes = b""
) -> Any:
    """The state in snapshot ``blob``, if it is a ``kind`` snapshot learned under ``config``.

    ``config=None`` accepts any configuration.

    Raises
    ------
    SnapshotError
        Not a foreshock snapshot, another format version, a checksum that does not match
        (tampered, truncated, another ``key``), another kind or another configuration.
    """
    if len(blob) < _HEADER or not blob.startswith(_MAGIC):
        raise SnapshotError("not a foreshock snapshot (no FSKS header)")
    version = blob[len(_MAGIC)]
    if version != STATE_FORMAT_VERSION:
        raise SnapshotError(
            f"snapshot format version {version}; this foreshock reads version "
            f"{STATE_FORMAT_VERSION}"
        )
    digest, body = blob[len(_MAGIC) + 1 : _HEADER], blob[_HEADER:]
    if not hmac.compare_digest(digest, _digest(body, key)):
        raise SnapshotError(
            "snapshot checksum mismatch (tampered, truncated or written with another state_key)"
        )
    try:
        envelope = _unpack(body)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise SnapshotError(f"snapshot body does not decode: {exc}") from None
    if not isinstance(envelope, dict) or not {"kind", "config", "state"} <= envelope.keys():
        raise SnapshotError("snapshot body is not a foreshock state envelope")
    if envelope["kind"] != kind:
        raise SnapshotError(f"snapshot of a {envelope['kind']!r} stage, not of a {kind!r} stage")
    if config is not None and envelope["config"] != dict(config):
        raise SnapshotError(
            f"snapshot learned under {envelope['config']}, this {kind} stage runs with "
            f"{dict(config)}"
        )
    return envelope["state"]
