"""Hostile input: huge posts, backtracking bait, emoji floods, mixed direction; nothing stalls or crashes.

Budgets are generous wall-clock ceilings that only a stall would exceed, not speed assertions.
"""

from __future__ import annotations

import time

import pytest

from govern.policy.engine.evaluation import MAX_CANDIDATES_PER_PATTERN, evaluate
from govern.policy.engine.findings import Action

HOSTILE = {
    "one_megabyte_prose": ("Our team is growing and we love hearing from you. " * 21000)[:1_000_000],
    "one_megabyte_digits": "1234567890 " * 95000,
    "backtracking_bait": "a" * 50000 + "@" + "a." * 50000 + "!" + "-" * 50000 + "1 " * 50000,
    "begin_key_flood": "-----BEGIN PRIVATE KEY-----" * 30000,
    "jwt_bait": "eyJ" + "a" * 200000 + ".eyJ" + "b" * 200000,
    "emoji": "😀👍🏽‍🔥\ufe0f" * 10000,
    "mixed_direction": ("\u202eשלום\u202c مرحبا \u2067abc\u2069 \u200f١٢٣\u200e " * 20000),
    "combining_marks": "a" + "\u0301" * 200000,
    "ligatures": "ﷺ" * 100000,
    "nul_and_controls": "\x00\x01\x02\ud7ff\uffff" * 50000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_completes(compiled, name: str) -> None:
    started = time.perf_counter()
    decision = evaluate(compiled, HOSTILE[name])
    assert time.perf_counter() - started < 60, "evaluation stalled"
    for finding in decision.findings:
        assert 0 <= finding.start <= finding.end <= len(HOSTILE[name])


def test_a_flood_of_candidates_is_capped_and_sent_to_a_person(compiled) -> None:
    flood = " ".join(f"card 4111 1111 1111 {i:04d}" for i in range(MAX_CANDIDATES_PER_PATTERN + 500))
    decision = evaluate(compiled, flood)
    assert any(f.entity == "SCAN_LIMIT" for f in decision.findings)
    assert decision.decision.value == "block"  # the cards found before the cap still block


def test_lone_surrogates_do_not_crash(compiled) -> None:
    # a lone surrogate evaluates like a replacement character ...
    text = "id \ud800 1023456781"
    assert evaluate(compiled, text) == evaluate(compiled, text.replace("\ud800", "\ufffd"))
    # ... and what follows it is still found, at its offsets in the original text
    text = "\ud800رقم الهوية \udc00١٠٢٣٤٥٦٧٨١\udfff"
    decision = evaluate(compiled, text)
    assert decision.decision is Action.BLOCK
    [finding] = decision.findings
    assert finding.entity == "NATIONAL_ID" and text[finding.start:finding.end] == "١٠٢٣٤٥٦٧٨١"
