"""Load packs: the built-in ones shipped beside this module, plus user folders.

A pack folder holds a ``pack.yaml``; a user folder given to :func:`load_packs` (the
``packs`` setting, ``--packs DIR``) may be one ``pack.yaml`` or hold several pack folders.
A user pack for a kind that is built in replaces it. A pack that does not validate is
refused with its file, the field and the reason.

Examples
--------
>>> packs = load_packs()
>>> sorted(packs)[:3]
['host', 'kafka', 'logs']
>>> packs["redis"].metric("redis_evicted_keys_total").type
'counter'
>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "pack.yaml").write_text("kind: memcached\\nmetrics:\\n  hits: {type: countr}")
>>> load_packs([d])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
foreshock.schemas.errors.ConfigError: pack .../pack.yaml: metrics.hits.type: Input should be ...
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from foreshock.packs.model import MetricSpec, Pack, base_name
from foreshock.packs.naming import guess_role
from foreshock.schemas.errors import ConfigError
from foreshock.schemas.yaml_input import YamlInputError, load_yaml

BUILTIN = Path(__file__).parent

_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_seconds_total", "_bytes_total")


def load_pack(path: Path) -> Pack:
    """Read and validate one ``pack.yaml``.

    Raises
    ------
    ConfigError
        Unreadable, not YAML, YAML that :func:`~foreshock.schemas.yaml_input.load_yaml`
        refuses (anchors and aliases, a key twice, over its size cap), or not a pack: the
        message names the file, every field in error (``failure_modes.x.symptoms.0.direction``)
        and the reason.
    """
    try:
        data = load_yaml(path)
    except YamlInputError as exc:
        raise ConfigError(f"pack {path}: {exc.reason}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"pack {path}: not a mapping of pack fields (kind, metrics, ...)")
    try:
        return Pack.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(pack)'}: {e['msg']}"
            f"{'' if e['type'] != 'extra_forbidden' else ' (unknown field)'}"
            for e in exc.errors()
        )
        raise ConfigError(f"pack {path}: {errors}") from None


@lru_cache(maxsize=8)
def _builtin() -> tuple[Pack, ...]:
    return tuple(load_pack(p) for p in sorted(BUILTIN.glob("*/pack.yaml")))


def load_packs(extra: Iterable[Path] = ()) -> dict[str, Pack]:
    """Packs by kind: built-in ones, overridden by packs found under ``extra`` folders."""
    packs = {p.kind: p for p in _builtin()}
    for folder in extra:
        folder = Path(folder)
        if not folder.exists():
            raise ConfigError(f"pack folder {folder} does not exist")
        files = [folder] if folder.is_file() else sorted(folder.glob("**/pack.yaml"))
        if not files:
            raise ConfigError(f"pack folder {folder} holds no pack.yaml")
        for f in files:
            pack = load_pack(f)
            packs[pack.kind] = pack
    return packs


def guess_spec(metric: str) -> MetricSpec:
    """Spec for a metric no pack knows: counters by name, the role and the bad direction by
    the words of the name (:func:`~foreshock.packs.naming.guess_role`), else both
    directions suspect.

    >>> guess_spec("my_app_jobs_total").type, guess_spec("my_app_jobs_total").bad
    ('counter', 'both')
    >>> spec = guess_spec('checkout_latency_seconds{quantile="0.95"}')
    >>> spec.type, spec.role, spec.bad, spec.unit
    ('gauge', 'latency', 'up', 's')
    """
    name = base_name(metric)
    role, bad, unit = guess_role(metric)
    kind: Literal["counter", "gauge"] = "counter" if name.endswith(_COUNTER_SUFFIXES) else "gauge"
    return MetricSpec(type=kind, role=role, bad=bad, unit=unit)


class PackIndex:
    """Look up metric specs and failure modes by resource kind, with fallbacks.

    >>> idx = PackIndex(load_packs())
    >>> idx.spec("mysql", "mysql_global_status_questions").type
    'counter'
    >>> idx.spec("other", "whatever").bad
    'both'
    """

    def __init__(self, packs: dict[str, Pack]) -> None:
        self.packs = packs
        # a metric name is usually unique to one exporter: use it across kinds too
        self._by_metric: dict[str, MetricSpec] = {}
        for pack in packs.values():
            for name, spec in pack.metrics.items():
                self._by_metric.setdefault(name, spec)
                self._by_metric.setdefault(base_name(name), spec)

    def _pack_spec(self, kind: str, metric: str) -> MetricSpec | None:
        """The spec a pack gives ``metric``: its resource's pack, else any pack by name."""
        pack = self.packs.get(kind)
        spec = pack.metric(metric) if pack else None
        if spec is None:
            spec = self._by_metric.get(metric) or self._by_metric.get(base_name(metric))
        return spec

    def spec(self, kind: str, metric: str) -> MetricSpec:
        return self._pack_spec(kind, metric) or guess_spec(metric)

    def named(self, kind: str, metric: str) -> bool:
        """Whether a pack names ``metric`` (its resource's pack or, by name, another's):
        False for a series whose spec is read from its name (:func:`guess_spec`).

        >>> idx = PackIndex(load_packs())
        >>> idx.named("service", "container_cpu_usage_percent"), idx.named("service", "cpu")
        (True, False)
        """
        return self._pack_spec(kind, metric) is not None

    def known(self, kind: str, metric: str) -> bool:
        pack = self.packs.get(kind)
        return bool(pack and pack.metric(metric))
