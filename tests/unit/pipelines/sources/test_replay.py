from __future__ import annotations

from pathlib import Path

import pytest

from foreshock.pipelines.sources.replay import parse_timestamp, read_replay
from foreshock.schemas.errors import ReplayError, SchemaError

TOPO = "nodes:\n  - {id: db, kind: mysql}\n  - {id: app, kind: service}\nedges: []\n"


def _write(tmp: Path, csv: str, topo: str | None = TOPO) -> Path:
    (tmp / "metrics.csv").write_text(csv)
    if topo is not None:
        (tmp / "topology.yaml").write_text(topo)
    return tmp


def test_malformed_rows_are_dead_lettered_with_reasons_and_nothing_else_is_lost(
    tmp_path: Path,
) -> None:
    csv = (
        "timestamp,resource,metric,value\n"
        "0,db,m,1\n"
        "15,db,m,abc\n"  # non-numeric
        "15,ghost,m,3\n"  # unknown resource
        "30,db,m,NaN\n"  # non-finite
        "45,app,m,4\n"
        "5,app,m,5\n"  # out of order: kept, put back in order
        "yesterday,db,m,6\n"  # bad timestamp
        "60,db\n"  # missing field
        "0,db,m,7\n"  # duplicate of line 2
    )
    rep = read_replay(_write(tmp_path, csv))
    reasons = [d.reason for d in rep.dead_letters]
    assert reasons == [
        "non-numeric value 'abc'",
        "unknown resource 'ghost' (not in topology.yaml)",
        "non-finite value 'NaN'",
        "bad timestamp 'yesterday'",
        "missing field",
        "duplicate sample (same series and timestamp)",
    ]
    assert rep.dead_letters[0].source == "metrics.csv:3"
    assert rep.rows == 9 and rep.samples == 3
    assert [b.timestamp for b in rep.batches] == [0.0, 5.0, 45.0]
    assert rep.reordered == 1


def test_without_topology_every_resource_is_accepted(tmp_path: Path) -> None:
    rep = read_replay(_write(tmp_path, "timestamp,resource,metric,value\n0,x,m,1\n0,y,m,2\n", None))
    assert sorted(n.id for n in rep.topology.nodes) == ["x", "y"]
    assert not rep.has_topology and rep.samples == 2


def test_extra_label_columns_and_iso_timestamps(tmp_path: Path) -> None:
    csv = "timestamp,resource,metric,value,instance\n2026-01-05T00:00:00Z,db,m,1,a:9104\n"
    rep = read_replay(_write(tmp_path, csv))
    assert rep.batches[0].timestamp == 1767571200.0


def test_unreadable_folders_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"no metrics\.csv"):
        read_replay(tmp_path)
    (tmp_path / "metrics.csv").write_text("time,resource,value\n")
    with pytest.raises(ReplayError, match="header lacks timestamp, metric"):
        read_replay(tmp_path)


def test_parse_timestamp_rejects_garbage() -> None:
    assert parse_timestamp("2026-01-05 00:00:00") == 1767571200.0
    with pytest.raises(SchemaError):
        parse_timestamp("inf")
