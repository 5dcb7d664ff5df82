"""Grounding: an answer is kept only if everything it claims is in the evidence it got.

Examples
--------
>>> from foreshock.enrichers.llm.answer import LlmAnswer
>>> a = LlmAnswer.model_validate({"summary": "memory hit 1.9e+09 bytes",
...     "root_cause": {"resource": "db"}, "causal_chain": [{"step": "x", "evidence": ["E7"]}],
...     "confidence": 0.5})
>>> ungrounded(a, evidence_ids=["E1"], candidates=["redis"], allowed_numbers={"1.9e+09"})
['cites evidence that does not exist: E7', "names root cause 'db', not a ranked candidate (redis)"]
"""

from __future__ import annotations

from collections.abc import Iterable

from foreshock.enrichers.llm.answer import LlmAnswer
from foreshock.enrichers.llm.prompt import numbers_in

__all__ = ["ungrounded"]


def ungrounded(
    answer: LlmAnswer,
    evidence_ids: Iterable[str],
    candidates: Iterable[str],
    allowed_numbers: set[str],
) -> list[str]:
    """Why ``answer`` cannot be trusted (empty: it is grounded).

    Every cited evidence id must exist; the root cause must be a ranked candidate; every
    number in its texts must appear in the prompt's evidence (a model that writes "at 93%"
    where the evidence says 0.93 is rejected: we cannot tell a rounding from an invention).
    """
    reasons = []
    ids, cands = set(evidence_ids), list(candidates)
    missing = [e for e in answer.cited() if e not in ids]
    if missing:
        reasons.append(f"cites evidence that does not exist: {', '.join(missing)}")
    if answer.root_cause.resource not in cands:
        reasons.append(
            f"names root cause {answer.root_cause.resource!r}, not a ranked candidate "
            f"({', '.join(cands)})"
        )
    invented = sorted({n for t in answer.texts() for n in numbers_in(t)} - allowed_numbers)
    if invented:
        reasons.append(f"states numbers not in the evidence: {', '.join(invented[:5])}")
    return reasons
