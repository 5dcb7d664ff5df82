"""App-like load on the lab's Redis, MariaDB and PostgreSQL, with Prometheus metrics.

``python -m foreshock_lab.loadgen`` (started in the background by ``infra/lab/lab.sh``) runs
``--workers`` threads, each making ``--rate`` requests per second with mild randomness. A
request is one of:

- ``product_view``: cache-aside read: ``GET product:<id>`` in Redis; on a miss ``SELECT``
  the row from MariaDB (``shop.products``, 10 000 rows, popular ids read most) and ``SET``
  it with a TTL;
- ``stock_update``: a short MariaDB transaction ``UPDATE``-ing a product's stock, mostly one
  of the hot rows 1-20 (so a transaction holding their row locks makes the app wait), then
  the cache entry is deleted;
- ``order_create``: an order ``INSERT``-ed into PostgreSQL (``shop.orders``);
- ``order_history``: the customer's last orders from PostgreSQL;
- ``session_write``: a ~2 KB session value ``SET`` in Redis with a TTL, so Redis writes keep
  flowing (a lowered ``maxmemory`` then evicts).

Metrics on ``127.0.0.1:--port``: ``app_requests_total{op}``,
``app_errors_total{dependency="redis|mariadb|postgresql"}``, ``app_cache_misses_total``,
``app_cache_hits_total`` and the ``app_request_seconds{op}`` histogram.

A dependency that fails never stops the generator: the error is counted, the connection
dropped, and new connections are tried with exponential backoff (while backing off, calls to
that dependency fail fast and count as errors; reads fall back to MariaDB when Redis is
unavailable). Database connections are recycled every 15-30 s, like a pool with a maximum
lifetime, so exhausted connection limits reach the app.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import psycopg
import pymysql
import redis
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from redis.backoff import NoBackoff
from redis.retry import Retry

from foreshock_lab import LabConfig

__all__ = ["AppMetrics", "Backoff", "LoadGenerator", "Worker", "main"]

log = logging.getLogger("foreshock.lab.loadgen")

DEPENDENCIES = ("redis", "mariadb", "postgresql")
#: Request mix: operation -> weight.
OPERATIONS: dict[str, float] = {
    "product_view": 0.55,
    "session_write": 0.13,
    "stock_update": 0.12,
    "order_create": 0.15,
    "order_history": 0.05,
}
PRODUCTS = 10_000
POPULAR = 500  # ids 1..POPULAR get 80 % of the reads
HOT_ROWS = 20  # ids 1..HOT_ROWS get most stock updates
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
# MariaDB statement-level errors after which the connection is still fine:
# 1205 lock wait timeout, 1213 deadlock.
_STATEMENT_ERRORS = {1205, 1213}


class DependencyUnavailable(Exception):
    """A dependency is backing off after a failure: the call fails fast."""


class AppMetrics:
    """The generator's Prometheus metrics, in ``registry`` (a new one by default).

    Examples
    --------
    >>> m = AppMetrics()
    >>> m.requests.labels(op="product_view").inc()
    >>> m.registry.get_sample_value("app_requests_total", {"op": "product_view"})
    1.0
    >>> m.registry.get_sample_value("app_errors_total", {"dependency": "redis"})
    0.0
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "app_requests", "Requests made, by operation.", ["op"], registry=self.registry
        )
        self.errors = Counter(
            "app_errors",
            "Failed calls to a dependency (including fast failures while backing off).",
            ["dependency"],
            registry=self.registry,
        )
        self.cache_misses = Counter(
            "app_cache_misses", "Product reads not answered by Redis.", registry=self.registry
        )
        self.cache_hits = Counter(
            "app_cache_hits", "Product reads answered by Redis.", registry=self.registry
        )
        self.latency = Histogram(
            "app_request_seconds",
            "Request latency, by operation.",
            ["op"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        for op in OPERATIONS:  # every series exists from the first scrape on
            self.requests.labels(op=op)
            self.latency.labels(op=op)
        for dep in DEPENDENCIES:
            self.errors.labels(dependency=dep)


@dataclass
class Backoff:
    """Exponential backoff with jitter after consecutive failures.

    Examples
    --------
    >>> b = Backoff(base=1.0, cap=8.0, jitter=0.0)
    >>> b.ready(0.0)
    True
    >>> b.failed(10.0); b.ready(10.5), b.ready(11.0)
    (False, True)
    >>> b.failed(11.0); b.next_try
    13.0
    >>> b.succeeded(); b.ready(11.0)
    True
    """

    base: float = 0.5
    cap: float = 5.0
    jitter: float = 0.2
    failures: int = 0
    next_try: float = 0.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def ready(self, now: float) -> bool:
        """May a new attempt be made at ``now``?"""
        return now >= self.next_try

    def failed(self, now: float) -> None:
        """Record a failure at ``now``; the next attempt waits longer."""
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1))
        self.next_try = now + delay * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def succeeded(self) -> None:
        """Record a success: no more waiting."""
        self.failures = 0
        self.next_try = 0.0


