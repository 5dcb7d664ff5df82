"""The fault library: each fault has a true root cause and bends series along the graph.

A fault is data: its root-cause resource and failure mode, and a list of
:class:`Bend` records saying which series change, how, how much, and after what
propagation delay. The simulator jitters delays and magnitudes per seed, so no two runs
are alike.

Examples
--------
>>> f = FAULTS["redis_memory_exhaustion"]
>>> f.root, f.failure_mode
('redis-cache', 'memory_exhaustion')
>>> len(FAULTS) >= 8
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from foreshock.sim.profiles import (
    KAFKA_LOG_DIR_SIZE,
    MYSQL_MAX_CONNECTIONS,
    REDIS_MAXMEMORY,
)

Op = Literal["mult", "add", "toward"]

_P99 = 'http_request_duration_seconds{quantile="0.99"}'
_ERR = "http_request_errors_total"
_PROC = 'app_processing_duration_seconds{quantile="0.99"}'
_LAG = 'kafka_consumergroup_lag{consumergroup="billing"}'


@dataclass(frozen=True)
class Bend:
    """One change a fault makes to one series.

    ``mult``: value × (1 + amount·f); ``add``: value + amount·f (for counters: the rate);
    ``toward``: value moves to ``amount`` (an absolute level) as f goes 0 → 1, where
    f ramps from 0 to 1 over ``ramp`` seconds, ``delay`` seconds after the fault starts.
    """

    resource: str
    metric: str
    op: Op
    amount: float
    delay: float = 0.0
    ramp: float = 120.0


@dataclass(frozen=True)
class Fault:
    """A fault: its true root cause, the series it bends, and for gradual-exhaustion
    faults the bend whose ramp end is the moment the resource runs out (``exhausts``:
    index into ``bends``)."""

    name: str
    root: str
    failure_mode: str
    description: str
    bends: tuple[Bend, ...] = field(default_factory=tuple)
    duration: float = 3600.0
    exhausts: int | None = None


def _fault(
    name: str,
    root: str,
    mode: str,
    desc: str,
    *bends: Bend,
    duration: float = 3600.0,
    exhausts: int | None = None,
) -> Fault:
    return Fault(name, root, mode, desc, tuple(bends), duration, exhausts)


_HOURS = 3600.0
#: Gradual faults ramp over this long (jittered ±25% per seed) before the resource runs out.
EXHAUSTION_RAMP = 4 * _HOURS


B = Bend

FAULTS: dict[str, Fault] = {
    f.name: f
    for f in [
        _fault(
            "redis_memory_exhaustion",
            "redis-cache",
            "memory_exhaustion",
            "Redis fills to maxmemory and evicts keys; misses fall through to MySQL.",
            B("redis-cache", "redis_memory_used_bytes", "toward", 0.997 * REDIS_MAXMEMORY, 0, 900),
            B("redis-cache", "redis_evicted_keys_total", "add", 400, 720, 180),
            B("redis-cache", "redis_keyspace_misses_total", "mult", 2.5, 750, 240),
            B("redis-cache", "redis_keyspace_hits_total", "mult", -0.35, 750, 240),
            B("mysql-primary", "mysql_global_status_questions", "mult", 0.8, 800, 240),
            B("mysql-replica", "mysql_global_status_questions", "mult", 1.0, 800, 240),
            B("mysql-primary", "mysql_global_status_threads_running", "mult", 1.0, 820, 240),
            B("orders", _P99, "mult", 1.2, 820, 240),
            B("catalog", _P99, "mult", 1.5, 800, 240),
            B("web", _P99, "mult", 0.8, 860, 240),
        ),
        _fault(
            "mysql_connection_exhaustion",
            "mysql-primary",
            "connection_exhaustion",
            "A connection leak drives MySQL to max_connections; clients get refused.",
            B(
                "mysql-primary",
                "mysql_global_status_threads_connected",
                "toward",
                MYSQL_MAX_CONNECTIONS,
                0,
                900,
            ),
            B(
                "mysql-primary",
                'mysql_global_status_connection_errors_total{error="max_connections"}',
                "add",
                15,
                840,
                120,
            ),
            B("mysql-primary", "mysql_global_status_aborted_connects", "add", 5, 840, 120),
            B("orders", _ERR, "add", 6, 870, 120),
            B("orders", _P99, "mult", 0.8, 870, 120),
            B("billing-worker", "app_messages_processed_total", "mult", -0.5, 880, 120),
            B("billing-worker", _LAG, "mult", 20, 900, 600),
            B("web", _ERR, "add", 4, 900, 120),
        ),
        _fault(
            "mysql_replication_lag",
            "mysql-replica",
            "replication_lag",
            "The replica's SQL thread falls behind the primary.",
            B("mysql-replica", "mysql_slave_status_seconds_behind_master", "add", 400, 0, 1200),
            B("mysql-replica", "mysql_global_status_threads_running", "mult", 1.5, 60, 300),
            B("catalog", _P99, "mult", 0.4, 300, 300),
        ),
        _fault(
            "mysql_lock_contention",
            "mysql-primary",
            "lock_contention",
            "A long transaction holds row locks; queries wait and turn slow.",
            B("mysql-primary", "mysql_global_status_innodb_row_lock_waits", "add", 40, 0, 180),
            B("mysql-primary", "mysql_global_status_innodb_row_lock_time", "add", 3000, 0, 180),
            B("mysql-primary", "mysql_global_status_slow_queries", "add", 3, 60, 180),
            B("mysql-primary", "mysql_global_status_threads_running", "mult", 3, 60, 180),
            B("mysql-primary", "mysql_global_status_questions", "mult", -0.2, 120, 180),
            B("orders", _P99, "mult", 3, 150, 180),
            B("billing-worker", _PROC, "mult", 2, 180, 180),
            B("billing-worker", _LAG, "mult", 10, 300, 600),
            B("web", _P99, "mult", 1.5, 200, 180),
        ),
        _fault(
            "kafka_consumer_lag",
            "billing-worker",
            "slow_consumer",
            "The billing consumer slows down and its group falls behind the topic.",
            B("billing-worker", _PROC, "mult", 4, 0, 300),
            B("billing-worker", "app_messages_processed_total", "mult", -0.6, 60, 300),
            B("billing-worker", _LAG, "add", 50000, 120, 1500),
        ),
        _fault(
            "kafka_broker_disk_full",
            "kafka-broker",
            "disk_full",
            "Retention stops deleting; the broker's log dir fills the disk of host-3.",
            B("kafka-broker", "kafka_log_log_size", "toward", 390e9, 0, 1800),
            B("host-3", 'node_filesystem_avail_bytes{mountpoint="/"}', "toward", 5e8, 0, 1800),
            B(
                "kafka-broker",
                "kafka_server_brokertopicmetrics_failedproducerequests_total",
                "add",
                20,
                1500,
                120,
            ),
            B(
                "kafka-broker",
                'kafka_network_requestmetrics_totaltimems{request="Produce"}',
                "mult",
                5,
                1500,
                120,
            ),
            B("orders", _ERR, "add", 5, 1530, 120),
        ),
        _fault(
            "host_cpu_saturation",
            "host-2",
            "cpu_saturation",
            "A runaway process saturates the CPU of the MySQL primary's host.",
            B("host-2", 'node_cpu_seconds_total{mode="idle"}', "mult", -0.9, 0, 120),
            B("host-2", "node_load1", "mult", 4, 0, 180),
            B("mysql-primary", "mysql_global_status_threads_running", "mult", 2.5, 60, 180),
            B("mysql-primary", "mysql_global_status_slow_queries", "add", 2, 90, 180),
            B("orders", _P99, "mult", 1.5, 120, 180),
            B("billing-worker", _PROC, "mult", 1.5, 150, 180),
            B("web", _P99, "mult", 0.8, 150, 180),
        ),
        _fault(
            "network_latency",
            "host-1",
            "network_degradation",
            "Packet loss on the Redis host's NIC adds latency to every Redis call.",
            B("host-1", "node_netstat_Tcp_RetransSegs", "add", 60, 0, 60),
            B("host-1", 'node_network_receive_bytes_total{device="eth0"}', "mult", -0.2, 30, 60),
            B("redis-cache", "redis_commands_processed_total", "mult", -0.2, 30, 60),
            B("redis-cache", "redis_connected_clients", "mult", 0.3, 60, 60),
            B("orders", _P99, "mult", 2, 30, 60),
            B("catalog", _P99, "mult", 2.5, 30, 60),
            B("web", _P99, "mult", 1.2, 60, 60),
        ),
        _fault(
            "redis_down",
            "redis-cache",
            "unreachable",
            "Redis crashes; every read falls through to MySQL and callers time out.",
            B("redis-cache", "redis_up", "toward", 0.0, 0, 15),
            B("redis-cache", "redis_commands_processed_total", "mult", -1.0, 0, 15),
            B("redis-cache", "redis_connected_clients", "toward", 0.0, 0, 15),
            B("redis-cache", "redis_keyspace_hits_total", "mult", -1.0, 0, 15),
            B("redis-cache", "redis_keyspace_misses_total", "mult", -1.0, 0, 15),
            B("mysql-primary", "mysql_global_status_questions", "mult", 1.5, 30, 60),
            B("mysql-replica", "mysql_global_status_questions", "mult", 2.0, 30, 60),
            B("orders", _ERR, "add", 3, 30, 30),
            B("orders", _P99, "mult", 1.5, 30, 60),
            B("catalog", _P99, "mult", 2.0, 30, 60),
            B("web", _P99, "mult", 1.0, 60, 60),
            duration=1800.0,
        ),
        # -- gradual exhaustion: the capacity runs out at the end of a slow ramp ----------
        _fault(
            "disk_filling",
            "host-2",
            "disk_full",
            "Binlogs accumulate on the MySQL primary's host until its disk is full.",
            B(
                "host-2",
                'node_filesystem_avail_bytes{mountpoint="/"}',
                "toward",
                0.0,
                0,
                EXHAUSTION_RAMP,
            ),
            duration=12 * _HOURS,
            exhausts=0,
        ),
        _fault(
            "redis_memory_leak",
            "redis-cache",
            "memory_exhaustion",
            "Keys without TTL pile up until Redis reaches maxmemory.",
            B(
                "redis-cache",
                "redis_memory_used_bytes",
                "toward",
                REDIS_MAXMEMORY,
                0,
                EXHAUSTION_RAMP,
            ),
            duration=12 * _HOURS,
            exhausts=0,
        ),
        _fault(
            "mysql_connection_leak",
            "mysql-primary",
            "connection_exhaustion",
            "A client leaks connections until MySQL reaches max_connections.",
            B(
                "mysql-primary",
                "mysql_global_status_threads_connected",
                "toward",
                MYSQL_MAX_CONNECTIONS,
                0,
                EXHAUSTION_RAMP,
            ),
            duration=12 * _HOURS,
            exhausts=0,
        ),
        _fault(
            "kafka_retention_growth",
            "kafka-broker",
            "disk_full",
            "Retention was raised; the broker's log grows until the log dir is full.",
            B(
                "kafka-broker",
                "kafka_log_log_size",
                "toward",
                KAFKA_LOG_DIR_SIZE,
                0,
                EXHAUSTION_RAMP,
            ),
            duration=12 * _HOURS,
            exhausts=0,
        ),
    ]
}

#: Faults whose truth carries an ``exhaustion_at`` time.
GRADUAL = sorted(name for name, f in FAULTS.items() if f.exhausts is not None)
