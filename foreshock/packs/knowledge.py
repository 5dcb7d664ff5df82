"""The middleware knowledge base: failure modes with symptoms, causes, checks and fixes.

One YAML file per resource kind under ``packs/knowledge/`` (MySQL/MariaDB, PostgreSQL,
Redis, Kafka, OpenSearch, hosts), written in our own words from the servers' official
documentation. Each failure mode has an id ``<kind>.<name>`` (the same ``<name>`` as a
pack's failure mode where one exists), the metric symptoms with their direction and
characteristic log lines, causes, diagnosis checks (the exact command and what to look
for) and remediations with a risk label. It is data for retrieval and for the LLM
enricher's prompt; ranking root causes uses the packs' own failure modes, not this.

Examples
--------
>>> kb = load_knowledge()
>>> len(kb) >= 60, sorted({m.kind for m in kb})
(True, ['host', 'kafka', 'mysql', 'opensearch', 'postgresql', 'redis'])
>>> m = next(m for m in kb if m.id == "redis.memory_exhaustion")
>>> m.symptoms.metrics[0].metric, m.remediations[0].risk in {"low", "medium", "high"}
('redis_memory_used_bytes', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from foreshock.schemas.errors import ConfigError

__all__ = ["KNOWLEDGE", "KbFailureMode", "load_knowledge"]

KNOWLEDGE = Path(__file__).parent / "knowledge"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KbMetric(_Strict):
    """A metric that moves in this failure, and which way."""

    metric: str
    direction: Literal["up", "down"]


class KbSymptoms(_Strict):
    """Metric symptoms and substrings of characteristic log lines."""

    metrics: list[KbMetric] = Field(min_length=1)
    logs: list[str] = Field(default_factory=list)


class KbCheck(_Strict):
    """A diagnosis check: the exact command, and what to look for in its output."""

    command: str
    look_for: str


class KbRemediation(_Strict):
    """A remediation and its risk."""

    action: str
    risk: Literal["low", "medium", "high"]


class KbFailureMode(_Strict):
    """One failure mode of one resource kind."""

    id: str = Field(pattern=r"^[a-z]+\.[a-z0-9_]+$")
    title: str = Field(max_length=80)
    summary: str
    symptoms: KbSymptoms
    causes: list[str] = Field(min_length=1)
    checks: list[KbCheck] = Field(min_length=1)
    remediations: list[KbRemediation] = Field(min_length=1)
    references: list[str] = Field(min_length=1)

    @property
    def kind(self) -> str:
        """The resource kind (the id's first part)."""
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The failure mode's name within its kind (a pack's name where one exists)."""
        return self.id.split(".", 1)[1]

    def text(self) -> str:
        """Everything a person would search for, as one text."""
        parts = [self.title, self.summary, *self.causes]
        parts += [f"{m.metric} {m.direction}" for m in self.symptoms.metrics]
        parts += self.symptoms.logs
        parts += [f"{c.command} {c.look_for}" for c in self.checks]
        parts += [r.action for r in self.remediations]
        return "\n".join(parts)


class _File(_Strict):
    kind: str
    failure_modes: list[KbFailureMode]


def load_knowledge(folder: Path = KNOWLEDGE) -> list[KbFailureMode]:
    """Every failure mode of every ``*.yaml`` in ``folder``, validated.

    Raises
    ------
    ConfigError
        A file that is not valid YAML or does not match the schema (file, field, reason),
        an id whose kind is not its file's, or an id used twice.
    """
    modes: list[KbFailureMode] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = _File.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"knowledge file {path}: {exc}") from exc
        for m in data.failure_modes:
            if m.kind != data.kind:
                raise ConfigError(f"knowledge file {path}: {m.id} is not of kind {data.kind}")
            if m.id in seen:
                raise ConfigError(f"knowledge file {path}: {m.id} already in {seen[m.id]}")
            seen[m.id] = path
            modes.append(m)
    return modes