class Worker(threading.Thread):
    """One app thread with its own connections to the three dependencies."""

    def __init__(
        self,
        index: int,
        config: LabConfig,
        metrics: AppMetrics,
        stop: threading.Event,
        rate: float = 4.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=f"loadgen-worker-{index}", daemon=True)
        self.config = config
        self.metrics = metrics
        self.stop = stop
        self.rate = rate
        self.rng = random.Random(seed)
        self.clock = clock
        self._redis: redis.Redis | None = None
        self._mariadb: Any = None  # pymysql.connections.Connection (untyped)
        self._mariadb_expires = 0.0
        self._pg: psycopg.Connection[Any] | None = None
        self._pg_expires = 0.0
        self._backoff = {d: Backoff(rng=random.Random(self.rng.random())) for d in DEPENDENCIES}
        self._down: dict[str, bool] = dict.fromkeys(DEPENDENCIES, False)
        self._ops = list(OPERATIONS)
        self._weights = [OPERATIONS[o] for o in self._ops]

    # --- connections ---------------------------------------------------------------------

    def _guard(self, dependency: str) -> None:
        if not self._backoff[dependency].ready(self.clock()):
            raise DependencyUnavailable(dependency)

    def _failed(self, dependency: str, exc: BaseException) -> None:
        """Count the error; drop the connection and back off if it was not a statement error."""
        self.metrics.errors.labels(dependency=dependency).inc()
        if isinstance(exc, DependencyUnavailable):
            return
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if dependency == "mariadb" and code in _STATEMENT_ERRORS:
            self._rollback_mariadb()
            return
        self._close(dependency)
        self._backoff[dependency].failed(self.clock())
        if not self._down[dependency]:
            self._down[dependency] = True
            log.warning("dependency_failed dependency=%s error=%s", dependency, exc)

    def _ok(self, dependency: str) -> None:
        self._backoff[dependency].succeeded()
        if self._down[dependency]:
            self._down[dependency] = False
            log.info("dependency_recovered dependency=%s worker=%s", dependency, self.name)

    def _rollback_mariadb(self) -> None:
        try:
            if self._mariadb is not None:
                self._mariadb.rollback()
        except Exception:
            self._close("mariadb")

    def _close(self, dependency: str) -> None:
        try:
            if dependency == "redis" and self._redis is not None:
                self._redis.close()
            elif dependency == "mariadb" and self._mariadb is not None:
                self._mariadb.close()
            elif dependency == "postgresql" and self._pg is not None:
                self._pg.close()
        except Exception:
            pass  # closing a broken connection may fail too; it is dropped either way
        if dependency == "redis":
            self._redis = None
        elif dependency == "mariadb":
            self._mariadb = None
        else:
            self._pg = None

    def close(self) -> None:
        """Close every connection of this worker."""
        for dep in DEPENDENCIES:
            self._close(dep)

    def redis_client(self) -> redis.Redis:
        """This worker's Redis client (connects lazily)."""
        self._guard("redis")
        if self._redis is None:
            self._redis = redis.Redis(
                host=self.config.host,
                port=self.config.redis_port,
                socket_timeout=2.0,
                socket_connect_timeout=1.0,
                retry=Retry(NoBackoff(), 0),  # the worker backs off itself
            )
        return self._redis

    def expire(self) -> None:
        """Close database connections past their lifetime (the next request reconnects).

        Closing after a request and reconnecting lazily (not in one go) lets another client
        take the freed slot meanwhile, as with a real pool when connections run out.
        """
        now = self.clock()
        if self._mariadb is not None and now >= self._mariadb_expires:
            self._close("mariadb")
        if self._pg is not None and now >= self._pg_expires:
            self._close("postgresql")

    def mariadb(self) -> Any:
        """This worker's MariaDB connection, recycled every 15-30 s (see :meth:`expire`)."""
        self._guard("mariadb")
        now = self.clock()
        if self._mariadb is None:
            self._mariadb = pymysql.connect(
                host=self.config.host,
                port=self.config.mariadb_port,
                user=self.config.app_user,
                password=self.config.app_password,
                database=self.config.database,
                connect_timeout=2,
                read_timeout=30,  # longer than innodb_lock_wait_timeout (10 s)
                write_timeout=10,
                autocommit=True,
            )
            self._mariadb_expires = now + self.rng.uniform(15, 30)
        return self._mariadb

    def postgresql(self) -> psycopg.Connection[Any]:
        """This worker's PostgreSQL connection, recycled every 15-30 s (see :meth:`expire`)."""
        self._guard("postgresql")
        now = self.clock()
        if self._pg is None:
            self._pg = psycopg.connect(
                host=self.config.host,
                port=self.config.pg_port,
                user=self.config.app_user,
                password=self.config.app_password,
                dbname=self.config.database,
                connect_timeout=2,
                autocommit=True,
                options="-c statement_timeout=15000",
            )
            self._pg_expires = now + self.rng.uniform(15, 30)
        return self._pg

    # --- operations ----------------------------------------------------------------------

    def _product_id(self) -> int:
        if self.rng.random() < 0.8:
            return self.rng.randint(1, POPULAR)
        return self.rng.randint(1, PRODUCTS)

    def product_view(self) -> None:
        """Cache-aside read of one product."""
        pid = self._product_id()
        key = f"product:{pid}"
        cached: Any = None
        cache_ok = False
        try:
            cached = self.redis_client().get(key)
            self._ok("redis")
            cache_ok = True
        except Exception as exc:
            self._failed("redis", exc)
        if cached is not None:
            self.metrics.cache_hits.inc()
            return
        self.metrics.cache_misses.inc()
        try:
            with self.mariadb().cursor() as cur:
                cur.execute(
                    "SELECT id, sku, name, description, price, stock FROM products WHERE id = %s",
                    (pid,),
                )
                row = cur.fetchone()
            self._ok("mariadb")
        except Exception as exc:
            self._failed("mariadb", exc)
            return
        if row is None or not cache_ok:
            return
        value = json.dumps(
            {"id": row[0], "sku": row[1], "name": row[2], "description": row[3],
             "price": str(row[4]), "stock": row[5]}
        )  # fmt: skip
        try:
            self.redis_client().set(key, value, ex=self.rng.randint(300, 600))
            self._ok("redis")
        except Exception as exc:
            self._failed("redis", exc)

    def session_write(self) -> None:
        """Write a ~2 KB session value with a TTL."""
        key = f"session:{self.rng.getrandbits(64):016x}"
        value = self.rng.randbytes(1024).hex()
        try:
            self.redis_client().set(key, value, ex=600)
            self._ok("redis")
        except Exception as exc:
            self._failed("redis", exc)

    def stock_update(self) -> None:
        """A short transaction on (mostly) a hot row, then cache invalidation."""
        pid = self.rng.randint(1, HOT_ROWS) if self.rng.random() < 0.8 else self._product_id()
        try:
            conn = self.mariadb()
            conn.begin()
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE products SET stock = stock - 1, updated_at = NOW() WHERE id = %s",
                    (pid,),
                )
            conn.commit()
            self._ok("mariadb")
        except Exception as exc:
            self._failed("mariadb", exc)
            return
        try:
            self.redis_client().delete(f"product:{pid}")
            self._ok("redis")
        except Exception as exc:
            self._failed("redis", exc)

    def order_create(self) -> None:
        """Insert one order into PostgreSQL."""
        qty = self.rng.randint(1, 3)
        try:
            self.postgresql().execute(
                "INSERT INTO orders (customer_id, product_id, quantity, amount)"
                " VALUES (%s, %s, %s, %s)",
                (self.rng.randint(1, 5000), self._product_id(), qty, round(qty * 9.99, 2)),
            )
            self._ok("postgresql")
        except Exception as exc:
            self._failed("postgresql", exc)

    def order_history(self) -> None:
        """Read a customer's last orders from PostgreSQL."""
        try:
            self.postgresql().execute(
                "SELECT id, product_id, amount, created_at FROM orders"
                " WHERE customer_id = %s ORDER BY created_at DESC LIMIT 10",
                (self.rng.randint(1, 5000),),
            ).fetchall()
            self._ok("postgresql")
        except Exception as exc:
            self._failed("postgresql", exc)

    def step(self) -> str:
        """Make one request of a random operation; returns its name."""
        op = self.rng.choices(self._ops, self._weights)[0]
        t0 = time.perf_counter()
        try:
            getattr(self, op)()
        except Exception:  # a bug must not kill the thread: count it and go on
            log.exception("request_failed op=%s", op)
        self.metrics.requests.labels(op=op).inc()
        self.metrics.latency.labels(op=op).observe(time.perf_counter() - t0)
        self.expire()
        return op

    def run(self) -> None:
        """Requests at ``rate`` per second (±50 % per pause) until ``stop`` is set."""
        try:
            while not self.stop.is_set():
                t0 = self.clock()
                self.step()
                pause = self.rng.uniform(0.5, 1.5) / self.rate - (self.clock() - t0)
                if pause > 0:
                    self.stop.wait(pause)
        finally:
            self.close()


