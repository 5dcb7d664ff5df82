"""``run_live(duration=…)`` is a real deadline, whatever the Prometheus server does.

The runs go in a thread joined with a timeout, so a run that does not stop fails the test
instead of hanging it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from prom_fakes import FakePrometheus

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.runtimes.live import LiveResult, run_live
from foreshock.pipelines.settings import Settings
from foreshock.pipelines.sources.prometheus import PrometheusSource

PACKS = PackIndex(load_packs())


def timed_run(source: PrometheusSource, home: Path, duration: float) -> tuple[LiveResult, float]:
    settings = Settings.load(env={}, config=None).model_copy(update={"forecast": False})
    out: list[LiveResult] = []
    t0 = time.monotonic()
    thread = threading.Thread(
        target=lambda: out.append(run_live(source, home, settings, duration=duration)),
        daemon=True,
    )
    thread.start()
    thread.join(duration + 20.0)
    took = time.monotonic() - t0
    assert not thread.is_alive(), f"run_live still running {took:.0f} s into a {duration} s run"
    assert out, "run_live failed"
    return out[0], took


def test_a_run_ends_at_its_duration_while_prometheus_drips(tmp_path: Path) -> None:
    # discovery answers; every range query then drips a byte a second (the default
    # 10 s request deadline is longer than the run: the run's own deadline cuts it)
    with FakePrometheus("drip_ranges") as prom:
        source = PrometheusSource(prom.url, PACKS, step=1.0, backfill=60.0)
        result, took = timed_run(source, tmp_path, duration=2.0)
    assert took < 4.0, f"a 2 s run took {took:.1f} s"
    assert result.topology.kinds() == {"redis": "redis"} and result.batches == 0


def test_a_run_ends_at_its_duration_while_discovery_drips(tmp_path: Path) -> None:
    with FakePrometheus("drip") as prom:
        result, took = timed_run(PrometheusSource(prom.url, PACKS), tmp_path, duration=1.5)
    assert took < 3.5, f"a 1.5 s run took {took:.1f} s"
    assert result.topology.nodes == [] and result.batches == 0


def test_a_run_ends_at_its_duration_between_polls(tmp_path: Path) -> None:
    # a healthy server, polled every 5 s: the wait between polls looks at the deadline
    with FakePrometheus("ok") as prom:
        source = PrometheusSource(prom.url, PACKS, step=5.0, backfill=20.0, lag=0.0)
        result, took = timed_run(source, tmp_path, duration=2.0)
    assert 2.0 <= took < 3.5, f"a 2 s run took {took:.1f} s"
    assert result.batches >= 20 and source.errors == 0  # the backfill was read
