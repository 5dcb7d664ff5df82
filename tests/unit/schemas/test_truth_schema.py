"""truth.json has a schema: what the simulator writes, and what scoring reads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from foreshock.schemas.errors import SchemaError
from foreshock.schemas.truth import MAX_TRUTH_BYTES, Truth, read_truth
from foreshock.sim.simulator import fault_names, simulate


@pytest.mark.parametrize("fault", ["none", *fault_names()])
def test_what_the_simulator_writes_is_valid_and_read_back_unchanged(
    tmp_path: Path, fault: str
) -> None:
    sim = simulate(fault, seed=1, hours=3)
    f = tmp_path / "truth.json"
    f.write_bytes(orjson.dumps(sim.truth))
    assert read_truth(f) == orjson.loads(orjson.dumps(sim.truth))
    t = Truth.model_validate(sim.truth)
    if fault != "none":
        assert t.root_cause is not None and t.start is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"fault": "x", "root_cause": "db", "start": 1}', "root_cause: should be a mapping"),
        (b'{"root_cause": {"resource": "a", "failure_mode": "b"}}', "fault: Field required"),
        (b'{"fault": "several"}', "needs a non-empty"),
        (b'{"fault": "several", "faults": [{"fault": "x", "start": 1}]}', "root_cause"),
        (b'{"fault": "x", "root_cause": {"resource": "a", "failure_mode": "b"}}', "needs start"),
        (b'{"fault": "none", "start": "soon"}', "start: Input should be a valid number"),
        (b'{"fault": "none", "start": 1e999}', "invalid JSON: number is infinity"),
        (b'{"fault": "none", "exhaustion_at": 5}', "go together"),
        (
            b'{"fault": "x", "start": 1, "root_cause": {"resource": "a", "failure_mode": "b",'
            b' "severity": 3}}',
            "root_cause.severity: Extra inputs are not permitted",
        ),
        (b'"redis_down"', "should be a mapping"),
        (b"{", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_a_wrong_shape_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "truth.json"
    f.write_bytes(content)
    with pytest.raises(SchemaError, match=message) as info:
        read_truth(f)
    assert str(info.value).startswith(str(f))


def test_a_huge_truth_file_is_refused_unread(tmp_path: Path) -> None:
    f = tmp_path / "truth.json"
    f.write_bytes(b'{"fault": "none", "pad": "' + b"x" * MAX_TRUTH_BYTES + b'"}')
    with pytest.raises(SchemaError, match="larger than"):
        read_truth(f)


def test_times_must_be_finite() -> None:
    with pytest.raises(ValueError, match="start must be a finite number"):
        Truth.model_validate({"fault": "none", "start": float("nan")})


def test_a_recorded_day_of_several_faults_without_failure_modes_is_accepted(
    tmp_path: Path,
) -> None:
    f = tmp_path / "truth.json"
    f.write_bytes(
        b'{"fault": "several", "normal": [[0, 100]], "faults": ['
        b'{"fault": "cpu", "start": 200, "root_cause": {"resource": "cart"}},'
        b'{"fault": "delay", "start": 700, "end": 900, "root_cause": {"resource": "db"}}]}'
    )
    truth = read_truth(f)
    assert [x["root_cause"]["resource"] for x in truth["faults"]] == ["cart", "db"]
    assert truth["normal"] == [[0.0, 100.0]]
