"""The knowledge base: what ships is complete and valid; a broken file is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreshock.packs.knowledge import load_knowledge
from foreshock.packs.loader import load_packs
from foreshock.schemas.errors import ConfigError

GOOD = """\
kind: redis
failure_modes:
  - id: redis.memory_exhaustion
    title: Memory at maxmemory
    summary: Used memory reaches maxmemory; keys are evicted or writes fail.
    symptoms:
      metrics: [{metric: redis_memory_used_bytes, direction: up}]
      logs: ["OOM command not allowed"]
    causes: [no TTL on keys]
    checks: [{command: "redis-cli INFO memory", look_for: used_memory near maxmemory}]
    remediations: [{action: raise maxmemory, risk: low}]
    references: ["https://redis.io/docs/latest/develop/reference/eviction/"]
"""


def test_the_shipped_base_covers_every_middleware_with_actionable_modes() -> None:
    kb = load_knowledge()
    assert len(kb) >= 60
    by_kind: dict[str, int] = {}
    for m in kb:
        by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
        assert m.checks and all(c.command.strip() for c in m.checks), m.id
        assert {r.risk for r in m.remediations} <= {"low", "medium", "high"}
    assert set(by_kind) == {"host", "kafka", "mysql", "opensearch", "postgresql", "redis"}
    assert min(by_kind.values()) >= 8


def test_every_pack_failure_mode_has_a_knowledge_entry() -> None:
    """Retrieval can name what ranking names: for the middleware the base covers, every
    pack failure mode (``kind.name``) has an entry."""
    kb = load_knowledge()
    ids, kinds = {m.id for m in kb}, {m.kind for m in kb}
    missing = [
        f"{kind}.{fm}"
        for kind, pack in load_packs().items()
        if kind in kinds
        for fm in pack.failure_modes
        if f"{kind}.{fm}" not in ids
    ]
    assert missing == []


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_valid_file_loads(tmp_path: Path) -> None:
    [m] = load_knowledge(_write(tmp_path, "redis.yaml", GOOD))
    assert (m.kind, m.name, m.symptoms.logs) == (
        "redis",
        "memory_exhaustion",
        ["OOM command not allowed"],
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOOD.replace("risk: low", "risk: maybe"), "risk"),
        (GOOD.replace("    checks:", "    chekcs:"), "chekcs"),
        (GOOD.replace("id: redis.", "id: kafka."), "is not of kind redis"),
        (GOOD.replace("direction: up", "direction: sideways"), "direction"),
        ("kind: redis\nfailure_modes: [", "redis.yaml"),
    ],
)
def test_a_broken_file_names_the_file_and_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=r"redis\.yaml") as exc:
        load_knowledge(_write(tmp_path, "redis.yaml", text))
    assert reason in str(exc.value)


def test_an_id_used_twice_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", GOOD)
    _write(tmp_path, "b.yaml", GOOD)
    with pytest.raises(ConfigError, match="already in"):
        load_knowledge(tmp_path)
