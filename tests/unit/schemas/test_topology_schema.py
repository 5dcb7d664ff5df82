"""A node id names one resource: a topology listing an id twice is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from foreshock.pipelines.sources.replay import read_topology
from foreshock.schemas.errors import SchemaError
from foreshock.schemas.topology import Topology
from foreshock.sim.simulator import load_topology


def test_one_id_with_two_kinds_is_refused_naming_the_id_and_both_kinds(tmp_path: Path) -> None:
    f = tmp_path / "topology.yaml"
    f.write_text(
        "nodes:\n  - {id: cache, kind: redis}\n  - {id: web, kind: service}\n"
        "  - {id: cache, kind: mysql}\n"
    )
    with pytest.raises(SchemaError) as info:
        read_topology(f)
    assert str(info.value) == (
        f"{f}: invalid topology: node id 'cache' is listed twice: "
        "as redis (nodes[0]) and as mysql (nodes[2])"
    )


def test_one_id_twice_with_the_same_kind_is_refused_too() -> None:
    # its other fields (prometheus job, consumer group) could differ; edges name nodes by
    # id, so two entries can never be two resources
    with pytest.raises(ValidationError, match=r"'db' is listed twice: both times as mysql"):
        Topology.model_validate({"nodes": [{"id": "db", "kind": "mysql"}] * 2})


def test_distinct_ids_are_fine() -> None:
    topo = load_topology()
    assert len({n.id for n in topo.nodes}) == len(topo.nodes) == 13
