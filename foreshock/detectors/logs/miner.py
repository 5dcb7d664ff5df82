"""Online log template mining: drain3's fixed-depth tree over masked lines, plus merging.

Each line's content (no header) is masked by :mod:`foreshock.detectors.logs.masking`, then drain3
finds the template of the same token count whose constant tokens agree best with the
line (similarity ``sim_th``), or creates a new one. When a template is created or
generalises, :mod:`foreshock.detectors.logs.merge` looks for an older template it now covers
(the two differ only where one of them has a variable) and folds the newer one into
it: the older id stays the canonical one, so template ids never change meaning.

The cost of a line is bounded whatever the input (a binary file, unique lines of random
words): each line is first shaped by :func:`~foreshock.detectors.logs.limits.bound_line`
(binary lines become ``<BIN>``, very long lines and token lists are cut and their rest
folded into one ``<*>``); a leaf of drain's tree holds at most
:data:`~foreshock.detectors.logs.limits.MAX_LEAF_TEMPLATES` templates (past that, a line
that fits none joins the closest one instead of opening another), and the merge step
looks only at templates that share a constant token with the new one, through an index,
at most :data:`~foreshock.detectors.logs.limits.MAX_FOLD_CANDIDATES` of them.

The learned state is plain data (:meth:`TemplateMiner.state_dict`), so it can travel in a
:func:`~foreshock.schemas.state.dump_state` snapshot; nothing is ever unpickled.

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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from drain3 import TemplateMiner as _Drain3Miner  # type: ignore[import-untyped]
from drain3.drain import Drain, LogCluster, LogClusterCache, Node  # type: ignore[import-untyped]
from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

from foreshock.detectors.logs.limits import (
    MAX_FOLD_CANDIDATES,
    MAX_LEAF_TEMPLATES,
    bound_line,
)
from foreshock.detectors.logs.masking import RULES, MaskRule, masking_instructions
from foreshock.detectors.logs.merge import covers, is_fixed, is_variable
from foreshock.schemas.errors import SnapshotError

__all__ = ["TemplateMatch", "TemplateMiner"]

_PARAM = "<*>"
_STATE_KEYS = frozenset({"config", "clusters", "lru", "clusters_counter", "tree", "alias", "count"})


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
    >>> from foreshock.schemas.state import dump_state, load_state
    >>> m2 = TemplateMiner()
    >>> m2.load_state_dict(load_state(dump_state("miner", m.state_dict()), "miner"))
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
        # (token count, position, constant token) -> ids of the templates created with it
        self._postings: dict[tuple[int, int, str], list[int]] = {}

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
        res = self._miner.add_log_message(bound_line(content))
        cid = int(res["cluster_id"])
        created = res["change_type"] == "cluster_created"
        if created:
            self._count[cid] = 0
            self._index(cid)
        if self.merge and res["change_type"] != "none":
            self._fold(cid)
        canon = self._canonical(cid)
        self._count[canon] = self._count.get(canon, 0) + 1
        return self._match_of(canon, is_new=created and canon == cid)

    def match(self, content: str) -> TemplateMatch | None:
        """The template ``content`` belongs to, without learning; ``None`` if none fits."""
        cluster = self._miner.match(bound_line(content), full_search_strategy="fallback")
        if cluster is None:
            return None
        return self._match_of(self._canonical(int(cluster.cluster_id)), is_new=False)

    def templates(self) -> list[TemplateMatch]:
        """Every template, the most frequent first (ties: oldest first)."""
        ids = sorted(self._count, key=lambda c: (-self._count[c], c))
        return [self._match_of(c, is_new=False) for c in ids]

    def state_dict(self) -> dict[str, Any]:
        """The learned state as plain data (for :meth:`load_state_dict`).

        drain's prefix tree, its templates (``[id, tokens, size]``, with the least
        recently used order when ``max_clusters`` is set), its id counter, the merges and
        the line counts, and the settings they were learned under. Taking it changes
        nothing, not even the LRU order.

        Examples
        --------
        >>> m = TemplateMiner()
        >>> _ = m.add("worker 1 started")
        >>> s = m.state_dict()
        >>> s["clusters"], s["count"], s["clusters_counter"]
        ([[1, ['worker', '<NUM>', 'started'], 1]], {1: 1}, 1)
        >>> s["tree"]["children"]["3"]["children"]["worker"]["children"]["<*>"]["ids"]
        [1]
        """
        drain = self._miner.drain
        table = drain.id_to_cluster
        clusters = []
        for cid in list(table):  # .get: reading must not touch the LRU order
            c = table.get(cid)
            clusters.append([int(c.cluster_id), [str(t) for t in c.log_template_tokens], c.size])
        return {
            "config": self._config(),
            "clusters": clusters,
            "lru": _lru_order(table) if isinstance(table, LogClusterCache) else None,
            "clusters_counter": int(drain.clusters_counter),
            "tree": _node_state(drain.root_node),
            "alias": dict(self._alias),
            "count": dict(self._count),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the learned state by one from :meth:`state_dict`.

        Raises
        ------
        SnapshotError
            ``state`` is not shaped like a :meth:`state_dict`, or was learned under other
            settings; the miner is then left as it was.

        Examples
        --------
        >>> m = TemplateMiner()
        >>> m.load_state_dict({"clusters": []})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foreshock.schemas.errors.SnapshotError: miner state: expected a dict with keys alias, ...
        >>> TemplateMiner(sim_th=0.5).load_state_dict(m.state_dict())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foreshock.schemas.errors.SnapshotError: miner state: learned with sim_th=0.7, this ...
        """
        if not isinstance(state, dict) or state.keys() != _STATE_KEYS:
            _fail(f"expected a dict with keys {', '.join(sorted(_STATE_KEYS))}")
        config, mine = state["config"], self._config()
        if not isinstance(config, dict) or config.keys() != mine.keys():
            _fail(f"config must be a dict with keys {', '.join(mine)}")
        for name, value in mine.items():
            if config[name] != value:
                shown = "other masking rules" if name == "rules" else f"{name}={config[name]!r}"
                mine_shown = "" if name == "rules" else f", this miner has {name}={value!r}"
                _fail(f"learned with {shown}{mine_shown}")
        clusters = [_cluster(item) for item in _list(state["clusters"], "clusters")]
        ids = [c.cluster_id for c in clusters]
        if len(set(ids)) != len(ids):
            _fail("clusters: duplicate cluster id")
        counter = _int(state["clusters_counter"], "clusters_counter")
        if ids and counter < max(ids):
            _fail(f"clusters_counter {counter} is below cluster id {max(ids)}")
        lru = state["lru"]
        table: Any
        if self.max_clusters is None:
            if lru is not None:
                _fail("lru must be None for a miner without max_clusters")
            table = {c.cluster_id: c for c in clusters}
        else:
            order = [_int(x, "lru") for x in _list(lru, "lru")]
            if sorted(order) != sorted(ids):
                _fail("lru must list every cluster id once")
            if len(ids) > self.max_clusters:
                _fail(f"{len(ids)} clusters, more than max_clusters={self.max_clusters}")
            table = LogClusterCache(maxsize=self.max_clusters)
            for c in clusters:
                table[c.cluster_id] = c
            for cid in order:  # least recently used first: each touch moves it to the end
                _ = table[cid]
        root = _node(state["tree"], "tree", self.depth)
        alias = _int_map(state["alias"], "alias")
        if any(canon >= merged for merged, canon in alias.items()):
            _fail("alias: a template can only be merged into an older one")
        count = _int_map(state["count"], "count")
        miner = self._new_miner()
        miner.drain.root_node = root
        miner.drain.id_to_cluster = table
        miner.drain.clusters_counter = counter
        self._miner, self._alias, self._count = miner, alias, count
        self._postings = {}
        for c in sorted(clusters, key=lambda c: int(c.cluster_id)):
            self._index(int(c.cluster_id))

    def __len__(self) -> int:
        return len(self._count)

    # ----------------------------------------------------------------- internals
    def _config(self) -> dict[str, Any]:
        """The settings learned state depends on, as plain data."""
        return {
            "sim_th": self.sim_th,
            "depth": self.depth,
            "max_children": self.max_children,
            "max_clusters": self.max_clusters,
            "merge": self.merge,
            "rules": [[r.name, r.pattern, r.repl] for r in self.rules],
        }

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

    def _index(self, cid: int) -> None:
        """Add a new template's constant tokens to the index :meth:`_fold` searches.

        A template's tokens only ever turn into ``<*>`` after it is created (drain
        generalises, :meth:`_fold` merges), never into another constant, so entries are
        added once; an entry whose position has since become a variable is harmless (the
        candidate is then checked and rejected).
        """
        tokens = self._tokens(cid) or ()
        n = len(tokens)
        for pos, tok in enumerate(tokens):
            if not is_variable(tok):
                self._postings.setdefault((n, pos, tok), []).append(cid)

    def _fold_candidates(self, cid: int, tokens: tuple[str, ...]) -> list[int]:
        """Templates that may cover ``tokens`` or be covered by it, oldest first.

        :func:`.merge.covers` needs a constant token shared at the same position, so
        only templates indexed under one of ``tokens``' constants qualify; at most
        :data:`~.limits.MAX_FOLD_CANDIDATES`, taken from the rarest tokens first.
        """
        n = len(tokens)
        lists = [
            self._postings.get((n, pos, tok), ())
            for pos, tok in enumerate(tokens)
            if not is_variable(tok)
        ]
        found: set[int] = set()
        for ids in sorted(lists, key=len):
            for other in ids:
                if other != cid:
                    found.add(other)
                    if len(found) >= MAX_FOLD_CANDIDATES:
                        return sorted(found)
        return sorted(found)

    def _fold(self, cid: int) -> None:
        """Fold ``cid``'s canonical template and any template it covers into the oldest."""
        canon = self._canonical(cid)
        tokens = self._tokens(cid)
        if tokens is None:
            return
        drain = self._miner.drain
        for other in self._fold_candidates(cid, tokens):
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
            elif t1 == t2 or (t1[:1] == "<" and is_variable(t1) and is_variable(t2)):
                sim += 1
        sim += params  # a template's variable position accepts any token
        return sim / len(seq1), params

    def fast_match(
        self, cluster_ids: Sequence[int], tokens: Sequence[str], sim_th: float, include_params: bool
    ) -> Any:
        """drain3's best match in a leaf (highest similarity, ties to the template with
        more wildcards; ``None`` below ``sim_th``), except that while learning (drain's
        ``add_log_message`` searches with ``include_params`` false, ``match`` with it
        true) a leaf of :data:`~.limits.MAX_LEAF_TEMPLATES` templates or more takes no
        new one: the line joins the closest template whatever its similarity. That bounds
        what a line costs when lines never repeat (random words, binary noise), where
        each would otherwise open a template the next lines must all be compared with.
        """
        scored = []
        for i, cid in enumerate(cluster_ids):
            cluster = self.id_to_cluster.get(cid)  # .get: no touch of the LRU order
            if cluster is None:
                continue
            sim, params = self.get_seq_distance(cluster.log_template_tokens, tokens, include_params)
            scored.append((-sim, -params, i, cluster))
        scored.sort(key=lambda x: x[:3])
        forced = not include_params and len(cluster_ids) >= MAX_LEAF_TEMPLATES
        line_words = any(_WORD.match(t) for t in tokens)
        # the best that may take the line at all, among the few most similar (bounded work)
        for neg_sim, _, _, cluster in scored[:_MAX_CONFLICT_CHECKS]:
            if -neg_sim < sim_th and not forced:
                return None
            if not _conflict(cluster.log_template_tokens, tokens, line_words):
                return cluster
        return scored[0][3] if forced and scored else None


