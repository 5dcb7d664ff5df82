"""Retrieval over the knowledge base: which failure modes match an incident's evidence.

Two kinds of evidence, combined so that neither decides alone:

- **structured**: the resource's kind, and its anomalous metrics with their direction,
  against each failure mode's metric symptoms. Both orders carry meaning: a failure
  mode lists its defining symptoms first, and an incident's first anomaly on its root is
  the closest to the cause (what follows is often effect: a full disk first grows the
  log, *then* fails produce requests), so a match weighs less the later the symptom is in
  either list; a symptom moving the other way counts against; a failure mode's
  characteristic log line found in the incident's log evidence weighs more than any one
  metric;
- **text**: BM25 (``bm25s``) over each failure mode's text (title, summary, causes,
  symptoms, checks, fixes), queried with the evidence's words (log lines, any free text
  such as a failure mode's name; not the metric names, matched structurally already),
  scaled to [0, 1] and weighted by ``text_weight``.

Examples
--------
>>> from foreshock.packs.knowledge import load_knowledge
>>> index = KnowledgeIndex(load_knowledge())
>>> hits = index.search(kind="redis", symptoms=[("redis_memory_used_bytes", "up"),
...                     ("redis_evicted_keys_total", "up")])
>>> hits[0].mode.id
'redis.memory_exhaustion'
>>> index.search(logs=["FATAL: remaining connection slots are reserved for ..."])[0].mode.id
'postgresql.connection_exhaustion'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from foreshock.packs.knowledge import KbFailureMode
from foreshock.schemas.report import RootCauseReport

__all__ = ["Hit", "KnowledgeIndex"]

_LOG_WEIGHT = 2.0
_OPPOSITE = -0.5
_POSITION_DECAY = 0.25  # a mode's n-th listed symptom weighs 1 / (1 + 0.25 n)
_RANK_DECAY = 0.25  # the incident's n-th symptom weighs 1 / (1 + 0.25 n)


@dataclass(frozen=True)
class Hit:
    """A failure mode, its score, and the evidence that matched it."""

    mode: KbFailureMode
    score: float
    matched: tuple[str, ...]

    def snippet(self) -> str:
        """The failure mode as the LLM enricher's prompt shows it: what it is, what
        matched, how to check, how to fix (with risk)."""
        m = self.mode
        checks = "; ".join(f"`{c.command}` ({c.look_for})" for c in m.checks[:3])
        fixes = "; ".join(f"[{r.risk} risk] {r.action}" for r in m.remediations[:3])
        seen = f" Matched: {', '.join(self.matched)}." if self.matched else ""
        return f"{m.id} — {m.title}. {m.summary}{seen} Checks: {checks}. Fixes: {fixes}."


def _base(metric: str) -> tuple[str, str]:
    name, _, labels = metric.partition("{")
    return name, labels.rstrip("}")


def _words(text: str) -> str:
    return re.sub(r"[_{}=\"',:.]+", " ", text)


def _stem(word: str) -> str:
    """A light English suffix stemmer (plurals, -ing, -ed): "consumers" and "consumer",
    "growing" and "grows" meet; short words and technical tokens stay as they are."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stems(words: list[str]) -> list[str]:
    return [_stem(w) for w in words]


def _document(mode: KbFailureMode) -> str:
    """A failure mode's text with its name and title weighed three times (field boosting:
    what a mode *is* counts more than a word in one of its checks)."""
    head = f"{mode.kind} {mode.name} {mode.title}"
    return _words(f"{head}\n{head}\n{mode.text()}")


class KnowledgeIndex:
    """Failure modes indexed for :meth:`search`.

    Parameters
    ----------
    modes
        The knowledge base (:func:`~foreshock.packs.knowledge.load_knowledge`).
    text_weight
        Weight of the BM25 text score (scaled to [0, 1]) against the structured score.
    """

    def __init__(self, modes: Sequence[KbFailureMode], text_weight: float = 0.25) -> None:
        import bm25s

        self.modes = list(modes)
        self.text_weight = text_weight
        # A symptom shared by many failure modes tells them apart less (inverse document
        # frequency, scaled to 1 for a symptom of one mode only).
        df: dict[tuple[str, str], int] = {}
        for m in self.modes:
            for s in m.symptoms.metrics:
                df[(s.metric, s.direction)] = df.get((s.metric, s.direction), 0) + 1
        top = math.log(1 + len(self.modes))
        self._idf = {key: math.log(1 + len(self.modes) / n) / top for key, n in df.items()}
        self._bm25 = bm25s.BM25()
        corpus = [_document(m) for m in self.modes]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=_stems, show_progress=False)
        self._bm25.index(tokens, show_progress=False)

    def search(
        self,
        kind: str | None = None,
        symptoms: Iterable[tuple[str, str]] = (),
        logs: Iterable[str] = (),
        text: str = "",
        k: int = 3,
    ) -> list[Hit]:
        """The ``k`` best failure modes (of ``kind`` if given) for this evidence."""
        symptoms, logs = list(symptoms), [x.lower() for x in logs]
        # metric symptoms are matched above, structurally: in the text query too they
        # would count twice (and noisily, word by word); words come from logs and text
        query = " ".join([*logs, text])
        text_scores = self._text_scores(query)
        hits = []
        for i, mode in enumerate(self.modes):
            if kind is not None and mode.kind != kind:
                continue
            score, matched = self._structured(mode, symptoms, logs)
            score += self.text_weight * text_scores[i]
            if score > 0:
                hits.append(Hit(mode, score, tuple(matched)))
        hits.sort(key=lambda h: (-h.score, h.mode.id))
        return hits[:k]

    def for_report(self, report: RootCauseReport, kind: str | None = None, k: int = 3) -> list[Hit]:
        """The failure modes for a root-cause report: its evidence on the named root
        cause (metrics with direction), its failure mode's words, of ``kind`` if known."""
        root = report.root_cause_resource
        symptoms = [(e.metric, e.direction) for e in report.evidence if e.resource == root]
        words = (report.failure_mode or "").replace("_", " ")
        return self.search(kind=kind, symptoms=symptoms, text=words, k=k)

    def _structured(
        self, mode: KbFailureMode, symptoms: list[tuple[str, str]], logs: list[str]
    ) -> tuple[float, list[str]]:
        score, matched = 0.0, []
        for rank, (metric, direction) in enumerate(symptoms):
            name, labels = _base(metric)
            for pos, s in enumerate(mode.symptoms.metrics):
                s_name, s_labels = _base(s.metric)
                if s_name != name or (s_labels and s_labels not in labels):
                    continue
                weight = self._idf[(s.metric, s.direction)]
                weight /= (1.0 + _POSITION_DECAY * pos) * (1.0 + _RANK_DECAY * rank)
                if s.direction == direction:
                    score += weight
                    matched.append(f"{metric} {direction}")
                else:
                    score += _OPPOSITE * weight
                break
        for pattern in mode.symptoms.logs:
            if any(pattern.lower() in line for line in logs):
                score += _LOG_WEIGHT
                matched.append(f"log: {pattern}")
        return score, matched

    def _text_scores(self, query: str) -> np.ndarray:
        import bm25s

        scores = np.zeros(len(self.modes))
        tokens = bm25s.tokenize(
            [_words(query)], stopwords="en", stemmer=_stems, show_progress=False
        )
        if not query.strip() or not tokens.vocab:
            return scores
        docs, values = self._bm25.retrieve(tokens, k=len(self.modes), show_progress=False)
        for d, v in zip(docs[0], values[0], strict=True):
            scores[int(d)] = float(v)
        top = scores.max()
        return scores / top if top > 0 else scores
