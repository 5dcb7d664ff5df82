"""Log template mining: turn raw log lines into a small set of templates, online.

:mod:`.masking` replaces variable parts (IPs, ids, numbers, paths...) by placeholders,
:mod:`.miner` groups masked lines into templates with drain3's prefix tree, and
:mod:`.merge` folds a template into an older one that covers it. :mod:`.header` strips a
leading timestamp/level header from raw lines. ``foreshock logs templates`` prints the
templates of a file; ``foreshock eval loghub`` scores the miner on Loghub.

Examples
--------
>>> from foreshock.detectors.logs import TemplateMiner
>>> m = TemplateMiner()
>>> m.add("worker 3 started in 12 ms").template
'worker <NUM> started in <NUM> ms'
"""

from __future__ import annotations

from foreshock.detectors.logs.miner import TemplateMatch, TemplateMiner

__all__ = ["TemplateMatch", "TemplateMiner"]