_MAX_CONFLICT_CHECKS = 16


# a word: three letters or more (a trailing ':', '.' or '!' allowed), as events are named;
# not a letter or two, not binary noise that happens to decode
_WORD = re.compile(r"^[A-Za-z][A-Za-z_\-]{2,}[.:!]?$")


def _conflict(template: Sequence[str], tokens: Sequence[str], line_words: bool) -> bool:
    """Whether a line can never be an instance of a template, however similar the rest.

    A keyword or a label (:func:`~.merge.is_fixed`) that differs names another event;
    a template of parameters only (``<*> <*>``) never takes a line with a word of its own
    (a one-word line would otherwise join any one-parameter template: four different
    one-word events in one); noise without a word still joins it.
    """
    for t1, t2 in zip(template, tokens, strict=True):
        if t1 != t2 and t1 != _PARAM and (is_fixed(t1) or is_fixed(t2)):
            return True
    return line_words and _only_variables(template)


def _only_variables(tokens: Sequence[str]) -> bool:
    return all(t == _PARAM or (t[:1] == "<" and is_variable(t)) for t in tokens)


# --------------------------------------------------------------------- state as data
def _fail(message: str) -> NoReturn:
    raise SnapshotError(f"miner state: {message}")


def _lru_order(table: Any) -> list[int]:
    """Cluster ids of a ``LogClusterCache``, least recently used first.

    cachetools keeps that order only in ``LRUCache``'s private ``__order`` (cachetools
    4 and 5 alike); no public call reads it without changing it.
    """
    return [int(cid) for cid in table._LRUCache__order]


