"""The template miner on generated lines with known templates."""

from __future__ import annotations

import random

import pytest

from foreshock.detectors.logs.header import strip_header
from foreshock.detectors.logs.masking import mask
from foreshock.detectors.logs.miner import TemplateMiner


def _stream(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(line, true event) pairs from five templates with varied parameters."""
    rng = random.Random(seed)
    makers = {
        "conn": lambda: (
            f"Accepted connection from {rng.randint(1, 254)}.{rng.randint(0, 254)}.0."
            f"{rng.randint(1, 254)}:{rng.randint(1024, 65535)} as user app"
        ),
        "slow": lambda: f"Slow query took {rng.randint(1, 9999)} ms on table t{rng.randint(1, 99)}",
        "blk": lambda: (
            f"Deleting block blk_{rng.randint(-(10**12), 10**12)} file "
            f"/data/{rng.randint(1, 9)}/current/blk_{rng.randint(1, 10**9)}"
        ),
        "req": lambda: (
            f"request {rng.getrandbits(128):032x} finished status={rng.choice([200, 404, 500])}"
            f" in {rng.random():.3f}s"
        ),
        "evict": lambda: (
            "Evicted keys " + ", ".join(f"k{rng.randint(1, 999)}" for _ in range(rng.randint(1, 6)))
        ),
    }
    names = sorted(makers)
    return [(makers[e](), e) for e in (rng.choice(names) for _ in range(n))]


def _groups(lines: list[str], miner: TemplateMiner) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in lines:
        m = miner.match(line)
        assert m is not None, line
        out.setdefault(m.template_id, set()).add(line)
    return out


def test_lines_of_one_event_share_one_template_and_events_stay_apart() -> None:
    data = _stream(400)
    miner = TemplateMiner()
    for line, _ in data:
        miner.add(line)
    assert len(miner) == 5
    by_event: dict[str, set[str]] = {}
    for line, event in data:
        m = miner.match(line)
        assert m is not None
        by_event.setdefault(event, set()).add(m.template_id)
    assert all(len(ids) == 1 for ids in by_event.values())
    assert len({next(iter(ids)) for ids in by_event.values()}) == 5


def test_templates_are_sorted_by_count_and_counts_add_up() -> None:
    data = _stream(300, seed=1)
    miner = TemplateMiner()
    for line, _ in data:
        miner.add(line)
    found = miner.templates()
    counts = [t.count for t in found]
    assert counts == sorted(counts, reverse=True) and sum(counts) == 300
    true = sorted((sum(e == name for _, e in data) for name in {e for _, e in data}), reverse=True)
    assert counts == true


def test_template_text_shows_placeholders_not_values() -> None:
    miner = TemplateMiner()
    for i in range(3):
        miner.add(f"Slow query took {100 + i} ms on table orders from 10.0.0.{i + 1}")
    (t,) = miner.templates()
    assert t.template == "Slow query took <NUM> ms on table orders from <IP>"
    assert t.count == 3


def test_is_new_only_for_the_line_that_creates_a_template() -> None:
    miner = TemplateMiner()
    first = miner.add("worker 1 started")
    again = miner.add("worker 2 started")
    other = miner.add("disk quota exceeded on volume data")
    assert first.is_new and not again.is_new and other.is_new
    assert again.template_id == first.template_id != other.template_id
    assert (first.count, again.count) == (1, 2)


def test_match_does_not_learn() -> None:
    miner = TemplateMiner()
    miner.add("user 17 logged in")
    assert miner.match("backup finished without errors") is None
    m = miner.match("user 99 logged in")
    assert m is not None and m.count == 1 and len(miner) == 1
    assert miner.templates()[0].count == 1


def test_variable_length_lists_do_not_split_a_template() -> None:
    miner = TemplateMiner()
    lines = [
        "Evicted keys k1",
        "Evicted keys k1, k2, k3",
        "Evicted keys k7, k8",
        "fan speeds ( 3552 3534 3375 3515 )",
        "fan speeds ( 3552 3534 )",
    ]
    for line in lines:
        miner.add(line)
    assert len(_groups(lines, miner)) == 2


def test_ids_stay_stable_and_are_not_reused_after_snapshot_restore() -> None:
    miner = TemplateMiner()
    ids = {miner.add(line).template_id for line, _ in _stream(100, seed=2)}
    state = miner.snapshot()
    restored = TemplateMiner()
    restored.restore(state)
    for line, _ in _stream(50, seed=3):
        assert restored.add(line).template_id in ids
    assert {t.template_id for t in restored.templates()} == ids
    assert sum(t.count for t in restored.templates()) == 150
    fresh = restored.add("completely different message about replication lag")
    assert fresh.is_new and fresh.template_id not in ids
    assert len(restored) == len(ids) + 1


def test_ids_of_merged_templates_resolve_to_one_canonical_id() -> None:
    miner = TemplateMiner()
    a = miner.add("session opened for user alice")
    b = miner.add("session opened for user bob")
    c = miner.add("session opened for user carol")
    assert a.template_id == b.template_id == c.template_id
    assert miner.templates()[0].count == 3


def test_masking_replaces_common_variables() -> None:
    line = (
        "GET http://x.io/a?b=1 from 10.1.2.3:8080 id=7f1c2d3e4b5a6978 "
        "instance 2f2c1d5e-7a1b-4c3e-9d3f-0a1b2c3d4e5f path /var/lib/mysql took 15ms"
    )
    masked = mask(line)
    for value in ("10.1.2.3", "7f1c2d3e", "2f2c1d5e", "/var/lib/mysql", "15", "http://"):
        assert value not in masked
    assert masked.startswith("GET <URL> from <IP> id=<*> instance <UUID> path <PATH>")


@pytest.mark.parametrize(
    ("line", "content"),
    [
        ("2024-01-31 12:00:00,123 INFO [main] o.a.Server: started", "started"),
        ("2024-01-31T12:00:00Z ERROR replication stopped", "replication stopped"),
        ("Jan 31 12:00:01 db-1 mysqld[312]: Aborted connection 7", "Aborted connection 7"),
        ("no header here: 42", "no header here: 42"),
    ],
)
def test_strip_header(line: str, content: str) -> None:
    assert strip_header(line) == content


def test_constructor_arguments_are_kept_and_change_behaviour() -> None:
    strict, loose = TemplateMiner(sim_th=0.9), TemplateMiner(sim_th=0.3)
    assert (strict.sim_th, strict.depth) == (0.9, 5)
    lines = ["cache warmed in region east by alpha", "cache warmed in region west by beta"]
    for line in lines:
        strict.add(line)
        loose.add(line)
    assert (len(strict), len(loose)) == (2, 1)
