"""Score runs of labelled replay folders (``foreshock eval replays|petshop|nezha``).

A replay folder's ``truth.json`` names one fault (``root_cause`` and ``start``), several
(``"fault": "several"`` and a ``faults`` list), or none. Each fault is scored by the
incidents that *opened in its own window* (from its start, less a step of slack, to its
end or the next fault's start): an incident left open from before does not count, so a
pipeline cannot pass by keeping one incident open all day. Of those incidents, the one that
holds the true root cause is scored (else the first). Fault-free stretches (``normal`` in
the truth, else the time before a single fault) count the incidents opened there.

Metrics (the RCA literature's): top-k = the share of faults whose root cause ranks k or
better; Avg@5 = the mean of top-1 … top-5; false incidents per day of normal data; the time
from a fault's start to its incident.

Examples
--------
>>> cases = fault_cases({"fault": "several", "faults": [
...     {"fault": "cpu", "start": 100.0, "root_cause": {"resource": "a"}},
...     {"fault": "delay", "start": 500.0, "end": 700.0, "root_cause": {"resource": "b"}}]},
...     last=1000.0)
>>> [(c.kind, c.start, c.end, c.root) for c in cases]
[('cpu', 100.0, 500.0, 'a'), ('delay', 500.0, 700.0, 'b')]
>>> summarise([{"kind": "cpu", "rank": 1}, {"kind": "cpu", "rank": 4}, {"kind": "d", "rank": None}]
...           )["all"]["top1"]
0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foreshock.pipelines.sources.replay import metrics_file
from foreshock.schemas.anomaly import Anomaly
from foreshock.schemas.incident import Incident

if TYPE_CHECKING:
    from foreshock.pipelines.settings import Settings

__all__ = [
    "MISS_REASONS",
    "Evaluation",
    "FaultCase",
    "evaluate_folders",
    "fault_cases",
    "miss_reason",
    "normal_windows",
    "replay_folders",
    "score_run",
    "summarise",
]

#: Opened this long before a fault's recorded start still counts as its incident: clocks
#: of injectors and collectors differ, and an onset is one step early at most.
SLACK = 60.0


@dataclass(frozen=True)
class FaultCase:
    """One labelled fault: its type, window and true root-cause resource."""

    kind: str
    start: float
    end: float
    root: str
    mode: str | None = None


def fault_cases(truth: dict[str, Any], last: float) -> list[FaultCase]:
    """The faults of a truth, each with its window (to its end, the next start, or ``last``)."""
    if truth.get("fault") == "several":
        raw = sorted(truth.get("faults") or [], key=lambda f: float(f["start"]))
    elif truth.get("fault", "none") != "none" and truth.get("root_cause"):
        raw = [truth]
    else:
        raw = []
    out = []
    for i, f in enumerate(raw):
        nxt = float(raw[i + 1]["start"]) if i + 1 < len(raw) else last
        end = f.get("end")
        end = min(float(end), nxt) if end is not None else nxt
        rc = f["root_cause"]
        out.append(
            FaultCase(
                kind=str(f.get("fault")),
                start=float(f["start"]),
                end=max(end, float(f["start"])),
                root=str(rc["resource"]),
                mode=rc.get("failure_mode"),
            )
        )
    return out


def normal_windows(truth: dict[str, Any], first: float) -> list[tuple[float, float]]:
    """Fault-free stretches: the truth's ``normal``, else everything before a single fault."""
    if truth.get("normal") is not None:
        return [(float(a), float(b)) for a, b in truth["normal"]]
    if truth.get("fault", "none") == "none":
        return [(first, float("inf"))]
    if truth.get("fault") != "several" and truth.get("start") is not None:
        return [(first, float(truth["start"]) - SLACK)]
    return []


def _rank(inc: Incident, root: str) -> int | None:
    names = [c.resource for c in inc.candidates]
    return names.index(root) + 1 if root in names else None


