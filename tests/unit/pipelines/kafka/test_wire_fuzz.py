"""Whatever a Kafka topic holds, decoding it raises nothing but SchemaError (issue 10)."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from foreshock.pipelines.kafka.wire import decode, encode
from foreshock.schemas.errors import SchemaError
from foreshock.schemas.metrics import MetricBatch

KINDS = [
    "batch",
    "log",
    "anomaly",
    "forecast",
    "tick",
    "end",
    "incident",
    "report",
    "alert",
    "done",
    "alien",
    3,
    None,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _decode_within(raw: bytes, seconds: float = 0.5) -> None:
    started = time.perf_counter()
    try:
        msg = decode(raw)
    except SchemaError:
        pass
    else:
        assert msg.kind in {
            "batch",
            "log",
            "anomaly",
            "forecast",
            "tick",
            "end",
            "incident",
            "report",
            "alert",
            "done",
        }
    assert time.perf_counter() - started < seconds


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused_with_a_reason(raw: bytes) -> None:
    _decode_within(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS), JSON, JSON, JSON)
def test_messages_of_any_shape_are_decoded_or_refused(
    kind: object, r: object, src: object, tss: object
) -> None:
    body = {"t": kind, "run": "x", "r": r, "src": src, "ts": src, "tss": tss}
    _decode_within(json.dumps(body).encode())  # json: big ints and NaN tokens too


def test_a_valid_message_round_trips() -> None:
    batch = MetricBatch(timestamp=1.0, resources=["a"], metrics=["m"], values=[2.0])
    assert decode(encode("batch", batch, "r")).record == batch


def test_a_missing_value_crosses_the_wire_and_the_rest_of_its_batch_is_kept() -> None:
    # JSON has no NaN: the encoder writes null, and the batch was refused whole on decode
    batch = MetricBatch(
        timestamp=1.0, resources=["a", "b"], metrics=["m", "m"], values=[float("nan"), 2.0]
    )
    raw = encode("batch", batch, "r")
    assert b"null" in raw
    out = decode(raw).record
    assert isinstance(out, MetricBatch)
    assert out.resources == ["a", "b"] and out.values[1] == 2.0
    assert out.values[0] != out.values[0]  # NaN: a missing sample, skipped by every stage
