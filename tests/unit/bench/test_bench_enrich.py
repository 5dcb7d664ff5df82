"""`foreshock bench enrich`: with the LLM endpoint down or slow, every incident still has
its report, saying who wrote it, and the audit log has every call."""

from __future__ import annotations

from foreshock.bench.enrich import run_enrich_bench


def test_down_and_slow_endpoints_leave_every_incident_reported_and_audited() -> None:
    res = run_enrich_bench("redis_memory_exhaustion", seed=1, hours=4, delay_s=1.0, timeout_s=10)
    off, down, slow = res["runs"]
    for run in (off, down, slow):
        assert run["incidents"] >= 1 and run["reports"] == run["incidents"]
        assert run["samples"] == off["samples"]
    assert off["written_by"] == {"narrator": off["reports"]} and off["audit_lines"] == 0
    assert down["written_by"] == {"narrator": down["reports"]}
    assert down["notes"] == {"LLM endpoint failed: cannot connect": down["reports"]}
    assert down["outcomes"] == {"error": down["audit_lines"]} and down["audit_lines"] >= 1
    assert slow["written_by"] == {"stub": slow["reports"]}
    assert slow["outcomes"]["accepted"] >= slow["reports"]