#: Why a fault's root cause was not ranked first, from the pipeline's side (the rows'
#: ``miss``), in the order of the pipeline's stages.
MISS_REASONS = {
    "no_anomaly": "no anomaly on the root in the fault's window (detection)",
    "too_young": "the root's series were on probation: too little history before the fault",
    "not_credible": "anomalies on the root, but no incident opened (credibility)",
    "joined_earlier": "the root's anomalies joined an incident opened before the fault",
    "opened_late": "the root's anomalies are in an incident opened after the window",
    "not_in_incident": "an incident opened, without the root (grouping)",
    "outranked": "the root is in the incident, ranked below first (ranking)",
}


def miss_reason(
    case: FaultCase,
    chosen: Incident | None,
    incidents: Sequence[Incident],
    anomalies: Sequence[Anomaly] | None,
) -> str | None:
    """Why ``case``'s root is not ranked first (a key of :data:`MISS_REASONS`), or None.

    ``anomalies``: every anomaly of the run (without them, a fault with no incident is put
    down to detection).

    >>> case = FaultCase("cpu", 100.0, 400.0, "a")
    >>> miss_reason(case, None, [], [])
    'no_anomaly'
    >>> young = Anomaly(resource="a", metric="m", onset=120.0, detected_at=150.0, score=1.0,
    ...                 raw_score=9.0, direction="up", value=1.0, baseline=0.0,
    ...                 detector="fleet", probation=True)
    >>> miss_reason(case, None, [], [young])
    'too_young'
    """
    if chosen is not None:
        if chosen.candidates and chosen.candidates[0].resource == case.root:
            return None
        return "outranked" if case.root in chosen.resources else "not_in_incident"
    own = [
        a
        for a in anomalies or ()
        if a.resource == case.root and a.state == "open" and in_window(case, a.onset)
    ]
    if not own:
        return "no_anomaly"
    mine = {(a.metric, a.onset) for a in own}
    for inc in incidents:
        if any((a.metric, a.onset) in mine for a in inc.anomalies if a.resource == case.root):
            return "joined_earlier" if inc.opened_at < case.start - SLACK else "opened_late"
    # a series' first samples teach its baseline: its anomalies then page nobody
    return "too_young" if all(a.probation for a in own) else "not_credible"


def in_window(case: FaultCase, t: float) -> bool:
    """Whether ``t`` falls in the fault's window (from its start less :data:`SLACK`)."""
    return case.start - SLACK <= t < case.end


