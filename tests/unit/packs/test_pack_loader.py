"""Pack files go through the one YAML loader: refused YAML is a ConfigError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreshock.packs.loader import load_packs
from foreshock.schemas.errors import ConfigError

PACK = """\
kind: memcached
metrics:
  memcached_up: {type: gauge, role: availability, bad: down}
"""


def _pack(tmp: Path, text: str) -> Path:
    (tmp / "memcached").mkdir()
    (tmp / "memcached" / "pack.yaml").write_text(text)
    return tmp


def test_a_plain_user_pack_loads(tmp_path: Path) -> None:
    packs = load_packs([_pack(tmp_path, PACK)])
    assert packs["memcached"].metric("memcached_up") is not None
    assert "redis" in packs


def test_a_pack_using_a_merge_key_alias_is_refused(tmp_path: Path) -> None:
    text = PACK + "  memcached_hits_total: &c {type: counter, role: throughput, bad: down}\n"
    text += "  memcached_misses_total: {<<: *c, role: errors}\n"
    with pytest.raises(ConfigError) as info:
        load_packs([_pack(tmp_path, text)])
    assert str(info.value) == (
        f"pack {tmp_path / 'memcached' / 'pack.yaml'}: line 4: YAML anchors and aliases (&c) "
        "are not accepted; write the value out where it is used"
    )


def test_a_pack_giving_a_metric_twice_is_refused(tmp_path: Path) -> None:
    text = PACK + "  memcached_up: {type: counter, role: errors, bad: up}\n"
    with pytest.raises(ConfigError, match="line 4: key 'memcached_up' is given twice"):
        load_packs([_pack(tmp_path, text)])


def test_a_pack_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    f = _pack(tmp_path, PACK) / "memcached" / "pack.yaml"
    f.write_bytes(PACK.encode() + b"description: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_packs([tmp_path])
