"""Normal behaviour of each simulated series, by resource kind (exporter names).

A profile is the series' healthy level, its diurnal swing, its noise and, for counters,
that it is cumulative. Faults (:mod:`foreshock.sim.faults`) bend these baselines.

Examples
--------
>>> [s.metric for s in series_for("r", "redis", role=None)][:2]
['redis_up', 'redis_memory_used_bytes']
"""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1024.0**3

#: Limits the simulator's faults drive towards.
REDIS_MAXMEMORY = 4 * GiB
MYSQL_MAX_CONNECTIONS = 500.0
HOST_DISK_SIZE = 500e9
KAFKA_LOG_DIR_SIZE = 400e9


@dataclass(frozen=True)
class SeriesProfile:
    """Healthy behaviour of one series.

    ``base`` is the level (gauges) or the per-second rate (counters); ``diurnal`` the
    fraction it swings over the day (negative: it dips when traffic peaks); ``noise``
    the relative noise (``lognormal`` for heavy-tailed latencies); ``poisson`` draws
    counter increments from a Poisson law (small event counts).
    """

    resource: str
    metric: str
    counter: bool = False
    base: float = 1.0
    diurnal: float = 0.0
    noise: float = 0.0
    lognormal: bool = False
    poisson: bool = False
    integer: bool = False
    lo: float = 0.0
    hi: float = float("inf")
    abs_noise: float = 0.0


def _host(r: str) -> list[SeriesProfile]:
    return [
        SeriesProfile(r, 'node_cpu_seconds_total{mode="idle"}', True, 6.0, -0.12, 0.03),
        SeriesProfile(r, "node_load1", False, 2.0, 0.3, 0.12, lo=0.0),
        SeriesProfile(r, "node_memory_MemAvailable_bytes", False, 16 * GiB, -0.02, 0.004),
        SeriesProfile(
            r,
            'node_filesystem_avail_bytes{mountpoint="/"}',
            False,
            0.55 * HOST_DISK_SIZE,
            0.0,
            0.0004,
        ),
        SeriesProfile(r, 'node_filesystem_size_bytes{mountpoint="/"}', False, HOST_DISK_SIZE),
        SeriesProfile(r, 'node_network_receive_bytes_total{device="eth0"}', True, 5e6, 0.3, 0.06),
        SeriesProfile(r, "node_netstat_Tcp_RetransSegs", True, 2.0, 0.3, poisson=True),
    ]


def _mysql(r: str, replica: bool) -> list[SeriesProfile]:
    scale = 0.6 if replica else 1.0
    out = [
        SeriesProfile(r, "mysql_up", False, 1.0),
        SeriesProfile(
            r,
            "mysql_global_status_threads_connected",
            False,
            80 * scale,
            0.3,
            0.04,
            integer=True,
            lo=1,
            hi=MYSQL_MAX_CONNECTIONS,
        ),
        SeriesProfile(r, "mysql_global_variables_max_connections", False, MYSQL_MAX_CONNECTIONS),
        SeriesProfile(
            r, "mysql_global_status_threads_running", False, 4 * scale, 0.4, 0.2, integer=True, lo=1
        ),
        SeriesProfile(r, "mysql_global_status_questions", True, 1500 * scale, 0.35, 0.04),
        SeriesProfile(r, "mysql_global_status_slow_queries", True, 0.05, 0.3, poisson=True),
        SeriesProfile(r, "mysql_global_status_innodb_row_lock_waits", True, 0.2, 0.3, poisson=True),
        SeriesProfile(r, "mysql_global_status_innodb_row_lock_time", True, 20.0, 0.3, 0.5),
        SeriesProfile(
            r, 'mysql_global_status_connection_errors_total{error="max_connections"}', True, 0.0
        ),
        SeriesProfile(r, "mysql_global_status_aborted_connects", True, 0.01, poisson=True),
    ]
    if replica:
        out.append(
            SeriesProfile(
                r,
                "mysql_slave_status_seconds_behind_master",
                False,
                0.1,
                abs_noise=0.45,
                integer=True,
                lo=0,
            )
        )
    return out


