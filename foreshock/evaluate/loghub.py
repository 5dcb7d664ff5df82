"""Group Accuracy (GA) of the template miner on Loghub systems, and its throughput.

A Loghub folder holds one sub-folder per system, ``X/X_2k.log_structured_corrected.csv``
with a ``Content`` column (the line without its header) and the ground-truth
``EventId`` of every line. The miner sees the Content lines in order, one pass; each
line is then grouped by the template it has at the end (a re-``match`` after the pass,
so every line of an event is judged by the final templates). A line is correct when
the set of lines grouped with it equals its ground-truth group (GA, Zhu et al. 2019).
The ground truth is used for scoring only. Throughput counts the mining pass.

Examples
--------
>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> lines = [(f"open file f{i}.txt", "E1") for i in range(3)] + [("disk full", "E2")]
>>> _ = write_system(d, "Toy", lines)
>>> r = evaluate_loghub(d)
>>> r.systems, r.per_system["Toy"]["ga"], r.mean_ga
(['Toy'], 1.0, 1.0)
>>> group_accuracy(["a", "a", "b"], ["x", "x", "x"])
0.0
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from foreshock.detectors.logs.miner import TemplateMiner
from foreshock.schemas.errors import ConfigError

__all__ = [
    "LoghubResult",
    "evaluate_loghub",
    "final_groups",
    "group_accuracy",
    "load_system",
    "system_names",
    "write_system",
]

SUFFIX = "_2k.log_structured_corrected.csv"


@dataclass
class LoghubResult:
    """GA, templates found vs true and lines/s per system, with the miner's settings.

    ``per_system[name]`` holds ``ga``, ``lines``, ``templates`` (mined), ``events``
    (ground truth), ``seconds`` and ``lines_per_s``.
    """

    params: dict[str, Any]
    per_system: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        """Systems scored, in order."""
        return list(self.per_system)

    @property
    def mean_ga(self) -> float:
        """Mean GA over the systems (each system weighs the same)."""
        vals = [s["ga"] for s in self.per_system.values()]
        return sum(vals) / len(vals) if vals else float("nan")

    @property
    def lines_per_s(self) -> float:
        """All lines over all mining time."""
        secs = sum(s["seconds"] for s in self.per_system.values())
        lines = sum(s["lines"] for s in self.per_system.values())
        return lines / secs if secs > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data, with the mean and throughput."""
        return {**asdict(self), "mean_ga": self.mean_ga, "lines_per_s": self.lines_per_s}

    def to_table(self) -> Table:
        """A rich table: one row per system, then the mean."""
        table = Table(title=f"Log templates — Loghub GA ({len(self.per_system)} systems)")
        for name in ("system", "lines", "templates", "true events", "GA", "lines/s"):
            table.add_column(name, justify="left" if name == "system" else "right")
        for name, s in self.per_system.items():
            table.add_row(
                name,
                f"{s['lines']:.0f}",
                f"{s['templates']:.0f}",
                f"{s['events']:.0f}",
                f"{s['ga']:.3f}",
                f"{s['lines_per_s']:,.0f}",
            )
        table.add_row(
            "[b]mean[/b]", "", "", "", f"[b]{self.mean_ga:.3f}[/b]", f"{self.lines_per_s:,.0f}"
        )
        return table


def group_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Share of lines whose predicted group is exactly their true group.

    >>> group_accuracy([1, 1, 2, 3], ["a", "a", "b", "b"])
    0.5
    """
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must have the same length")
    if not truth:
        return float("nan")
    true_size = Counter(truth)
    groups: dict[Hashable, list[Hashable]] = defaultdict(list)
    for p, t in zip(predicted, truth, strict=True):
        groups[p].append(t)
    correct = sum(
        len(ts) for ts in groups.values() if len(set(ts)) == 1 and true_size[ts[0]] == len(ts)
    )
    return correct / len(truth)


def system_names(data_dir: Path) -> list[str]:
    """Systems of a Loghub folder: each sub-folder ``X`` holding ``X`` + :data:`SUFFIX`."""
    if not data_dir.is_dir():
        raise ConfigError(f"no Loghub folder at {data_dir}")
    return sorted(p.name for p in data_dir.iterdir() if (p / f"{p.name}{SUFFIX}").is_file())


def load_system(data_dir: Path, name: str) -> tuple[list[str], list[str]]:
    """Content lines and ground-truth event ids of one system."""
    path = data_dir / name / f"{name}{SUFFIX}"
    if not path.is_file():
        raise ConfigError(f"no {path.name} in {path.parent}")
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"Content", "EventId"} <= set(rows[0]):
        raise ConfigError(f"{path} needs the columns Content and EventId")
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def write_system(data_dir: Path, name: str, lines: Sequence[tuple[str, str]]) -> Path:
    """Write a Loghub-style system folder from ``(content, event_id)`` pairs (for tests)."""
    folder = data_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{SUFFIX}"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["LineId", "Content", "EventId"])
        for i, (content, event) in enumerate(lines, 1):
            w.writerow([i, content, event])
    return path


def evaluate_loghub(
    data_dir: Path,
    systems: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoghubResult:
    """GA and lines/s of :class:`~foreshock.detectors.logs.miner.TemplateMiner` on each system.

    Parameters
    ----------
    data_dir
        A Loghub folder (one sub-folder per system).
    systems
        Only these systems (default: every system found).
    params
        Keyword arguments of the miner; the same for every system.
    progress
        Called as ``progress(systems_done, systems_total)``.
    """
    names = list(systems) if systems else system_names(data_dir)
    if not names:
        raise ConfigError(f"no Loghub system (X/X{SUFFIX}) in {data_dir}")
    params = dict(params or {})
    result = LoghubResult(params)
    for i, name in enumerate(names):
        lines, truth = load_system(data_dir, name)
        miner = TemplateMiner(**params)
        t0 = time.perf_counter()
        for line in lines:
            miner.add(line)
        seconds = time.perf_counter() - t0
        groups = final_groups(lines, miner)
        result.per_system[name] = {
            "ga": group_accuracy(groups, truth),
            "lines": float(len(lines)),
            "templates": float(len(miner)),
            "events": float(len(set(truth))),
            "seconds": seconds,
            "lines_per_s": len(lines) / seconds if seconds > 0 else float("nan"),
        }
        if progress is not None:
            progress(i + 1, len(names))
    return result


def final_groups(lines: Sequence[str], miner: TemplateMiner) -> list[str]:
    """Each line's template id at the end of mining (a line no template fits: its own)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        m = miner.match(line)
        out.append(m.template_id if m is not None else f"unmatched-{i}")
    return out
