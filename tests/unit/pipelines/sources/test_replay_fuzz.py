"""Property-based fuzzing of the replay folder reader: metrics.csv, topology.yaml, truth.json.

Whatever the bytes, :func:`read_replay` either reads the folder, with every data line
accounted for (``samples + dead letters == rows == data lines``), or refuses it as a whole
with a :class:`ReplayError` (metrics.csv unusable) or :class:`SchemaError` (topology or
truth invalid); nothing else escapes, and time stays proportional to the input (a deadline
per example, and a budget per byte on larger inputs).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foreshock.pipelines.sources.replay import Replay, read_replay, read_topology
from foreshock.schemas.errors import ReplayError, SchemaError
from foreshock.schemas.topology import Topology

FUZZ = settings(
    max_examples=100,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)
HEADER = b"timestamp,resource,metric,value\n"
TOPO = "nodes:\n  - {id: db, kind: mysql}\n  - {id: app, kind: service}\n"


@contextmanager
def folder(
    metrics: bytes, topology: bytes | None = None, truth: bytes | None = None
) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "metrics.csv").write_bytes(metrics)
        if topology is not None:
            (d / "topology.yaml").write_bytes(topology)
        if truth is not None:
            (d / "truth.json").write_bytes(truth)
        yield d


def physical_lines(data: bytes) -> int:
    """Lines as the contract counts them: each ends with \\n, or at the end of the file."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_accounted(rep: Replay, data_lines: int) -> None:
    assert rep.rows == data_lines
    assert rep.samples + len(rep.dead_letters) == rep.rows
    lines = [int(d.source.rsplit(":", 1)[1]) for d in rep.dead_letters]
    assert lines == sorted(set(lines)) and all(2 <= n <= data_lines + 1 for n in lines)
    times = [b.timestamp for b in rep.batches]
    assert times == sorted(set(times))
    for b in rep.batches:
        series = list(zip(b.resources, b.metrics, strict=True))
        assert len(series) == len(set(series)) == len(b.values)
    assert sum(len(b) for b in rep.batches) == rep.samples


# --- metrics.csv --------------------------------------------------------------------------

# bytes that matter to a CSV line reader, and some that do not
CSV_BYTES = st.lists(
    st.sampled_from([b",", b'"', b"\n", b"\r", b"\r\n", b"\xff", b"\xef\xbb\xbf", b"\x00"])
    | st.sampled_from([b"0", b"15", b"db", b"app", b"m", b"1.5", b"nan", b"2026-01-05T00:00:00Z"])
    | st.binary(max_size=8),
    max_size=120,
).map(b"".join)


@FUZZ
@given(body=CSV_BYTES, with_header=st.booleans(), with_topology=st.booleans())
def test_any_bytes_in_metrics_csv_are_read_with_every_line_accounted_for(
    body: bytes, with_header: bool, with_topology: bool
) -> None:
    data = (HEADER + body) if with_header else body
    topo = TOPO.encode() if with_topology else None
    with folder(data, topo) as d:
        try:
            rep = read_replay(d)
        except ReplayError:
            assert not with_header  # a good header is never refused
            return
    check_accounted(rep, physical_lines(data) - 1)


GOOD_T = st.integers(0, 5).map(lambda k: 15 * k)
RESOURCES = st.sampled_from(["db", "app"])
METRICS = st.sampled_from(["m1", "m2"])
VALUES = st.floats(allow_nan=False, allow_infinity=False, width=32)


@st.composite
def good_row(draw: st.DrawFn) -> tuple[bytes, tuple[float, str, str, float]]:
    t, r, m, v = draw(GOOD_T), draw(RESOURCES), draw(METRICS), draw(VALUES)
    stamp = draw(st.sampled_from([str(t), f"{t}.0", f"2026-01-05T00:{t // 60:02d}:{t % 60:02d}Z"]))
    if stamp.startswith("2026"):
        t += 1767571200
    fields = [stamp, r, m, repr(v)]
    if draw(st.booleans()):  # quoted fields are fine as long as they close on the line
        fields = [f'"{x}"' for x in fields]
    line = ",".join(fields).encode()
    return line, (float(t), r, m, float(repr(v)))


BAD_ROWS = st.sampled_from(
    [
        b"15,db,m1,\xff1",  # not UTF-8
        b'15,"db,m1,1',  # a quote that does not close on its line
        b"15,db,m1",  # missing field
        b"15,ghost,m1,1",  # not in the topology
        b"15,db,m1,abc",  # non-numeric
        b"15,db,m1,inf",  # non-finite
        b"yesterday,db,m1,1",  # bad timestamp
        b"15,,m1,1",  # empty resource
        b"",  # empty line
    ]
)


