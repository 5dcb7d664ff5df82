"""``foreshock eval knowledge``: does retrieval find the right failure mode for an incident?

Every simulated fault (seeds × faults) and every replay folder with a ``truth.json`` (the
lab's recorded faults, or your own past incidents) runs through the embedded pipeline; the
evidence it found on the true root cause is the query, the true failure mode the answer.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from foreshock.cli.common import plain
from foreshock.cli.eval import console, err, eval_app
from foreshock.schemas.errors import ConfigError

if TYPE_CHECKING:
    from foreshock.evaluate.knowledge import Pair


@eval_app.command("knowledge")
def knowledge(
    seeds: Annotated[
        str, typer.Option(help="Simulator seeds, e.g. 1-7; 'none' for replays only.")
    ] = "1-7",
    replays: Annotated[
        list[Path] | None,
        typer.Option(help="A folder of replay folders with truth.json (repeatable)."),
    ] = None,
    hours: Annotated[float, typer.Option(help="Simulated hours per run.")] = 6.0,
    text_weight: Annotated[
        float, typer.Option(help="Weight of the BM25 text score against structured matching.")
    ] = 0.25,
    save_pairs: Annotated[
        Path | None,
        typer.Option(help="Write the labelled pairs to this JSONL file (to re-score fast)."),
    ] = None,
    pairs_file: Annotated[
        Path | None,
        typer.Option("--pairs", help="Score these saved pairs instead of running anything."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as JSON.")
    ] = False,
) -> None:
    """Knowledge-base retrieval on labelled incidents: recall@1 and recall@3.

    A pair is (the evidence the pipeline found on the true root cause → the true failure
    mode). Misses are listed with what retrieval put first.

    Example: foreshock eval knowledge --seeds 1-7 --replays tests/data/lab-replays
    --save-pairs /tmp/kb-pairs.jsonl  ·  then: foreshock eval knowledge --pairs /tmp/kb-pairs.jsonl
    """
    from foreshock.enrichers.retrieval import KnowledgeIndex
    from foreshock.evaluate.knowledge import load_pairs, save_pairs_to, score_pairs
    from foreshock.packs.knowledge import load_knowledge

    kb = load_knowledge()
    if pairs_file is not None:
        pairs, missing = load_pairs(pairs_file), list[str]()
        n_sim = sum(p.simulated for p in pairs)
    else:
        pairs, missing, n_sim = _make_pairs(seeds, replays, hours, {m.id for m in kb}, as_json)
    if save_pairs is not None:
        save_pairs_to(pairs, save_pairs)
    if not pairs:
        raise ConfigError("no labelled pairs: give --seeds, or --replays with truth.json folders")
    result = score_pairs(pairs, KnowledgeIndex(kb, text_weight=text_weight))
    result["no_evidence_on_root"] = missing
    result["simulated_pairs"], result["replay_pairs"] = n_sim, len(pairs) - n_sim
    _print(result, n_sim, as_json)


def _make_pairs(
    seeds: str, replays: list[Path] | None, hours: float, known: set[str], quiet: bool
) -> tuple[list[Pair], list[str], int]:
    """Run the simulated faults and the replay folders; their pairs, the runs with no
    evidence on the root, and how many pairs are simulated."""
    from foreshock.evaluate.knowledge import replay_pairs, simulated_pairs
    from foreshock.evaluate.simulated import parse_seeds

    seed_list = [] if seeds == "none" else parse_seeds(seeds)
    for folder in replays or []:
        if not folder.is_dir():
            raise ConfigError(f"--replays {folder}: not a folder")
    with (
        tempfile.TemporaryDirectory() as d,
        Progress(console=err, transient=True, disable=quiet or not err.is_terminal) as prog,
    ):
        task = prog.add_task("simulated faults", total=None)
        pairs, missing = simulated_pairs(
            seed_list,
            hours,
            Path(d),
            known,
            progress=lambda i, n: prog.update(task, completed=i, total=n),
        )
        n_sim = len(pairs)
        for n, folder in enumerate(replays or []):
            more, gone = replay_pairs(folder, Path(d) / f"replays-{n}")
            pairs += more
            missing += gone
    return pairs, missing, n_sim


def _print(result: dict[str, Any], n_sim: int, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    t = Table(title=f"knowledge retrieval on {result['pairs']} labelled incidents")
    for c in ("pairs (simulated + replays)", "recall@1", "recall@3", "no evidence on the root"):
        t.add_column(c)
    t.add_row(
        f"{result['pairs']} ({n_sim} + {result['pairs'] - n_sim})",
        f"[b]{result['recall_at_1']:.1%}[/b]",
        f"{result['recall_at_3']:.1%}",
        str(len(result["no_evidence_on_root"])),
    )
    console.print(t)
    if result["misses"]:
        m = Table(title="not first")
        for c in ("incident", "true failure mode", "retrieved (best first)"):
            m.add_column(c)
        for miss in result["misses"]:
            m.add_row(plain(miss["source"]), plain(miss["truth"]), plain(", ".join(miss["found"])))
        console.print(m)
