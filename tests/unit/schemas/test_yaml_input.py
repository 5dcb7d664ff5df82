"""Every YAML a person gives foreshock goes through one loader that refuses what can hurt."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from foreshock.packs.loader import BUILTIN, load_pack
from foreshock.pipelines.sources.replay import read_topology
from foreshock.schemas.errors import ConfigError, SchemaError
from foreshock.schemas.yaml_input import (
    MAX_BYTES,
    MAX_DEPTH,
    YamlInputError,
    load_yaml,
    parse_yaml,
)
from foreshock.sim.simulator import DEFAULT_TOPOLOGY, load_topology


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level lists the previous one nine times (9**levels strings)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    return "nodes: []\n" + "\n".join(lines) + "\n"


READERS: dict[str, tuple[Callable[[Path], Any], type[Exception]]] = {
    "topology (read_topology)": (read_topology, SchemaError),
    "pack (load_pack)": (load_pack, ConfigError),
    "fleet (simulator load_topology)": (load_topology, SchemaError),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_refuses_aliases(tmp_path: Path, reader: str) -> None:
    read, error = READERS[reader]
    f = tmp_path / "in.yaml"
    f.write_text("kind: redis\nnodes: &n []\nedges: *n\n")
    with pytest.raises(error, match=r"line 2: YAML anchors and aliases \(&n\) are not accepted"):
        read(f)


@pytest.mark.parametrize("reader", list(READERS))
def test_billion_laughs_is_refused_at_once(tmp_path: Path, reader: str) -> None:
    read, error = READERS[reader]
    f = tmp_path / "in.yaml"
    f.write_text(billion_laughs())
    assert len(f.read_bytes()) < 500
    started = time.perf_counter()
    with pytest.raises(error, match="anchors and aliases"):
        read(f)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_refuses_a_file_over_the_cap(tmp_path: Path, reader: str) -> None:
    read, error = READERS[reader]
    f = tmp_path / "in.yaml"
    f.write_bytes(b"# " + b"x" * MAX_BYTES + b"\nkind: redis\n")
    with pytest.raises(error, match=f"larger than {MAX_BYTES} bytes"):
        read(f)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: 1\nb: *missing\n", r"line 2: YAML anchors and aliases \(\*missing\)"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", r"\(&b\)"),
        ("a: {x: 1}\nb:\n  <<: {x: 1}\n", "line 3: merge keys"),
        ("nodes: []\nnodes: [{id: a}]\n", "line 2: key 'nodes' is given twice in one mapping"),
        ("a:\n  - {id: x, id: y}\n", "key 'id' is given twice"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH}"),
        ("a: [1, 2\n", "not valid YAML: line 2, column 1: while parsing a flow sequence"),
        ("a: !!python/object:os.system x\n", "could not determine a constructor"),
        ("---\na: 1\n---\nb: 2\n", "expected a single document"),
        ("when: 2026-13-45\n", "invalid value: month must be in 1..12"),
        ("a: \x00\n", "character #x0000 at offset 3: special characters are not allowed"),
    ],
)
def test_what_the_loader_refuses(text: str, reason: str) -> None:
    with pytest.raises(YamlInputError, match=reason) as info:
        parse_yaml(text, source="topology.yaml")
    assert str(info.value).startswith("topology.yaml: ")


def test_deep_nesting_within_the_cap_is_fine() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_yaml(text) is not None


def test_non_utf8_and_bom() -> None:
    with pytest.raises(YamlInputError, match=r"not UTF-8 text \(byte 0xff at offset 6\)"):
        parse_yaml(b"kind: \xff\n")
    assert parse_yaml(b"\xef\xbb\xbfkind: redis\n") == {"kind": "redis"}
    assert parse_yaml("\ufeffkind: redis\n") == {"kind": "redis"}


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(YamlInputError, match="No such file"):
        load_yaml(tmp_path / "nope.yaml")


def test_the_files_we_ship_read_as_plain_pyyaml_reads_them() -> None:
    shipped = [*sorted(BUILTIN.glob("*/pack.yaml")), DEFAULT_TOPOLOGY]
    lab = Path(__file__).parents[3] / "infra" / "lab" / "topology.yaml"
    shipped += [lab] if lab.is_file() else []
    for f in shipped:
        assert load_yaml(f) == yaml.safe_load(f.read_text()), f
