"""Every request to Prometheus is bounded and verified, and its errors say what was wrong.

Against throwaway servers on loopback ports (prom_fakes): a server that drips, one whose
body is over the cap, one that sends garbage, one that answers 503, one behind TLS with a
private CA.
"""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from prom_fakes import FakePrometheus, TLSHandshakeDrip, make_certs

from foreshock.packs.loader import PackIndex, load_packs
from foreshock.pipelines.sources.prom_http import PrometheusError
from foreshock.pipelines.sources.prometheus import PrometheusSource
from foreshock.schemas.errors import ConfigError, ForeshockError

PACKS = PackIndex(load_packs())


def failure(source: PrometheusSource) -> tuple[str, float]:
    """The one-line error of a discovery against ``source``, and how long it took."""
    t0 = time.monotonic()
    with pytest.raises(PrometheusError) as caught:
        source.discover()
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, ForeshockError)
    return message, time.monotonic() - t0


@pytest.mark.parametrize("mode", ["drip", "drip_headers"])
def test_a_server_that_drips_is_cut_off_at_the_deadline(mode: str) -> None:
    # one byte a second never trips a per-read timeout: only a whole-request deadline ends it
    with FakePrometheus(mode) as prom:
        message, took = failure(PrometheusSource(prom.url, PACKS, timeout=1.5))
    assert message.endswith("timed out after 1.5 s (prometheus_timeout)")
    assert 1.4 < took < 3.0


def test_a_tls_handshake_that_drips_is_cut_off_at_the_deadline() -> None:
    with TLSHandshakeDrip() as prom:
        message, took = failure(PrometheusSource(prom.url, PACKS, timeout=1.5))
    assert message.endswith("timed out after 1.5 s (prometheus_timeout)")
    assert took < 3.0


def test_a_body_over_the_cap_stops_the_read_and_names_query_and_cap() -> None:
    tracemalloc.start()
    try:
        with FakePrometheus("big", size=64 << 20) as prom:  # chunked: no length to refuse
            message, took = failure(PrometheusSource(prom.url, PACKS, max_bytes=1 << 16))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 'response over 64 KiB (prometheus_max_bytes) to query {__name__=~"' in message
    assert peak < 8 << 20 and took < 5.0  # read up to the cap, not the 64 MiB


def test_a_gzip_body_is_capped_after_decoding() -> None:
    with FakePrometheus("gzip_bomb", size=16 << 20) as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS, max_bytes=1 << 20))
    assert "response over 1 MiB (prometheus_max_bytes)" in message
    with FakePrometheus("bad_gzip", size=1 << 16) as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS))
    assert message.endswith("the response is not valid gzip")


def test_garbage_and_foreign_json_say_what_they_are() -> None:
    with FakePrometheus("garbage") as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS))
    assert "the response is not JSON (it starts with '<html><body>Welcome to nginx!" in message
    assert "Expecting value" not in message
    with FakePrometheus("not_api") as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS))
    assert message.endswith("not a Prometheus API response (no status/data)")


def test_http_errors_name_the_status_and_never_the_password() -> None:
    with FakePrometheus("status", status=503) as prom:
        url = prom.url.replace("http://", "http://alice:s3cret@")
        message, _ = failure(PrometheusSource(url, PACKS))
        sent = prom.requests[0][1]
    masked = url.replace("s3cret", "****")
    assert message.startswith(f"cannot query Prometheus at {masked}: HTTP 503 from {masked}/")
    assert message.endswith("upstream unavailable") and "s3cret" not in message
    assert sent["Authorization"] == "Basic YWxpY2U6czNjcmV0"  # the URL's user, as Basic auth
    with FakePrometheus("api_error") as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS))
    assert "HTTP 400 from" in message and message.endswith("bad_data: parse error at char 3")


def test_tls_is_verified_against_the_system_or_the_given_ca(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    with FakePrometheus("ok", certs=certs) as prom:
        message, _ = failure(PrometheusSource(prom.url, PACKS))  # verification is on
        assert "TLS certificate not trusted" in message
        assert "set prometheus_ca_file" in message
        trusted = PrometheusSource(prom.url, PACKS, ca_file=str(certs.ca))
        assert trusted.discover().topology.kinds() == {"redis": "redis"}
        unchecked = PrometheusSource(prom.url, PACKS, verify_certs=False)
        assert unchecked.discover().topology.kinds() == {"redis": "redis"}
        other = make_certs(tmp_path / "other")  # a CA that did not sign this server
        message, _ = failure(PrometheusSource(prom.url, PACKS, ca_file=str(other.ca)))
        assert "TLS certificate not trusted" in message


def test_a_missing_or_bad_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prometheus_ca_file: no such file"):
        PrometheusSource("https://127.0.0.1:1", PACKS, ca_file=str(tmp_path / "nope.pem"))
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="prometheus_ca_file: not a PEM CA certificate"):
        PrometheusSource("https://127.0.0.1:1", PACKS, ca_file=str(tmp_path / "bad.pem"))


def test_a_stop_cuts_the_request_in_flight() -> None:
    """``stream`` ends within a fraction of a second of ``stop()``, mid-request included."""
    with FakePrometheus("drip_ranges") as prom:
        src = PrometheusSource(prom.url, PACKS, timeout=60.0, backfill=60.0)
        src.discover()
        t0 = time.monotonic()
        got: list[object] = []
        done = threading.Event()

        async def consume() -> None:
            async for b in src.stream(lambda: time.monotonic() - t0 > 1.0):
                got.append(b)

        def run() -> None:
            asyncio.run(consume())
            done.set()

        threading.Thread(target=run, daemon=True).start()
        finished = done.wait(10.0)
        took = time.monotonic() - t0
        assert finished and took < 2.0, f"the stream ran {took:.1f} s past a 1 s stop"
        assert got == [] and src.errors == 0  # cut by the stop: not a Prometheus failure
        assert src.discover().targets  # and the source still works afterwards


def test_the_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parity with the requests-based client: ``http_proxy`` / ``no_proxy`` are honoured."""
    with FakePrometheus("ok") as proxy:  # answers whatever absolute URL it is asked for
        target = "http://prometheus.invalid:9090"
        monkeypatch.setenv("http_proxy", proxy.url.replace("http://", "http://p:pw@"))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        assert PrometheusSource(target, PACKS).discover().topology.kinds() == {"redis": "redis"}
        assert proxy.requests[0][1]["Proxy-Authorization"] == "Basic cDpwdw=="
        monkeypatch.setenv("no_proxy", "prometheus.invalid")
        message, _ = failure(PrometheusSource(target, PACKS))
    assert "cannot resolve host 'prometheus.invalid'" in message
