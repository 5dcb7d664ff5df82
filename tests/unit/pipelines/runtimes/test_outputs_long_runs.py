"""What a run keeps in memory grows with its events, not with its length (issue 10).

Every forecast (one per capacity series and refit, ~55 KB with its curves) used to be kept
in a list for the run's result: a week-long replay of the simulated fleet held ~800 MB of
them. The outputs keep the latest forecast of each series and the count; the store has
them all, and :attr:`RunResult.forecasts` reads them back from it.
"""

from __future__ import annotations

from pathlib import Path

from foreshock.enrichers.stores.sqlite import SQLiteReportStore
from foreshock.pipelines.runtimes.embedded import run_replay
from foreshock.pipelines.runtimes.outputs import Outputs
from foreshock.pipelines.sinks.alerts import JsonlAlertSink
from foreshock.schemas.forecast import Forecast
from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport
from foreshock.sim.simulator import simulate


def forecast(resource: str, made_at: float) -> Forecast:
    grid = [made_at + 300.0 * k for k in range(1, 289)]
    return Forecast(
        resource=resource,
        metric="node_filesystem_avail_bytes",
        made_at=made_at,
        model="linear",
        horizon_s=86_400.0,
        timestamps=grid,
        point=[1.0] * len(grid),
        lower80=[0.5] * len(grid),
        upper80=[1.5] * len(grid),
        lower95=[0.0] * len(grid),
        upper95=[2.0] * len(grid),
    )


def report(incident: str, version: int) -> RootCauseReport:
    return RootCauseReport(
        id=f"{incident}-v{version}",
        incident_id=incident,
        created_at=float(version),
        title="t",
        summary="s",
        root_cause_resource="db",
    )


def test_outputs_keep_the_latest_forecast_of_each_series_and_store_them_all(
    tmp_path: Path,
) -> None:
    out = Outputs(SQLiteReportStore(tmp_path / "r.sqlite"), JsonlAlertSink(tmp_path / "a.jsonl"))
    hosts = ("host-1", "host-2", "host-3")
    for k in range(700):  # a week of refits every 15 minutes
        out.deliver(forecast(hosts[k % 3], 900.0 * (k // 3)))
    assert out.forecast_count == 700
    assert [(f.resource, f.made_at) for f in out.forecasts] == [
        ("host-1", 900.0 * 233),
        ("host-2", 900.0 * 232),
        ("host-3", 900.0 * 232),
    ]
    out.close()
    with SQLiteReportStore(tmp_path / "r.sqlite") as store:
        assert len(store.forecasts(latest_only=False)) == 700


def test_outputs_keep_the_latest_report_of_each_incident_and_every_report_id(
    tmp_path: Path,
) -> None:
    out = Outputs(SQLiteReportStore(tmp_path / "r.sqlite"), JsonlAlertSink(tmp_path / "a.jsonl"))
    for inc, version in (("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)):
        out.deliver(Incident(id=inc, opened_at=0, updated_at=version, version=version))
        out.deliver(report(inc, version))
    assert out.report_ids == ["a-v1", "b-v1", "a-v2", "a-v3", "b-v2"]
    assert [r.id for r in out.reports] == ["a-v3", "b-v2"]
    assert {i: x.version for i, x in out.incidents.items()} == {"a": 3, "b": 2}
    out.close()


def test_a_run_holds_the_latest_forecasts_and_reads_all_of_them_from_the_store(
    tmp_path: Path,
) -> None:
    replay = simulate("disk_filling", seed=2, hours=6).write(tmp_path / "replay")
    result = run_replay(replay, tmp_path / "home")
    every = result.forecasts
    assert result.forecast_count > 100 and len(every) == result.forecast_count
    latest = {(f.resource, f.metric): f.made_at for f in every}
    for f in every:
        latest[(f.resource, f.metric)] = max(latest[(f.resource, f.metric)], f.made_at)
    assert {(f.resource, f.metric): f.made_at for f in result.latest_forecasts} == latest
    assert result.to_json()["reports"] == result.report_ids
    assert {r.incident_id for r in result.reports} == {i.id for i in result.incidents}
