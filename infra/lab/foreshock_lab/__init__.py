"""The real-middleware lab: an app-like load generator and fault injection.

The servers (Redis, MariaDB, PostgreSQL, the exporters and Prometheus) are started by
``infra/lab/lab.sh``; this package holds the Python that runs against them:

- :mod:`foreshock_lab.loadgen` — ``python -m foreshock_lab.loadgen``: steady, app-like
  traffic (cache-aside reads, hot-row updates, orders) with its own Prometheus metrics.
- :mod:`foreshock_lab.faults` — ``python -m foreshock_lab.faults inject|revert NAME``: the
  faults the pipeline must explain, injected into and reverted from the running lab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"FORESHOCK_LAB_{name}_PORT", default))


@dataclass(frozen=True)
class LabConfig:
    """Where the lab's servers listen and keep their files (``FORESHOCK_LAB_*`` variables).

    Examples
    --------
    >>> cfg = LabConfig(lab_dir=Path("/tmp/x"), prometheus_port=9090)
    >>> cfg.run_dir, cfg.prometheus_url
    (PosixPath('/tmp/x/run'), 'http://127.0.0.1:9090')
    """

    lab_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("FORESHOCK_LAB_DIR", "/tmp/foreshock-lab"))
    )
    host: str = "127.0.0.1"
    redis_port: int = field(default_factory=lambda: _port("REDIS", 6379))
    mariadb_port: int = field(default_factory=lambda: _port("MARIADB", 3306))
    pg_port: int = field(default_factory=lambda: _port("PG", 5432))
    app_port: int = field(default_factory=lambda: _port("APP", 9464))
    prometheus_port: int = field(default_factory=lambda: _port("PROMETHEUS", 9090))
    app_user: str = "app"
    app_password: str = "app"
    database: str = "shop"

    @property
    def run_dir(self) -> Path:
        """Pid files and state of fault holders."""
        return self.lab_dir / "run"

    @property
    def log_dir(self) -> Path:
        """The servers' own logs (``redis.log``, ``mariadb.err``, ``postgresql.log``, ...)."""
        return self.lab_dir / "logs"

    @property
    def prometheus_url(self) -> str:
        """Base URL of the lab's Prometheus."""
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def lab_script(self) -> Path:
        """``infra/lab/lab.sh`` of this checkout (this package lives beside it)."""
        return Path(__file__).resolve().parents[1] / "lab.sh"