def _redis(r: str) -> list[SeriesProfile]:
    return [
        SeriesProfile(r, "redis_up", False, 1.0),
        SeriesProfile(
            r,
            "redis_memory_used_bytes",
            False,
            0.55 * REDIS_MAXMEMORY,
            0.05,
            0.008,
            hi=REDIS_MAXMEMORY,
        ),
        SeriesProfile(r, "redis_memory_max_bytes", False, REDIS_MAXMEMORY),
        SeriesProfile(r, "redis_evicted_keys_total", True, 0.0),
        SeriesProfile(r, "redis_keyspace_hits_total", True, 4000, 0.35, 0.04),
        SeriesProfile(r, "redis_keyspace_misses_total", True, 200, 0.35, 0.06),
        SeriesProfile(r, "redis_connected_clients", False, 120, 0.1, 0.03, integer=True),
        SeriesProfile(r, "redis_commands_processed_total", True, 5000, 0.35, 0.04),
        SeriesProfile(r, "redis_rejected_connections_total", True, 0.0),
    ]


def _kafka(r: str) -> list[SeriesProfile]:
    return [
        SeriesProfile(r, "kafka_server_brokertopicmetrics_messagesin_total", True, 800, 0.35, 0.05),
        SeriesProfile(r, "kafka_log_log_size", False, 120e9, 0.0, 0.0005),
        SeriesProfile(r, "kafka_log_dir_size_bytes", False, KAFKA_LOG_DIR_SIZE),
        SeriesProfile(
            r,
            'kafka_network_requestmetrics_totaltimems{request="Produce"}',
            False,
            8.0,
            0.2,
            0.12,
            lognormal=True,
        ),
        SeriesProfile(r, "kafka_server_replicamanager_underreplicatedpartitions", False, 0.0),
        SeriesProfile(r, "kafka_server_brokertopicmetrics_failedproducerequests_total", True, 0.0),
    ]


_SERVICE_RATES = {"web": (300.0, 0.25), "orders": (120.0, 0.12), "catalog": (250.0, 0.08)}


def _service(r: str, consumer_group: str | None) -> list[SeriesProfile]:
    if consumer_group:
        return [
            SeriesProfile(r, "app_messages_processed_total", True, 200, 0.35, 0.05),
            SeriesProfile(
                r,
                'app_processing_duration_seconds{quantile="0.99"}',
                False,
                0.05,
                0.1,
                0.08,
                lognormal=True,
            ),
            SeriesProfile(
                r,
                f'kafka_consumergroup_lag{{consumergroup="{consumer_group}"}}',
                False,
                50,
                0.3,
                0.3,
                lognormal=True,
                integer=True,
            ),
        ]
    rate, p99 = _SERVICE_RATES.get(r, (100.0, 0.1))
    return [
        SeriesProfile(r, "http_requests_total", True, rate, 0.35, 0.04),
        SeriesProfile(r, "http_request_errors_total", True, 0.3, 0.35, poisson=True),
        SeriesProfile(
            r,
            'http_request_duration_seconds{quantile="0.99"}',
            False,
            p99,
            0.15,
            0.07,
            lognormal=True,
        ),
    ]


def series_for(resource: str, kind: str, role: str | None) -> list[SeriesProfile]:
    """Profiles of every series the exporters would report for one resource.

    ``role`` carries kind-specific detail from the topology: ``replica`` for a MySQL
    replica, the consumer group name for a consuming service.
    """
    if kind == "host":
        return _host(resource)
    if kind == "mysql":
        return _mysql(resource, replica=role == "replica")
    if kind == "redis":
        return _redis(resource)
    if kind == "kafka":
        return _kafka(resource)
    if kind == "service":
        return _service(resource, consumer_group=role)
    return []
