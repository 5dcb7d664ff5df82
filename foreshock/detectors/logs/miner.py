"""Online log template mining: drain3's fixed-depth tree over masked lines, plus merging.

Each line's content (no header) is masked by :mod:`foreshock.detectors.logs.masking`, then drain3
finds the template of the same token count whose constant tokens agree best with the
line (similarity ``sim_th``), or creates a new one. When a template is created or
generalises, :mod:`foreshock.detectors.logs.merge` looks for an older template it now covers
(the two differ only where one of them has a variable) and folds the newer one into
it: the older id stays the canonical one, so template ids never change meaning.

Examples
--------
>>> m = TemplateMiner()
>>> m.add("Connection from 10.0.0.1 closed").is_new
True
>>> t = m.add("Connection from 10.0.0.7 closed")
>>> t.template, t.count, t.is_new
('Connection from <IP> closed', 2, False)
>>> m.match("Connection from 10.9.9.9 closed").template_id == t.template_id
True
>>> m.match("Disk full") is None
True
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drain3 import TemplateMiner as _Drain3Miner  # type: ignore[import-untyped]
from drain3.drain import Drain  # type: ignore[import-untyped]
from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

from foreshock.detectors.logs.masking import RULES, MaskRule, masking_instructions
from foreshock.detectors.logs.merge import covers, is_variable

__all__ = ["TemplateMatch", "TemplateMiner"]

_PARAM = "<*>"


@dataclass(frozen=True)
class TemplateMatch:
    """The template a line belongs to.

    ``template_id`` is stable for the life of the miner and never reused; ``template`` is
    the current text with placeholders; ``is_new`` is true for the line that created the
    template; ``count`` is the number of lines seen for it so far.
    """

    template_id: str
    template: str
    is_new: bool
    count: int


class TemplateMiner:
    """Mine log templates online, one line at a time.

    Parameters
    ----------
    sim_th
        Share of a template's constant tokens a line must match to join it.
    depth
        Depth of drain's prefix tree (root, token count, then ``depth - 2`` tokens).
    max_children
        Most children of a tree node before tokens share the wildcard branch.
    max_clusters
        Most templates kept (least recently used are dropped); ``None``: unbounded.
    merge
        Fold a template into an older one that covers it (see :mod:`.merge`).
    rules
        Masking rules, applied in order (default :data:`.masking.RULES`).

    Examples
    --------
    >>> m = TemplateMiner()
    >>> for n in range(5):
    ...     _ = m.add(f"user u{n} logged in from host-{n}")
    >>> _ = m.add("disk /dev/sda1 is full")
    >>> [(t.template, t.count) for t in m.templates()]
    [('user u<NUM> logged in from host-<NUM>', 5), ('disk <PATH> is full', 1)]
    >>> len(m)
    2
    >>> m2 = TemplateMiner()
    >>> m2.restore(m.snapshot())
    >>> m2.match("user u9 logged in from host-3").count
    5
    """

    def __init__(
        self,
        sim_th: float = 0.7,
        depth: int = 5,
        max_children: int = 100,
        max_clusters: int | None = None,
        merge: bool = True,
        rules: tuple[MaskRule, ...] = RULES,
    ) -> None:
        self.sim_th = sim_th
        self.depth = depth
        self.max_children = max_children
        self.max_clusters = max_clusters
        self.merge = merge
        self.rules = rules
        self._miner = self._new_miner()
        self._alias: dict[int, int] = {}  # merged cluster id -> canonical cluster id
        self._count: dict[int, int] = {}  # canonical cluster id -> lines

    def _new_miner(self) -> Any:
        cfg = TemplateMinerConfig()
        cfg.drain_sim_th = self.sim_th
        cfg.drain_depth = self.depth
        cfg.drain_max_children = self.max_children
        cfg.drain_max_clusters = self.max_clusters
        cfg.masking_instructions = masking_instructions(self.rules)
        cfg.parametrize_numeric_tokens = True
        miner = _Drain3Miner(config=cfg)
        miner.drain = _PlaceholderDrain(
            depth=self.depth,
            sim_th=self.sim_th,
            max_children=self.max_children,
            max_clusters=self.max_clusters,
            param_str=_PARAM,
            parametrize_numeric_tokens=True,
        )
        return miner

    # ----------------------------------------------------------------- public API
    def add(self, content: str) -> TemplateMatch:
        """Mine one line's content: the template it joins (or creates)."""
        res = self._miner.add_log_message(content)
        cid = int(res["cluster_id"])
        created = res["change_type"] == "cluster_created"
        if created:
            self._count[cid] = 0
        if self.merge and res["change_type"] != "none":
            self._fold(cid)
        canon = self._canonical(cid)
        self._count[canon] = self._count.get(canon, 0) + 1
        return self._match_of(canon, is_new=created and canon == cid)

    def match(self, content: str) -> TemplateMatch | None:
        """The template ``content`` belongs to, without learning; ``None`` if none fits."""
        cluster = self._miner.match(content, full_search_strategy="fallback")
        if cluster is None:
            return None
        return self._match_of(self._canonical(int(cluster.cluster_id)), is_new=False)

    def templates(self) -> list[TemplateMatch]:
        """Every template, the most frequent first (ties: oldest first)."""
        ids = sorted(self._count, key=lambda c: (-self._count[c], c))
        return [self._match_of(c, is_new=False) for c in ids]

    def snapshot(self) -> bytes:
        """The learned state as bytes (for :meth:`restore`)."""
        return pickle.dumps((self._miner.drain, self._alias, self._count))

    def restore(self, state: bytes) -> None:
        """Replace the learned state by one from :meth:`snapshot`."""
        drain, alias, count = pickle.loads(state)
        self._miner.drain = drain
        self._alias = dict(alias)
        self._count = dict(count)

    def __len__(self) -> int:
        return len(self._count)

    # ----------------------------------------------------------------- internals
    def _canonical(self, cid: int) -> int:
        while cid in self._alias:
            cid = self._alias[cid]
        return cid

    def _tokens(self, cid: int) -> tuple[str, ...] | None:
        cluster = self._miner.drain.id_to_cluster.get(cid)
        return None if cluster is None else tuple(cluster.log_template_tokens)

    def _match_of(self, canon: int, is_new: bool) -> TemplateMatch:
        tokens = self._tokens(canon) or ()
        return TemplateMatch(f"T{canon}", " ".join(tokens), is_new, self._count.get(canon, 0))

    def _fold(self, cid: int) -> None:
        """Fold ``cid``'s canonical template and any template it covers into the oldest."""
        canon = self._canonical(cid)
        tokens = self._tokens(cid)
        if tokens is None:
            return
        drain = self._miner.drain
        for other in drain.get_clusters_ids_for_seq_len(len(tokens)):
            o = self._canonical(other)
            if o == canon:
                continue
            o_tokens = self._tokens(other)
            if o_tokens is None or not (covers(tokens, o_tokens) or covers(o_tokens, tokens)):
                continue
            keep, drop = min(o, canon), max(o, canon)
            self._alias[drop] = keep
            self._count[keep] = self._count.get(keep, 0) + self._count.pop(drop, 0)
            merged = _generalise(self._tokens(keep) or (), self._tokens(drop) or ())
            drain.id_to_cluster[keep].log_template_tokens = merged
            canon = keep