@FUZZ
@given(
    rows=st.lists(
        st.one_of(good_row(), BAD_ROWS.map(lambda b: (b, None))),
        max_size=60,
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
)
def test_good_rows_are_used_once_and_bad_rows_dead_lettered_whatever_their_order(
    rows: list[tuple[bytes, tuple[float, str, str, float] | None]], crlf: bool, bom: bool
) -> None:
    end = b"\r\n" if crlf else b"\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + HEADER.replace(b"\n", end)
    data += b"".join(line + end for line, _ in rows)
    expected: dict[tuple[float, str, str], float] = {}
    for _, sample in rows:
        if sample is not None:
            expected.setdefault(sample[:3], sample[3])  # the first of duplicates is kept
    with folder(data, TOPO.encode()) as d:
        rep = read_replay(d)
    check_accounted(rep, len(rows))
    got = {
        (b.timestamp, r, m): v
        for b in rep.batches
        for r, m, v in zip(b.resources, b.metrics, b.values, strict=True)
    }
    assert got == expected
    assert len(rep.dead_letters) == len(rows) - len(expected)


# --- topology.yaml ------------------------------------------------------------------------

YAML_BYTES = st.lists(
    st.sampled_from(
        [b"nodes:", b"edges:", b"\n", b"  - ", b"{id: a, kind: redis}", b"&x ", b"*x", b"[", b"]"]
    )
    | st.sampled_from(
        [b"{", b"}", b": ", b"id", b"kind", b"mysql", b"\t", b"\xff", b"\x00", b"!!python"]
    )
    | st.binary(max_size=6),
    max_size=60,
).map(b"".join)

PLAIN = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
YAML_DATA = st.recursive(
    PLAIN,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
TOPOLOGY_DATA = st.fixed_dictionaries(
    {
        "nodes": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.sampled_from(["db", "app", "x", ""]),
                    "kind": st.sampled_from(["mysql", "redis", "other", "disk"]),
                }
            ),
            max_size=4,
        )
    },
    optional={"edges": YAML_DATA, "extra": YAML_DATA},
)


@FUZZ
@given(topology=YAML_BYTES | YAML_DATA.map(lambda d: yaml.safe_dump(d).encode()))
def test_any_topology_is_read_or_refused_with_a_schema_error(topology: bytes) -> None:
    with folder(HEADER + b"0,db,m,1\n", topology) as d:
        try:
            rep = read_replay(d)
        except SchemaError:
            return
    assert isinstance(rep.topology, Topology)
    ids = [n.id for n in rep.topology.nodes]
    assert len(ids) == len(set(ids))
    check_accounted(rep, 1)


@FUZZ
@given(data=TOPOLOGY_DATA)
def test_topologies_shaped_almost_right_are_read_or_refused_clearly(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "topology.yaml"
        f.write_text(yaml.safe_dump(data))
        try:
            topo = read_topology(f)
        except SchemaError as exc:
            assert str(exc).startswith(f"{f}: invalid topology: ")
            assert "\n" not in str(exc)
            return
    ids = [n["id"] for n in data["nodes"]]
    assert [n.id for n in topo.nodes] == ids and len(set(ids)) == len(ids)


# --- truth.json ---------------------------------------------------------------------------

JSON_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
TRUTH_DATA = st.fixed_dictionaries(
    {},
    optional={
        "fault": JSON_DATA | st.sampled_from(["none", "redis_down"]),
        "root_cause": JSON_DATA
        | st.fixed_dictionaries(
            {"resource": st.text(max_size=4), "failure_mode": st.text(max_size=4)}
        ),
        "start": JSON_DATA,
        "exhaustion_at": JSON_DATA,
        "capacity_series": JSON_DATA,
    },
)


@FUZZ
@given(truth=st.binary(max_size=200) | JSON_DATA.map(orjson.dumps) | TRUTH_DATA.map(orjson.dumps))
def test_any_truth_is_read_as_the_schema_says_or_refused_with_a_schema_error(
    truth: bytes,
) -> None:
    with folder(HEADER + b"0,db,m,1\n", None, truth) as d:
        try:
            rep = read_replay(d)
        except SchemaError as exc:
            assert "truth.json" in str(exc)
            return
    t = rep.truth
    assert isinstance(t, dict) and isinstance(t["fault"], str) and t["fault"]
    if t["fault"] != "none":
        rc = t["root_cause"]
        assert isinstance(rc["resource"], str) and isinstance(rc["failure_mode"], str)
        assert isinstance(t["start"], float)


# --- time per byte ------------------------------------------------------------------------

PATHOLOGICAL = {
    "a quote on every line": b'0,"db,m,1\n' * 20_000,
    "quotes and commas, no newline": b'",' * 100_000,
    "no newline at all": b"9" * 200_000,
    "not UTF-8": b"\xff\xfe,\x80\n" * 40_000,
    "many columns": (b"0,db,m,1" + b",x" * 30_000 + b"\n") * 3,
    "carriage returns": b"0,db\rm,1\r" * 20_000,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_time_stays_proportional_to_the_input(name: str) -> None:
    body = PATHOLOGICAL[name]
    with folder(HEADER + body, TOPO.encode()) as d:
        started = time.perf_counter()
        rep = read_replay(d)
        elapsed = time.perf_counter() - started
    check_accounted(rep, physical_lines(body))
    assert elapsed / len(body) < 10e-6, f"{elapsed:.2f} s for {len(body)} bytes"
