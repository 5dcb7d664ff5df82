"""Masking before anything leaves the process, on a corpus of secrets and look-alikes
(tests/data/masking/corpus.jsonl, made by generate.py beside it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foreshock.enrichers.masking import Masker

CORPUS = Path(__file__).parents[2] / "data" / "masking" / "corpus.jsonl"
ENTRIES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
SECRETS = [e for e in ENTRIES if e["secrets"]]
LOOKALIKES = [e["text"] for e in ENTRIES if not e["secrets"]]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(ENTRIES) >= 300 and len(SECRETS) >= 250 and len(LOOKALIKES) >= 100


def test_no_secret_of_the_corpus_survives_masking() -> None:
    leaked = []
    for e in SECRETS:
        out = Masker().mask(e["text"])
        leaked += [(e["text"], s) for s in e["secrets"] if s in out]
    assert not leaked, leaked[:5]


def test_look_alikes_survive() -> None:
    changed = [t for t in LOOKALIKES if Masker().mask(t) != t]
    assert len(changed) <= 0.05 * len(LOOKALIKES), changed


def test_the_local_report_maps_every_placeholder_back() -> None:
    for e in SECRETS:
        m = Masker()
        assert m.unmask(m.mask(e["text"])) == e["text"]


def test_one_secret_one_placeholder_across_lines_and_kinds_kept_apart() -> None:
    m = Masker()
    a = m.mask("dsn mysql://app:Pw-123456@10.0.0.9/shop")
    b = m.mask("retry password=Pw-123456 from 10.0.0.9, mail ops@example.com")
    assert "[MASKED_SECRET_1]" in a and "password=[MASKED_SECRET_1]" in b
    assert a.count("[MASKED_IP_1]") == 1 and "[MASKED_IP_1]" in b
    assert "[MASKED_EMAIL_1]" in b
    assert m.mask(b) == b  # placeholders are never masked again


@pytest.mark.parametrize(
    ("options", "text", "kept"),
    [
        ({"mask_ips": False}, "timeout from 10.1.2.3", True),
        ({}, "timeout from 10.1.2.3", False),
        ({}, "TLS to db-1.prod.example.com failed", True),
        ({"mask_hosts": True}, "TLS to db-1.prod.example.com failed", False),
        ({"mask_sql_literals": False}, "SELECT 1 FROM t WHERE name = 'bob'", True),
        ({}, "SELECT 1 FROM t WHERE name = 'bob'", False),
    ],
)
def test_addresses_hosts_and_sql_literals_are_configurable(
    options: dict[str, bool], text: str, kept: bool
) -> None:
    assert (Masker(**options).mask(text) == text) is kept