def _node_state(node: Any) -> dict[str, Any]:
    return {
        "ids": [int(cid) for cid in node.cluster_ids],
        "children": {str(k): _node_state(child) for k, child in node.key_to_child_node.items()},
    }


def _int(value: Any, where: str) -> int:
    if type(value) is not int:
        _fail(f"{where}: expected an int, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _int_map(value: Any, where: str) -> dict[int, int]:
    if not isinstance(value, dict):
        _fail(f"{where}: expected a dict, got {type(value).__name__}")
    return {_int(k, f"{where} key"): _int(v, f"{where}[{k!r}]") for k, v in value.items()}


def _cluster(item: Any) -> Any:
    """A ``LogCluster`` from ``[id, tokens, size]``."""
    if not isinstance(item, list) or len(item) != 3:
        _fail("clusters: each cluster must be [id, tokens, size]")
    cid = _int(item[0], "cluster id")
    tokens = _list(item[1], f"cluster {cid} tokens")
    if not all(isinstance(t, str) for t in tokens):
        _fail(f"cluster {cid} tokens: expected strings")
    cluster = LogCluster(tokens, cid)
    cluster.size = _int(item[2], f"cluster {cid} size")
    return cluster


def _node(value: Any, where: str, depth_left: int) -> Any:
    """A prefix-tree ``Node`` from ``{"ids": [...], "children": {token: node}}``."""
    if not isinstance(value, dict) or value.keys() != {"ids", "children"}:
        _fail(f"{where}: a tree node must be a dict with keys ids, children")
    if depth_left < 0:
        _fail(f"{where}: the tree is deeper than this miner's depth")
    node = Node()
    node.cluster_ids = [_int(cid, f"{where} ids") for cid in _list(value["ids"], f"{where} ids")]
    children = value["children"]
    if not isinstance(children, dict) or not all(isinstance(k, str) for k in children):
        _fail(f"{where}: children must be a dict keyed by token")
    node.key_to_child_node = {
        k: _node(child, f"{where}/{k}", depth_left - 1) for k, child in children.items()
    }
    return node


def _generalise(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """Token-wise: equal tokens stay, others become the wildcard."""
    if len(a) != len(b):
        return a
    return tuple(x if x == y else _PARAM for x, y in zip(a, b, strict=True))
