"""Topic names of the distributed runtime, and their creation (idempotent).

One topic per arrow of the design. Keys: metrics by resource (so one series' detector
state lives on one partition), anomalies by connected component of the topology (so one
correlator sees every anomaly of a connected group), incidents, reports and alerts by
incident id; ticks and end-of-replay markers are broadcast to every partition.

Examples
--------
>>> t = TopicNames("fs")
>>> t.metrics, t.dead_letters
('fs.metrics', 'fs.dead-letters')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foreshock.pipelines.kafka.connection import (
    KafkaConnection,
    admin_client,
    check_kafka,
    kafka_connection,
)
from foreshock.schemas.errors import ConfigError


@dataclass(frozen=True)
class TopicNames:
    prefix: str

    @property
    def metrics(self) -> str:
        return f"{self.prefix}.metrics"

    @property
    def logs(self) -> str:
        return f"{self.prefix}.logs"

    @property
    def anomalies(self) -> str:
        return f"{self.prefix}.anomalies"

    @property
    def forecasts(self) -> str:
        return f"{self.prefix}.forecasts"

    @property
    def incidents(self) -> str:
        return f"{self.prefix}.incidents"

    @property
    def reports(self) -> str:
        return f"{self.prefix}.reports"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dead-letters"

    @property
    def control(self) -> str:
        return f"{self.prefix}.control"

    def all(self) -> list[str]:
        return [
            self.metrics,
            self.logs,
            self.anomalies,
            self.forecasts,
            self.incidents,
            self.reports,
            self.alerts,
            self.dead_letters,
            self.control,
        ]


def ensure_topics(
    bootstrap: str | KafkaConnection, names: TopicNames, partitions: int, timeout: float = 30.0
) -> None:
    """Create every topic with ``partitions`` partitions unless it exists.

    ``bootstrap`` is a :class:`KafkaConnection` (TLS, SASL), or ``host:port`` for a plain
    one. Kafka not answering, rejecting the credentials or showing a certificate that is
    not trusted is one :class:`ConfigError` line (:func:`check_kafka`).
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.cimpl import NewTopic

    conn = kafka_connection(bootstrap)
    errors: list[Any] = []
    admin = admin_client(conn, errors)
    existing = set(check_kafka(admin, conn, errors, timeout).topics)
    new = [
        NewTopic(t, num_partitions=partitions, replication_factor=1)
        for t in names.all()
        if t not in existing
    ]
    if not new:
        return
    for topic, fut in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            fut.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise ConfigError(f"cannot create topic {topic}: {exc}") from None
