"""Settings: backends and endpoints, from a TOML file and ``FORESHOCK_*`` environment variables.

Precedence: defaults < ``foreshock.toml`` (``$FORESHOCK_CONFIG``, else ``./foreshock.toml``
if present) < environment variables (``FORESHOCK_<FIELD>`` in upper case, e.g.
``FORESHOCK_GRAPH_BACKEND=neo4j``). Anything global can also be passed in explicitly:
tests build their own :class:`Settings`.

Examples
--------
>>> s = Settings.load(env={"FORESHOCK_STORE_BACKEND": "opensearch"}, config=None)
>>> s.store_backend, s.graph_backend, s.kafka_bootstrap
('opensearch', 'embedded', '127.0.0.1:9092')
>>> str(default_home({"FORESHOCK_HOME": "/tmp/fs-doc"}))
'/tmp/fs-doc'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from foreshock.schemas.errors import ConfigError


class Settings(BaseModel):
    """Every setting foreshock reads, with its default."""

    model_config = ConfigDict(extra="forbid")

    home: Path = Field(default=Path(".foreshock"), description="State folder of embedded mode.")
    graph_backend: Literal["embedded", "neo4j"] = "embedded"
    store_backend: Literal["sqlite", "opensearch"] = "sqlite"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = "foreshock"
    kafka_partitions: int = Field(default=4, ge=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How clients talk to Kafka (TLS and/or SASL)."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = Field(
        default="", description="CA certificate (PEM) that signed the brokers' certificates."
    )
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    neo4j_ca_file: str = Field(
        default="",
        description="CA certificate (PEM) for a Neo4j with TLS (bolt+s:// or neo4j+s:// URIs "
        "verify against the system CAs unless this is set).",
    )
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index_prefix: str = "foreshock"
    opensearch_user: str = ""
    opensearch_password: str = ""
    opensearch_ca_file: str = Field(
        default="", description="CA certificate (PEM) for an https:// OpenSearch."
    )
    opensearch_verify_certs: bool = Field(
        default=True, description="Verify OpenSearch's TLS certificate (keep on)."
    )
    prometheus_ca_file: str = Field(
        default="", description="CA certificate (PEM) for an https:// Prometheus."
    )
    prometheus_verify_certs: bool = Field(
        default=True, description="Verify Prometheus' TLS certificate (keep on)."
    )
    prometheus_timeout: float = Field(
        default=10.0, gt=0, description="Seconds any one request to Prometheus may take."
    )
    prometheus_max_bytes: int = Field(
        default=64 << 20, ge=1 << 16, description="Largest Prometheus response read."
    )
    forecast: bool = Field(
        default=True,
        description="Run the forecast stage (capacity forecasts, predicted exhaustion).",
    )
    detector: str = Field(
        default="fleet",
        description="Detector of the detect stage, by registry name (fleet, deep, hst, loda).",
    )
    llm_base_url: str = Field(
        default="",
        description="OpenAI-compatible endpoint that writes reports (http://host:8000/v1); "
        "empty: the offline narrator writes them.",
    )
    llm_api_key: str = Field(default="", description="Key of the LLM endpoint.")
    llm_model: str = Field(default="", description="Model name at the LLM endpoint.")
    llm_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds one LLM request may take."
    )
    llm_max_tokens: int = Field(default=1500, ge=64, description="Most tokens of one answer.")
    llm_token_budget: int = Field(
        default=6000, ge=500, description="Most tokens of one prompt (evidence cut by rank)."
    )
    alert_settle_s: float = Field(
        default=120.0,
        ge=0,
        description="Seconds after an incident opened before it is paged (its diagnosis has "
        "seen the propagation); also the least time between two updates of one page.",
    )
    alert_quiet_s: float = Field(
        default=300.0,
        ge=0,
        description="Seconds a paged incident must stay resolved before its page is resolved; "
        "the same root cause back within them continues the page (same dedup key).",
    )
    pagerduty_routing_key: str = Field(
        default="",
        description="PagerDuty Events API v2 routing key (integration key); set: pages go to "
        "PagerDuty through the durable outbox, as well as to the local alert log.",
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com",
        description="Base URL of the PagerDuty Events API, https:// only (a test points it at "
        "a local server).",
    )
    webhook_url: str = Field(
        default="",
        description="A webhook (e.g. a Slack incoming webhook) that gets every page as JSON, "
        "through the durable outbox; empty: none. Masked in config show (its path is secret).",
    )
    pagerduty_ca_file: str = Field(
        default="",
        description="CA certificates to trust for the Events API (a TLS-inspecting proxy); "
        "empty: the system's.",
    )
    packs: list[Path] = Field(
        default_factory=list,
        description="Pack folders added on top of the built-in packs (os.pathsep-separated "
        "in FORESHOCK_PACKS); a pack of a kind that exists replaces the built-in one.",
    )
    state_key: str = Field(
        default="",
        description="Secret that authenticates stage snapshots on the Kafka state topic "
        "(the same on every worker); empty: a plain checksum.",
    )

    @field_validator("packs", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p for p in value.split(os.pathsep) if p]
        return value

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str) -> str:
        from foreshock.detectors.registry import names

        if value not in names():
            raise ValueError(f"unknown detector {value!r}; known: {', '.join(names())}")
        return value

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, config: Path | Literal["auto"] | None = "auto"
    ) -> Settings:
        """Defaults, then the TOML file, then ``FORESHOCK_*`` variables of ``env``."""
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        path: Path | None
        if config == "auto":
            path = Path(env["FORESHOCK_CONFIG"]) if "FORESHOCK_CONFIG" in env else None
            if path is None and Path("foreshock.toml").is_file():
                path = Path("foreshock.toml")
        else:
            path = config
        if path is not None:
            try:
                data.update(tomllib.loads(path.read_text()).get("foreshock", {}))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"config {path}: {exc}") from exc
        for name in cls.model_fields:
            key = f"FORESHOCK_{name.upper()}"
            if key in env:
                data[name] = env[key]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None

    def updated(self, **changes: Any) -> Settings:
        """These settings with ``changes`` (command-line options), validated.

        >>> Settings.load(env={}, config=None).updated(detector="hst").detector
        'hst'
        >>> Settings.load(env={}, config=None).updated(detector="nope")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foreshock.schemas.errors.ConfigError: invalid setting detector (FORESHOCK_DETECTOR): ...
        """
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets masked (for ``foreshock config show``)."""
        out = self.model_dump(mode="json")
        for k in out:
            if ("password" in k or k.endswith("_key")) and out[k]:
                out[k] = "****"
        if out.get("webhook_url"):  # a webhook's path is its secret (Slack's are)
            scheme, _, rest = str(out["webhook_url"]).partition("://")
            out["webhook_url"] = f"{scheme}://{rest.split('/', 1)[0]}/****"
        return out


def _explain(exc: ValidationError) -> str:
    """One line per setting in error: its name, its variable, what is wrong."""
    parts = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else "?"
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"invalid setting {name} (FORESHOCK_{name.upper()}): {msg}")
    return "; ".join(parts)


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """``$FORESHOCK_HOME``, else ``./.foreshock`` (reports, alerts, dead letters)."""
    env = os.environ if env is None else env
    return Path(env.get("FORESHOCK_HOME", ".foreshock"))
