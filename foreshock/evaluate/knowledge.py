"""Knowledge-base retrieval, scored on labelled incidents: recall@1 and recall@3.

A labelled pair is an incident's evidence on its true root cause (the resource's kind,
its anomalous metrics with their direction in onset order, its log evidence) and the
true failure mode (``<kind>.<failure mode>`` in the knowledge base). Pairs come from
replays that carry a ``truth.json`` naming the root cause and its failure mode: simulated
faults (:func:`simulated_pairs`) and any replay folders, the lab's recorded faults among
them (:func:`replay_pairs`). The pipeline runs each replay as a user would; the pair holds
what it found, so a fault the pipeline did not see yields no pair (counted apart).

Examples
--------
>>> p = Pair("redis-cache", "redis", [("redis_memory_used_bytes", "up")], [],
...          "redis.memory_exhaustion", "demo")
>>> from foreshock.enrichers.retrieval import KnowledgeIndex
>>> from foreshock.packs.knowledge import load_knowledge
>>> score_pairs([p], KnowledgeIndex(load_knowledge()))["recall_at_1"]
1.0
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from foreshock.enrichers.retrieval import KnowledgeIndex

__all__ = [
    "Pair",
    "load_pairs",
    "pair_of_run",
    "replay_pairs",
    "save_pairs_to",
    "score_pairs",
    "simulated_pairs",
]


@dataclass(frozen=True)
class Pair:
    """Evidence of one incident's root cause, and its true failure mode."""

    resource: str
    kind: str
    symptoms: list[tuple[str, str]]
    logs: list[str]
    truth: str
    source: str
    simulated: bool = False


def pair_of_run(folder: Path, home: Path) -> Pair | None:
    """Run the replay in ``folder`` and take the evidence on its true root cause."""
    from foreshock.pipelines.runtimes.embedded import run_replay
    from foreshock.pipelines.sources.replay import load_replay_topology

    res = run_replay(folder, home)
    root = ((res.truth or {}).get("root_cause")) or {}
    resource, mode = root.get("resource"), root.get("failure_mode")
    if not resource or not mode:
        return None
    kind = load_replay_topology(folder)[0].kinds().get(resource, "")
    found = sorted(
        (a for a in res.anomalies if a.resource == resource and a.state == "open"),
        key=lambda a: a.onset,
    )
    symptoms: list[tuple[str, str]] = []
    logs: list[str] = []
    for a in found:
        if a.kind == "log":
            logs += a.evidence
        elif (a.metric, a.direction) not in symptoms:
            symptoms.append((a.metric, str(a.direction)))
    if not symptoms and not logs:
        return None
    return Pair(resource, kind, symptoms, logs, f"{kind}.{mode}", folder.name)


def simulated_pairs(
    seeds: Sequence[int],
    hours: float,
    tmp: Path,
    known: set[str],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Pair], list[str]]:
    """Pairs from every simulated fault whose failure mode is in the knowledge base
    (``known``), for each seed; and the runs that gave none (no anomaly on the root)."""
    from foreshock.sim.faults import FAULTS
    from foreshock.sim.simulator import simulate

    runs = [(f, s) for f in sorted(FAULTS) for s in seeds]
    pairs, missing = [], []
    for i, (fault, seed) in enumerate(runs):
        folder = simulate(fault, seed=seed, hours=hours).write(tmp / f"{fault}-{seed}")
        pair = pair_of_run(folder, tmp / f"home-{fault}-{seed}")
        if pair is not None and pair.truth in known:
            pairs.append(replace(pair, simulated=True))
        elif pair is None:
            missing.append(f"{fault}-{seed}")
        if progress is not None:
            progress(i + 1, len(runs))
    return pairs, missing


def replay_pairs(folder: Path, tmp: Path) -> tuple[list[Pair], list[str]]:
    """Pairs from each replay folder under ``folder`` with a ``truth.json``."""
    pairs, missing = [], []
    for sub in sorted(p for p in folder.iterdir() if (p / "truth.json").is_file()):
        pair = pair_of_run(sub, tmp / f"home-{sub.name}")
        if pair is None:
            missing.append(sub.name)
        else:
            pairs.append(pair)
    return pairs, missing


def score_pairs(pairs: Sequence[Pair], index: KnowledgeIndex) -> dict[str, Any]:
    """Recall@1 and @3 of ``index`` on ``pairs``, and each miss with what came first."""
    hits1 = hits3 = 0
    misses = []
    for p in pairs:
        found = [h.mode.id for h in index.search(p.kind, p.symptoms, p.logs, k=3)]
        hits1 += bool(found[:1] == [p.truth])
        hits3 += p.truth in found
        if found[:1] != [p.truth]:
            misses.append({"source": p.source, "truth": p.truth, "found": found})
    n = len(pairs)
    return {
        "pairs": n,
        "recall_at_1": hits1 / n if n else float("nan"),
        "recall_at_3": hits3 / n if n else float("nan"),
        "misses": misses,
    }


def save_pairs_to(pairs: Sequence[Pair], path: Path) -> None:
    """Write ``pairs`` as JSON lines (one pair each), to re-score without re-running."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(p)) + "\n" for p in pairs), encoding="utf-8")


def load_pairs(path: Path) -> list[Pair]:
    """Pairs written by :func:`save_pairs_to`.

    Raises
    ------
    ConfigError
        The file is missing, or a line is not a pair (line number and reason).
    """
    from foreshock.schemas.errors import ConfigError

    if not path.is_file():
        raise ConfigError(f"--pairs {path}: no such file")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            d["symptoms"] = [(str(m), str(x)) for m, x in d["symptoms"]]
            out.append(Pair(**d))
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"--pairs {path}, line {n}: not a labelled pair ({exc})") from exc
    return out