class _PlaceholderDrain(Drain):  # type: ignore[misc]
    """drain3's Drain whose prefix tree sends placeholders down the wildcard branch.

    Drain routes tokens with digits to the wildcard child; after masking, ``<NUM>`` and
    ``<HEX>`` hold no digit, so without this two lines differing only in which mask
    matched (``iar <HEX>`` / ``iar <NUM>``) would land in different leaves.
    """

    @staticmethod
    def has_numbers(s: str) -> bool:
        return is_variable(s) or any(c.isdigit() for c in s)

    def get_seq_distance(
        self, seq1: Sequence[str], seq2: Sequence[str], include_params: bool
    ) -> tuple[float, int]:
        """Drain's similarity, where two placeholders of any kind agree, and a template's
        wildcard accepts any token (Drain counts it as a mismatch while matching, so at
        a high threshold a short template such as ``Disk full <*>`` refuses its own next
        line and every new value opens another template: 817 templates instead of 558
        on the 8 Loghub systems (572 true events), and never-seen templates flood a live
        stream)."""
        if not seq1:
            return 1.0, 0
        sim = params = 0
        for t1, t2 in zip(seq1, seq2, strict=True):
            if t1 == _PARAM:
                params += 1
            elif t1 == t2 or (is_variable(t1) and is_variable(t2)):
                sim += 1
        sim += params  # a template's variable position accepts any token
        return sim / len(seq1), params


def _generalise(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """Token-wise: equal tokens stay, others become the wildcard."""
    if len(a) != len(b):
        return a
    return tuple(x if x == y else _PARAM for x, y in zip(a, b, strict=True))
