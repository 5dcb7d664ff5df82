"""Enrich stage: incidents → root-cause reports (one per incident version).

Examples
--------
>>> from foreshock.packs.loader import load_packs
>>> from foreshock.enrichers.narrator import OfflineNarrator
>>> from foreshock.schemas.incident import Incident
>>> stage = EnrichStage(OfflineNarrator(load_packs()))
>>> [r.id for r in stage.process(Incident(id="i", opened_at=0, updated_at=0))]
['i-v1']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from foreshock.schemas.incident import Incident
from foreshock.schemas.report import RootCauseReport


class Narrator(Protocol):
    name: str

    def narrate(self, incident: Incident) -> RootCauseReport: ...


class EnrichStage:
    def __init__(self, narrator: Narrator) -> None:
        self.narrator = narrator

    def process(self, item: Incident) -> list[RootCauseReport]:
        return [self.narrator.narrate(item)]

    def tick(self, now: float) -> Iterable[RootCauseReport]:
        return ()

    def snapshot(self) -> bytes:
        return b""

    def restore(self, state: bytes) -> None:
        return None
