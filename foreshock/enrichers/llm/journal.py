"""The response cache and the audit log of LLM calls: plain files, append-only audit.

:class:`ResponseCache` keeps an accepted answer per prompt fingerprint (a SHA-256 of
model, instructions and masked evidence), so an unchanged incident is never sent twice;
:class:`AuditLog` appends one JSON line per call or cache hit (model, prompt hash,
tokens, latency, outcome) and never rewrites a line.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> cache = ResponseCache(d / "cache")
>>> cache.get("ab" * 32) is None
True
>>> cache.put("ab" * 32, '{"summary": "x"}')
>>> ResponseCache(d / "cache").get("ab" * 32)
'{"summary": "x"}'
>>> log = AuditLog(d / "llm-audit.jsonl")
>>> log.write(model="m", outcome="accepted", cache_hit=False)
>>> json.loads((d / "llm-audit.jsonl").read_text())["outcome"]
'accepted'
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "ResponseCache", "opensearch_audit"]

log = logging.getLogger(__name__)

_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


class ResponseCache:
    """Accepted answers by prompt fingerprint: in memory, and in ``folder`` when given."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, str] = {}

    def get(self, fingerprint: str) -> str | None:
        """The answer stored for ``fingerprint``, if any."""
        if fingerprint in self._memory:
            return self._memory[fingerprint]
        path = self._path(fingerprint)
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8")
            self._memory[fingerprint] = text
            return text
        return None

    def put(self, fingerprint: str, answer: str) -> None:
        """Store ``answer`` for ``fingerprint`` (written whole, then renamed into place)."""
        self._memory[fingerprint] = answer
        path = self._path(fingerprint)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(answer, encoding="utf-8")
            tmp.replace(path)

    def _path(self, fingerprint: str) -> Path | None:
        if self.folder is None or not _FINGERPRINT.match(fingerprint):
            return None
        return self.folder / f"{fingerprint}.json"


class AuditLog:
    """Append-only JSON lines, one per LLM call or cache hit; ``None``: keep in memory.

    ``also`` gets every entry too (e.g. :func:`opensearch_audit`, an index analysts
    query); if it fails, the entry is still in the file, and the failure is logged once.
    """

    def __init__(
        self, path: Path | None = None, also: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.path = path
        self.also = also
        self.entries: list[dict[str, Any]] = []
        self._also_failed = False

    def write(self, **fields: Any) -> None:
        """Append one entry (``ts`` added)."""
        entry = {"ts": time.time(), **fields}
        self.entries.append(entry)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
        if self.also is not None:
            try:
                self.also(entry)
            except Exception as exc:  # the file has it; the index is a convenience
                if not self._also_failed:
                    log.warning("LLM audit entry not indexed (kept in the file): %s", exc)
                self._also_failed = True


def opensearch_audit(client: Any, index: str) -> Callable[[dict[str, Any]], None]:
    """Index each audit entry into ``index`` of an OpenSearch ``client``."""

    def put(entry: dict[str, Any]) -> None:
        client.index(index=index, body=entry)

    return put
