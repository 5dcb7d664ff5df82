"""Each way the miner split or merged events on log systems it was not tuned on, as a few
synthetic lines: every test fails on the miner before these rules (see docs/benchmarks.md)."""

from __future__ import annotations

from foreshock.detectors.logs.miner import TemplateMiner


def _groups(lines: list[tuple[str, str]]) -> dict[str, set[str]]:
    """True event -> the template ids its lines end up in (after mining all of them)."""
    miner = TemplateMiner()
    for line, _ in lines:
        miner.add(line)
    out: dict[str, set[str]] = {}
    for line, event in lines:
        m = miner.match(line)
        out.setdefault(event, set()).add(m.template_id if m else f"none:{line}")
    return out


def _one_template_per_event(lines: list[tuple[str, str]]) -> bool:
    groups = _groups(lines)
    ids = [next(iter(g)) for g in groups.values()]
    return all(len(g) == 1 for g in groups.values()) and len(set(ids)) == len(ids)


def test_two_events_differing_only_in_a_protocol_keyword_stay_two() -> None:
    lines = []
    for i in range(6):
        host = f"www.site{i}.com:443"
        lines.append((f"{host} open through proxy proxy.corp.com:5070 HTTPS", "https"))
        lines.append((f"{host} open through proxy proxy.corp.com:5070 SOCKS5", "socks"))
    assert _one_template_per_event(lines)


def test_a_size_restated_in_another_unit_does_not_split_the_event() -> None:
    lines = [
        ("db.corp.com:80 close, 18846 bytes (18.4 KB) sent, 451 bytes received", "close"),
        ("db.corp.com:80 close, 0 bytes sent, 1190 bytes (1.16 KB) received", "close"),
        ("db.corp.com:80 close, 2000000 bytes (1.9 MB) sent, 7 bytes received", "close"),
        ("db.corp.com:80 close, 12 bytes sent, 40 bytes received", "close"),
    ]
    assert _one_template_per_event(lines)


def test_an_empty_or_listed_parenthesis_does_not_split_the_event() -> None:
    lines = [
        ("users with view permissions: Set()", "acl"),
        ("users with view permissions: Set(yarn, curi)", "acl"),
        ("users with view permissions: Set(root)", "acl"),
        ("users with view permissions: Set(a, b, c, d)", "acl"),
    ]
    assert _one_template_per_event(lines)


def test_a_template_of_parameters_only_does_not_swallow_one_word_lines() -> None:
    lines = [
        ("0x1f,0x2e", "values"),
        ("0x3a,0x11", "values"),
        ("Interrupted", "interrupted"),
        ("Terminated", "terminated"),
        ("Disconnected", "disconnected"),
    ]
    assert _one_template_per_event(lines)


def test_a_label_names_the_value_after_it() -> None:
    lines = []
    for i in range(4):
        head = f"cache stats of shard {i} since restart:"
        lines.append((f"{head} hits: {i * 7} of {i * 9} reads", "hits"))
        lines.append((f"{head} misses: {i} of {i * 9} reads", "miss"))
    assert _one_template_per_event(lines)