def score_run(
    incidents: Sequence[Incident],
    truth: dict[str, Any],
    first: float,
    last: float,
    anomalies: Sequence[Anomaly] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Per-fault rows and the false-incident count of one run.

    ``first``/``last``: the run's first and last timestamps (the edges of open windows);
    ``anomalies``, every anomaly of the run, lets a row say why a fault was missed.
    """
    rows = []
    for case in fault_cases(truth, last):
        mine = [i for i in incidents if in_window(case, i.opened_at)]
        chosen = next((i for i in mine if case.root in i.resources), mine[0] if mine else None)
        rank = _rank(chosen, case.root) if chosen else None
        rows.append(
            {
                "kind": case.kind,
                "start": case.start,
                "root": case.root,
                "incidents": len(mine),
                "rank": rank,
                "top": chosen.candidates[0].resource if chosen and chosen.candidates else None,
                "mode_ok": bool(
                    case.mode
                    and chosen
                    and chosen.candidates
                    and chosen.candidates[0].failure_mode == case.mode
                ),
                "to_incident_s": (chosen.opened_at - case.start) if chosen else None,
                "miss": miss_reason(case, chosen, incidents, anomalies),
            }
        )
    normal = normal_windows(truth, first)
    seconds = sum(max(0.0, min(b, last) - a) for a, b in normal)
    false = sum(1 for i in incidents if any(a <= i.opened_at < b for a, b in normal))
    return rows, {"normal_seconds": seconds, "false_incidents": float(false)}


def summarise(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """top-1, top-3, Avg@5, the median time to incident and the count of each reason a
    root was not ranked first (``misses``), per fault type and over all."""

    def stats(rs: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(rs) or 1

        def top(k: int) -> float:
            return sum(1 for r in rs if r["rank"] is not None and r["rank"] <= k) / n

        waits = sorted(r["to_incident_s"] for r in rs if r.get("to_incident_s") is not None)
        return {
            "faults": len(rs),
            "top1": top(1),
            "top3": top(3),
            "avg5": sum(top(k) for k in range(1, 6)) / 5,
            "found": sum(r["rank"] is not None for r in rs) / n,
            "median_to_incident_s": waits[len(waits) // 2] if waits else None,
            "misses": {
                m: sum(1 for r in rs if r.get("miss") == m)
                for m in MISS_REASONS
                if any(r.get("miss") == m for r in rs)
            },
        }

    rows = list(rows)
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["kind"], []).append(r)
    return {"by_kind": {k: stats(v) for k, v in sorted(by.items())}, "all": stats(rows)}


def replay_folders(root: Path) -> list[Path]:
    """Replay folders under ``root`` (it, or its sub-folders, holding ``metrics.csv`` or
    ``metrics.csv.gz``)."""
    if metrics_file(root) is not None:
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and metrics_file(p) is not None)


@dataclass
class Evaluation:
    """Per-fault rows and the false incidents over the normal stretches of all runs."""

    rows: list[dict[str, Any]]
    normal_seconds: float = 0.0
    false_incidents: int = 0
    runs: int = 0
    #: per replay: its name, incidents opened, false incidents, normal hours and the
    #: samples of a typical series before its first fault (``short``: under probation)
    replays: list[dict[str, Any]] | None = None

    @property
    def false_per_day(self) -> float | None:
        """Incidents opened per day of normal data (None without any)."""
        if self.normal_seconds <= 0:
            return None
        return self.false_incidents * 86400.0 / self.normal_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": summarise(self.rows),
            "runs": self.runs,
            "normal_hours": round(self.normal_seconds / 3600.0, 2),
            "false_incidents": self.false_incidents,
            "false_per_day": self.false_per_day,
            "replays": self.replays or [],
            "faults": self.rows,
        }


def evaluate_folders(
    folders: Sequence[Path],
    homes: Path,
    settings: Settings | None = None,
    on_done: Callable[[str], None] | None = None,
) -> Evaluation:
    """Run every replay folder through the embedded pipeline and score it against its truth.

    ``homes``: a folder for the runs' state (one sub-folder per replay). The forecast stage
    is off unless ``settings`` turn it on (it does not take part in root cause).
    """
    from foreshock.detectors.decision import EpisodeDecider
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.pipelines.settings import Settings
    from foreshock.pipelines.sources.replay import read_replay

    settings = settings or Settings.load().model_copy(update={"forecast": False})
    ev = Evaluation(rows=[], replays=[])
    probation = EpisodeDecider().mature
    for k, folder in enumerate(folders):
        rep = read_replay(folder)
        ts = rep.batches.timestamps
        if ts.size == 0:
            continue
        step = float(ts[-1] - ts[-2]) if ts.size > 1 else 0.0
        res = run_replay(folder, homes / f"{k:04d}-{folder.name}", replay=rep, settings=settings)
        truth = rep.truth or {"fault": "none"}
        cases = fault_cases(truth, float(ts[-1]))
        history = rep.batches.history_before(min(c.start for c in cases)) if cases else None
        rows, normal = score_run(
            res.incidents, truth, float(ts[0]), float(ts[-1]) + step, res.anomalies
        )
        for r in rows:
            r["replay"] = folder.name
        ev.rows += rows
        ev.normal_seconds += normal["normal_seconds"]
        ev.false_incidents += int(normal["false_incidents"])
        ev.runs += 1
        assert ev.replays is not None
        ev.replays.append(
            {
                "replay": folder.name,
                "incidents": len(res.incidents),
                "false_incidents": int(normal["false_incidents"]),
                "normal_hours": round(normal["normal_seconds"] / 3600.0, 2),
                # samples of the typical series before the first fault: under the
                # probation, the fault cannot page (the replay is too short to judge)
                "history_samples": history,
                "probation": probation,
                "short": history is not None and history < probation,
            }
        )
        if on_done:
            on_done(folder.name)
    return ev
