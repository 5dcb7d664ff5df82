from __future__ import annotations

from pathlib import Path

import pytest

from foreshock.pipelines.sources.replay import parse_timestamp, read_replay
from foreshock.schemas.errors import ReplayError, SchemaError

TOPO = "nodes:\n  - {id: db, kind: mysql}\n  - {id: app, kind: service}\nedges: []\n"


def _write(tmp: Path, csv: str, topo: str | None = TOPO) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
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


# --- one row per physical line (issue 10, item 3) -----------------------------------------

HEADER = b"timestamp,resource,metric,value\n"


def _write_bytes(tmp: Path, body: bytes, topo: str | None = TOPO) -> Path:
    (tmp / "metrics.csv").write_bytes(body)
    if topo is not None:
        (tmp / "topology.yaml").write_text(topo)
    return tmp


def test_a_byte_that_is_not_utf8_dead_letters_its_line_only(tmp_path: Path) -> None:
    body = HEADER + b"0,db,m,1\n15,db,m,\xff\n30,db,m,3\n"
    rep = read_replay(_write_bytes(tmp_path, body))
    assert [b.timestamp for b in rep.batches] == [0.0, 30.0]
    [letter] = rep.dead_letters
    assert letter.source == "metrics.csv:3"
    assert letter.reason == "not UTF-8 text (byte 0xff at column 9)"
    assert letter.payload == "15,db,m,\\xff"


def test_a_stray_quote_dead_letters_its_line_and_swallows_nothing(tmp_path: Path) -> None:
    body = HEADER + b'0,db,m,1\n15,"db,m,2\n30,db,m,3\n45,db,m,4\n'
    rep = read_replay(_write_bytes(tmp_path, body))
    assert [b.timestamp for b in rep.batches] == [0.0, 30.0, 45.0]
    assert [(d.source, d.reason, d.payload) for d in rep.dead_letters] == [
        ("metrics.csv:3", "malformed CSV: a quote does not close on its line", '15,"db,m,2')
    ]
    assert rep.rows == 4 and rep.samples == 3


def test_a_stray_quote_before_many_rows_does_not_abort_the_run(tmp_path: Path) -> None:
    # the whole rest of the file used to become one field: "field larger than field limit"
    rows = b"".join(b"%d,db,m,%d\n" % (15 * i, i) for i in range(1, 20000))
    rep = read_replay(_write_bytes(tmp_path, HEADER + b'0,"db,m,1\n' + rows))
    assert rep.samples == 19999 and len(rep.dead_letters) == 1


def test_an_over_long_line_is_dead_lettered_without_being_read_whole(tmp_path: Path) -> None:
    body = HEADER + b'0,db,m,1\n15,db,m,"' + b"9" * 300_000 + b'"\n30,db,m,3\n'
    rep = read_replay(_write_bytes(tmp_path, body))
    assert rep.samples == 2
    [letter] = rep.dead_letters
    assert letter.source == "metrics.csv:3" and letter.reason == "line longer than 65536 bytes"
    assert len(letter.payload) < 300


def test_a_bom_before_the_header_and_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    body = b"\xef\xbb\xbftimestamp,resource,metric,value\r\n0,db,m,1\r\n15,db,m,2\r\n"
    rep = read_replay(_write_bytes(tmp_path, body))
    assert rep.samples == 2 and rep.dead_letters == []


def test_quoted_fields_on_one_line_still_work(tmp_path: Path) -> None:
    csv = (
        "timestamp,resource,metric,value,instance\n"
        '0,"db","m",1,"10.0.0.1:9104, primary"\n'
        '15,db,m,"2",""\n'
        '30,db,m,"3\n'
    )
    rep = read_replay(_write(tmp_path, csv))
    assert [b.values for b in rep.batches] == [[1.0], [2.0]]
    assert [d.source for d in rep.dead_letters] == ["metrics.csv:4"]


def test_empty_lines_are_accounted_for(tmp_path: Path) -> None:
    rep = read_replay(_write(tmp_path, "timestamp,resource,metric,value\n0,db,m,1\n\n15,db,m,2\n"))
    assert rep.rows == 3 and rep.samples == 2
    assert [(d.source, d.reason) for d in rep.dead_letters] == [("metrics.csv:3", "empty line")]


# --- truth.json and dead letters across reruns (issue 10, item 4) -------------------------


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ('{"fault": "redis_down", "root_cause": "redis"}', "root_cause: should be a mapping"),
        ('{"fault": "redis_down", "start": 0}', "needs root_cause"),
        ('["redis_down"]', "should be a mapping"),
        ('{"fault": "several", "faults": []}', '"several" needs a non-empty "faults" list'),
    ],
)
def test_truth_of_the_wrong_shape_is_refused_before_the_run(
    tmp_path: Path, truth: str, message: str
) -> None:
    from foreshock.pipelines.runtimes.embedded import run_replay

    folder = _write(tmp_path / "replay", "timestamp,resource,metric,value\n0,db,m,1\n")
    (folder / "truth.json").write_text(truth)
    with pytest.raises(SchemaError, match=message):
        read_replay(folder)
    with pytest.raises(SchemaError, match=r"truth\.json: invalid truth\.json"):
        run_replay(folder, tmp_path / "home")
    assert not (tmp_path / "home" / "alerts.jsonl").exists()


