"""The template miner on generated lines with known templates."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from foreshock.detectors.logs.header import strip_header
from foreshock.detectors.logs.masking import mask
from foreshock.detectors.logs.miner import TemplateMiner
from foreshock.schemas.errors import SnapshotError
from foreshock.schemas.state import dump_state, load_state


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


def _varied(n: int, seed: int) -> list[str]:
    """Lines from overlapping templates: some generalise and fold into older ones."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "w1", "w2", "job7", "x9"]
    users = ["alice", "bob", "carol", "dave"]
    verbs = ["open", "read", "write", "sync"]
    objs = ["file", "socket", "volume", "table", "index"]
    makers: list[Callable[[], str]] = [
        lambda: f"{rng.choice(words)} started on node {rng.randint(1, 9)}",
        lambda: f"session opened for user {rng.choice(users)}",
        lambda: f"Slow query took {rng.randint(1, 9999)} ms on table {rng.choice(objs)}",
        lambda: f"{rng.choice(verbs)} {rng.choice(objs)} failed: {rng.choice(['timeout', 'busy'])}",
        lambda: (
            "Evicted keys " + ", ".join(f"k{rng.randint(1, 99)}" for _ in range(rng.randint(1, 4)))
        ),
        lambda: (
            f"cache {rng.choice(words)} warmed in {rng.choice(['east', 'west'])} "
            f"by {rng.choice(users)}"
        ),
        lambda: f"{rng.choice(users)} {rng.choice(verbs)} {rng.choice(objs)} {rng.choice(words)}",
    ]
    return [rng.choice(makers)() for _ in range(n)]


@pytest.mark.parametrize("max_clusters", [None, 6, 20])
def test_a_restored_miner_continues_exactly_like_the_original(max_clusters: int | None) -> None:
    lines = _varied(600, seed=1)
    original = TemplateMiner(max_clusters=max_clusters)
    for line in lines[:300]:
        original.add(line)
    state = original.state_dict()
    if max_clusters is None:
        assert state["alias"], "the stream should have merged templates"
    else:
        assert state["clusters_counter"] > max_clusters, "the stream should have evicted some"
    restored = TemplateMiner(max_clusters=max_clusters)
    restored.load_state_dict(load_state(dump_state("miner", state), "miner"))
    assert restored.state_dict() == state  # tree, templates, LRU order, merges, counts
    for line in lines[300:]:
        assert restored.add(line) == original.add(line), line
    assert restored.templates() == original.templates()
    assert restored.state_dict() == original.state_dict()
    for line in lines:
        assert restored.match(line) == original.match(line)


def test_taking_the_state_changes_nothing_not_even_the_lru_order() -> None:
    miner = TemplateMiner(max_clusters=5)
    for line in _varied(200, seed=4):
        miner.add(line)
    first = miner.state_dict()
    assert miner.state_dict() == first
    assert first["lru"] is not None and sorted(first["lru"]) == [c[0] for c in first["clusters"]]
    assert TemplateMiner().state_dict()["lru"] is None


def _broken(state: dict[str, Any], how: str) -> Any:
    s = copy.deepcopy(state)
    if how == "not a dict":
        return [s]
    if how == "missing key":
        del s["tree"]
    elif how == "extra key":
        s["pickle"] = b"..."
    elif how == "clusters not a list":
        s["clusters"] = {"1": ["a"]}
    elif how == "cluster of two":
        s["clusters"][0] = s["clusters"][0][:2]
    elif how == "token not a string":
        s["clusters"][0][1][0] = 7
    elif how == "bool as size":
        s["clusters"][0][2] = True
    elif how == "duplicate id":
        s["clusters"].append(list(s["clusters"][0]))
    elif how == "counter below ids":
        s["clusters_counter"] = 0
    elif how == "node without children":
        del s["tree"]["children"]
    elif how == "child key not a string":
        s["tree"]["children"][5] = {"ids": [], "children": {}}
    elif how == "too deep":
        node: dict[str, Any] = {"ids": [], "children": {}}
        for _ in range(50):
            node = {"ids": [], "children": {"x": node}}
        s["tree"] = node
    elif how == "alias cycle":
        s["alias"] = {1: 2, 2: 1}
    elif how == "count keys as strings":
        s["count"] = {str(k): v for k, v in s["count"].items()}
    elif how == "other sim_th":
        s["config"]["sim_th"] = 0.5
    elif how == "other rules":
        s["config"]["rules"] = s["config"]["rules"][1:]
    elif how == "lru on an unbounded miner":
        s["lru"] = [c[0] for c in s["clusters"]]
    return s


@pytest.mark.parametrize(
    "how",
    [
        "not a dict",
        "missing key",
        "extra key",
        "clusters not a list",
        "cluster of two",
        "token not a string",
        "bool as size",
        "duplicate id",
        "counter below ids",
        "node without children",
        "child key not a string",
        "too deep",
        "alias cycle",
        "count keys as strings",
        "other sim_th",
        "other rules",
        "lru on an unbounded miner",
    ],
)
def test_a_malformed_state_is_refused_and_the_miner_is_left_as_it_was(how: str) -> None:
    source = TemplateMiner()
    for line in _varied(100, seed=5):
        source.add(line)
    state = source.state_dict()
    target = TemplateMiner()
    target.add("disk quota exceeded on volume data")
    before = target.state_dict()
    with pytest.raises(SnapshotError, match=r"^miner state: "):
        target.load_state_dict(_broken(state, how))
    assert target.state_dict() == before


@pytest.mark.parametrize("how", ["lru missing an id", "lru on an unbounded state"])
def test_a_bounded_miner_refuses_a_state_with_a_wrong_lru(how: str) -> None:
    source = TemplateMiner(max_clusters=10)
    for line in _varied(100, seed=6):
        source.add(line)
    state = source.state_dict()
    state["lru"] = state["lru"][1:] if how == "lru missing an id" else None
    with pytest.raises(SnapshotError, match="lru"):
        TemplateMiner(max_clusters=10).load_state_dict(state)
    with pytest.raises(SnapshotError, match="max_clusters"):
        TemplateMiner(max_clusters=5).load_state_dict(source.state_dict())


def test_ids_stay_stable_and_are_not_reused_after_state_round_trip() -> None:
    miner = TemplateMiner()
    ids = {miner.add(line).template_id for line, _ in _stream(100, seed=2)}
    state = load_state(dump_state("miner", miner.state_dict()), "miner")
    restored = TemplateMiner()
    restored.load_state_dict(state)
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
