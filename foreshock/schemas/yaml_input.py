"""The one way foreshock reads YAML written by people: small, plain, unambiguous.

Topologies (``topology.yaml``, ``--topology``), packs (``pack.yaml``) and the simulator's
fleet all go through :func:`load_yaml`. On top of PyYAML's safe loader (plain data only:
mappings, lists, strings, numbers, booleans, null, dates) it refuses

- **anchors and aliases** (``&name`` / ``*name``) and ``<<`` merge keys: ten
  nested aliases make a 453-byte file expand to billions of nodes ("billion laughs"), and
  none of our files needs them;
- **files larger than** :data:`MAX_BYTES` (read no further than the cap), and nesting
  deeper than :data:`MAX_DEPTH`;
- **a key given twice in one mapping**, which YAML loaders otherwise settle silently by
  keeping the last one (a second ``nodes:`` would drop the first list);
- text that is not UTF-8 (a UTF-8 byte-order mark is fine).

Each refusal is a :class:`YamlInputError` (a :class:`~foreshock.schemas.errors.SchemaError`)
naming the file, the line and what to change.

Examples
--------
>>> parse_yaml("nodes:\\n  - {id: a, kind: redis}\\n")
{'nodes': [{'id': 'a', 'kind': 'redis'}]}
>>> def refused(text: str) -> str:
...     try:
...         parse_yaml(text, source="topology.yaml")
...     except YamlInputError as exc:
...         return exc.reason
...     return "accepted"
>>> refused("a: &x [1, 2]\\nb: *x\\n")
'line 1: YAML anchors and aliases (&x) are not accepted; write the value out where it is used'
>>> refused("kind: redis\\nkind: mysql\\n")
"line 2: key 'kind' is given twice in one mapping"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from foreshock.schemas.errors import SchemaError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "YamlInputError", "load_yaml", "parse_yaml", "read_capped"]

#: Largest YAML file accepted, in bytes (a 5000-node topology is about 500 kB).
MAX_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 64

_BOM = b"\xef\xbb\xbf"


class YamlInputError(SchemaError):
    """A YAML file foreshock refuses: ``source`` is the file, ``reason`` what is wrong.

    >>> e = YamlInputError("pack.yaml", "line 3: bad")
    >>> str(e), e.reason
    ('pack.yaml: line 3: bad', 'line 3: bad')
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class _Refused(yaml.YAMLError):
    """Raised inside the loader; turned into :class:`YamlInputError` by :func:`parse_yaml`."""


class _PlainLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader without anchors, aliases, deep nesting or duplicate keys.

    The pure-Python composer is used on purpose: its recursion is checked here (and by
    Python), where the C composer's is not.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent) or anchor is not None:
            raise _Refused(
                f"line {event.start_mark.line + 1}: YAML anchors and aliases "
                f"({'*' if isinstance(event, yaml.AliasEvent) else '&'}{anchor}) are not "
                "accepted; write the value out where it is used"
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    f"line {event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # a list or mapping as a key: the base loader refuses it
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(
                    f"line {key_node.start_mark.line + 1}: merge keys (<<) are not accepted; "
                    "write the fields out"
                )
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _Refused(
                    f"line {key_node.start_mark.line + 1}: key {key!r} is given twice "
                    "in one mapping"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(data: str | bytes, *, source: str = "<yaml>", max_bytes: int = MAX_BYTES) -> Any:
    """The plain data in one YAML document (``None`` for an empty one).

    Raises
    ------
    YamlInputError
        Too large, not UTF-8, not YAML, or YAML this module refuses (see the module
        docstring); the message names ``source`` and the line.

    Examples
    --------
    >>> parse_yaml(b"\\xef\\xbb\\xbfa: 1\\n"), parse_yaml("")
    ({'a': 1}, None)
    >>> parse_yaml("[" * 100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    foreshock.schemas.yaml_input.YamlInputError: <yaml>: line 1: nested deeper than 64 levels
    """
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise YamlInputError(source, f"larger than {max_bytes} bytes, the cap for YAML input")
        try:
            text = data.removeprefix(_BOM).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlInputError(
                source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
            ) from None
    else:
        text = data.removeprefix("\ufeff")
        if len(text) > max_bytes:  # characters: at least as many bytes
            raise YamlInputError(source, f"larger than {max_bytes} bytes, the cap for YAML input")
    loader: _PlainLoader | None = None
    try:
        loader = _PlainLoader(text)  # refuses non-printable characters already
        return loader.get_single_data()
    except _Refused as exc:
        raise YamlInputError(source, str(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(source, f"not valid YAML: {_one_line(exc)}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a date like 2026-13-45, a huge integer
        raise YamlInputError(source, f"invalid value: {exc}") from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops it first
        raise YamlInputError(source, "nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: Path | str, *, max_bytes: int = MAX_BYTES) -> Any:
    """:func:`parse_yaml` of a file, read no further than ``max_bytes`` (+1 to know).

    Raises
    ------
    YamlInputError
        Unreadable, or refused by :func:`parse_yaml`; the message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.yaml"
    >>> _ = f.write_text("nodes: []\\n")
    >>> load_yaml(f)
    {'nodes': []}
    >>> try:
    ...     load_yaml(f, max_bytes=4)
    ... except YamlInputError as exc:
    ...     print(exc.reason)
    larger than 4 bytes, the cap for YAML input
    """
    path = Path(path)
    try:
        data = read_capped(path, max_bytes)
    except OSError as exc:
        raise YamlInputError(str(path), exc.strerror or str(exc)) from None
    return parse_yaml(data, source=str(path), max_bytes=max_bytes)


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, or its first ``max_bytes + 1`` if it is larger (the caller
    refuses it): never more is read, nor allocated.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "big"
    >>> _ = f.write_bytes(b"x" * 100)
    >>> len(read_capped(f, 10)), len(read_capped(f, 1000))
    (11, 100)
    """
    chunks: list[bytes] = []
    left = max_bytes + 1
    with path.open("rb") as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    return b"".join(chunks)


def _one_line(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: what is wrong, and where (``line L, column C``)."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"character #x{char:04x} at offset {exc.position}: {exc.reason}"
    if isinstance(exc, yaml.MarkedYAMLError):
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
        return what
    return str(exc).replace("\n", " ")