def test_truth_the_simulator_writes_is_read_back_as_written(tmp_path: Path) -> None:
    folder = _write(tmp_path, "timestamp,resource,metric,value\n0,db,m,1\n")
    (folder / "truth.json").write_text(
        '{"fault": "mysql_lock_contention", "root_cause": {"resource": "db", '
        '"failure_mode": "lock_contention"}, "start": 1767580000.0, "note": "kept"}'
    )
    truth = read_replay(folder).truth
    assert truth == {
        "fault": "mysql_lock_contention",
        "root_cause": {"resource": "db", "failure_mode": "lock_contention"},
        "start": 1767580000.0,
        "note": "kept",
    }


def test_a_rerun_does_not_append_the_same_dead_letters_again(tmp_path: Path) -> None:
    from foreshock.pipelines.runtimes.embedded import run_replay

    csv = "timestamp,resource,metric,value\n0,db,m,1\n15,db,m,x\n30,ghost,m,3\n45,db\n"
    folder = _write(tmp_path / "replay", csv)
    home = tmp_path / "home"
    first = run_replay(folder, home)
    second = run_replay(folder, home)
    expected = {
        "non-numeric value 'x'": 1,
        "unknown resource 'ghost' (not in topology.yaml)": 1,
        "missing field": 1,
    }
    assert first.dead_letters == second.dead_letters == expected
    stored = (home / "dead_letters.jsonl").read_text().splitlines()
    assert len(stored) == 3
    # a row that goes bad in an edited file is a new letter, even on the same line
    (folder / "metrics.csv").write_text(csv.replace("15,db,m,x", "15,db,m,y"))
    run_replay(folder, home)
    assert len((home / "dead_letters.jsonl").read_text().splitlines()) == 4


# --- topology: duplicates and YAML aliases (items 5 and 6) ---------------------------------


def test_a_topology_listing_one_id_twice_is_refused_with_both_kinds(tmp_path: Path) -> None:
    topo = "nodes:\n  - {id: db, kind: mysql}\n  - {id: db, kind: postgresql}\n"
    with pytest.raises(SchemaError, match=r"node id 'db' is listed twice: as mysql .* postgresql"):
        read_replay(_write(tmp_path, "timestamp,resource,metric,value\n0,db,m,1\n", topo))


def test_a_topology_with_yaml_aliases_is_refused(tmp_path: Path) -> None:
    topo = "base: &n {kind: redis}\nnodes:\n  - {id: a, kind: redis}\nextra: [*n, *n]\n"
    with pytest.raises(SchemaError, match="anchors and aliases"):
        read_replay(_write(tmp_path, "timestamp,resource,metric,value\n0,a,m,1\n", topo))


# --- the reader's memory (item 7) ----------------------------------------------------------


def test_the_reader_keeps_rows_as_columns_not_objects(tmp_path: Path) -> None:
    import tracemalloc

    n_t, n_s = 500, 100
    lines = [f"{15 * t},db,m{s},{t + s}" for t in range(n_t) for s in range(n_s)]
    folder = _write(tmp_path, "timestamp,resource,metric,value\n" + "\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        rep = read_replay(folder)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows = n_t * n_s
    assert rep.samples == rows and len(rep.batches) == n_t
    # MetricBatch objects cost ~170 bytes a row held and ~270 at the peak; columns 12 and ~30
    assert held / rows < 40, held / rows
    assert peak / rows < 80, peak / rows


def test_batches_behave_as_a_sequence(tmp_path: Path) -> None:
    csv = "timestamp,resource,metric,value\n" + "".join(
        f"{t},{r},m,{t}\n" for t in (30, 0, 15, 45) for r in ("db", "app")
    )
    rep = read_replay(_write(tmp_path, csv))
    b = rep.batches
    assert len(b) == 4 and bool(b) and rep.samples == 8 and rep.reordered == 4
    assert [x.timestamp for x in b] == [0.0, 15.0, 30.0, 45.0]
    assert b[0].resources == ["db", "app"] and b[-1].values == [45.0, 45.0]
    assert [x.timestamp for x in b[1:3]] == [15.0, 30.0] and len(b[1:3]) == 2
    assert [x.timestamp for x in b[::2]] == [0.0, 30.0] and len(b[5:]) == 0
    assert b[1:3].samples == 4  # type: ignore[attr-defined]
    with pytest.raises(IndexError):
        b[4]


def test_duplicates_among_rows_out_of_order_are_found_with_their_line(tmp_path: Path) -> None:
    csv = (
        "timestamp,resource,metric,value\n"
        "30,db,m,1\n"
        "0,db,m,2\n"  # back in time for db/m
        "bad\n"
        "0,db,m,3\n"  # duplicate of line 3, found after the read
        "30,db,m,4\n"  # duplicate of line 2, found as it is read
        "15,app,m,5\n"
        "0,db,m,6\n"  # another duplicate of line 3
    )
    rep = read_replay(_write(tmp_path, csv))
    assert [(d.source, d.reason[:9], d.payload) for d in rep.dead_letters] == [
        ("metrics.csv:4", "missing f", "bad"),
        ("metrics.csv:5", "duplicate", "0,db,m,3"),
        ("metrics.csv:6", "duplicate", "30,db,m,4"),
        ("metrics.csv:8", "duplicate", "0,db,m,6"),
    ]
    assert [(x.timestamp, x.values) for x in rep.batches] == [
        (0.0, [2.0]),
        (15.0, [5.0]),
        (30.0, [1.0]),
    ]
    assert rep.rows == 7 and rep.samples + len(rep.dead_letters) == rep.rows