class LoadGenerator:
    """``workers`` :class:`Worker` threads sharing one :class:`AppMetrics`."""

    def __init__(
        self,
        config: LabConfig | None = None,
        workers: int = 8,
        rate: float = 4.0,
        seed: int | None = None,
        metrics: AppMetrics | None = None,
    ) -> None:
        self.config = config or LabConfig()
        self.metrics = metrics or AppMetrics()
        self.stop = threading.Event()
        base = random.Random(seed)
        self.workers = [
            Worker(i, self.config, self.metrics, self.stop, rate=rate, seed=base.getrandbits(32))
            for i in range(workers)
        ]

    def start(self) -> None:
        """Start the worker threads, spread over one pause so they do not move in step."""
        for w in self.workers:
            w.start()
            self.stop.wait(1.0 / max(w.rate, 0.1) / len(self.workers))

    def shutdown(self, timeout: float = 15.0) -> None:
        """Ask the workers to stop and wait for them (a lock wait may take ~10 s)."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load generator until SIGTERM or SIGINT."""
    config = LabConfig()
    p = argparse.ArgumentParser(prog="python -m foreshock_lab.loadgen", description=__doc__)
    p.add_argument("--port", type=int, default=config.app_port, help="metrics port")
    p.add_argument("--workers", type=int, default=8, help="worker threads (default 8)")
    p.add_argument("--rate", type=float, default=4.0, help="requests/s per worker (default 4)")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # The clients log every failed reconnect themselves; the generator logs state changes.
    logging.getLogger("psycopg").setLevel(logging.ERROR)

    # No *_created series: they only clutter the pipeline's input.
    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client
    gen = LoadGenerator(config, workers=args.workers, rate=args.rate, seed=args.seed)
    start_http_server(args.port, addr=config.host, registry=gen.metrics.registry)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping signal=%s", signum)
        gen.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "started workers=%s rate=%s metrics=http://%s:%s/metrics",
        args.workers, args.rate, config.host, args.port,
    )  # fmt: skip
    gen.start()
    while not gen.stop.wait(1.0):
        pass
    gen.shutdown()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
