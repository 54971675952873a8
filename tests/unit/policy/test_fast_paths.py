"""The engine's fast paths give the answers of the plain versions they replace (decision 0061).

Each test holds a fast path to a straightforward reference on every input that matters (all code points of the
common blocks) or on random strings over the characters the path cares about.
"""

from __future__ import annotations

import dataclasses
import random
import re

import pytest
from stdnum import luhn

from govern.policy.engine.detectors import contact, financial, identity
from govern.policy.engine.detectors.base import group_prefixes, luhn_valid
from govern.policy.engine.detectors.masking import _mask_digits
from govern.policy.engine.detectors.secrets import _sequential
from govern.policy.engine.findings import Action, Decision, Finding, Severity
from govern.policy.engine.text import _COMMON_BLOCKS, _TABLE, fold_char, normalize


def _random_strings(alphabet: str, count: int, longest: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def test_every_code_point_of_the_common_blocks_folds_as_fold_char_says() -> None:
    for low, high in _COMMON_BLOCKS:
        for code in range(low, high + 1):
            char = chr(code)
            norm = normalize(f"|{char}|")
            assert norm.text == f"|{fold_char(char)}|".lower() if char.isascii() else f"|{fold_char(char)}|", hex(code)
            assert norm.span(1, len(norm.text) - 1) == ((1, 2) if fold_char(char) else (2, 2)), hex(code)


def test_a_text_outside_the_common_blocks_folds_the_same_way() -> None:
    # U+338F (㎏) is outside the blocks: the whole text goes through the lazy table, and still folds as one would.
    fast, slow = normalize("שלום ﷺ ١٢ AB"), normalize("שלום ﷺ ١٢ AB \u338f")
    assert slow.text == fast.text + " kg"
    assert slow.span(0, len(fast.text)) == fast.span(0, len(fast.text))
    assert slow.span(len(slow.text) - 2, len(slow.text)) == (len(slow.original) - 1, len(slow.original))
    assert "\u338f" in _TABLE.resizing


# The candidate patterns as they were written before: a zero-width lookahead at every position.
_LOOKAHEADS = {
    "phone": (contact._PHONE, r"(?<![\w+])(?<!\d[-./])(?=((?:\+|\(\+?)?\d(?:[ ().-]{0,2}\d){6,16}))"),
    "national_id": (identity._NATIONAL_ID, r"(?<![\w+-])(?<!\d[./])(?=(\d(?:[ .-]?\d){7,14}))"),
    "card": (financial._CARD, r"(?<![\w-])(?=(\d(?:[ -]?\d){11,18}))"),
    "iban": (financial._IBAN, r"(?<![\w-])(?=([a-z]{2} ?\d\d(?: ?[a-z0-9]){11,30}))"),
}


@pytest.mark.parametrize("name", sorted(_LOOKAHEADS))
def test_candidate_starts_are_those_of_the_lookahead(name: str) -> None:
    fast, reference = _LOOKAHEADS[name][0], re.compile(_LOOKAHEADS[name][1])
    texts = _random_strings("0123456789" * 3 + " -./()+_\n,#@abzgdeno٣ש", 20_000, 40, seed=len(name))
    texts += ["call 050-123-4567 or +972 50 123 4567", "4012888888881881 4012-8888-8888-1881", "de89 3704 0044 0532 0130 00",
              "id 123456782, 3933742-3", "(+44) 20 7946 0958", "1.2.3 12-34-56 +(1) 5"]
    for text in texts:
        assert [(m.start(), m.group(1)) for m in fast.finditer(text)] == \
               [(m.start(), m.group(1)) for m in reference.finditer(text)], text


def test_luhn_is_python_stdnums() -> None:
    for number in _random_strings("0123456789" * 6 + "a -٣", 30_000, 20, seed=1) + ["79927398713", "4111111111111111", ""]:
        assert luhn_valid(number) == luhn.is_valid(number), number


def _reference_prefixes(candidate: str, separators: str) -> list[tuple[str, int]]:
    cuts = [len(candidate)]
    for index in range(len(candidate) - 1, 0, -1):
        if candidate[index] in separators and candidate[index - 1] not in separators:
            cuts.append(index)
    return [(candidate[:cut], cut) for cut in cuts]


def test_group_prefixes_cut_where_a_run_of_separators_starts() -> None:
    assert group_prefixes("050 123-4567") == [("050 123-4567", 12), ("050 123", 7), ("050", 3)]
    for text in _random_strings("0123456789  -.()/a\n", 20_000, 30, seed=2):
        for separators in (" -.()/", " -", " ", " .-"):
            assert group_prefixes(text, separators) == _reference_prefixes(text, separators), (text, separators)


def _reference_mask(text: str, keep_head: int, keep_tail: int) -> str:
    positions = [i for i, ch in enumerate(text) if ch.isdigit() or ch.isalpha()]
    chars = list(text)
    for index in positions[keep_head:len(positions) - keep_tail] if keep_tail else positions[keep_head:]:
        chars[index] = "*"
    return "".join(chars)


def test_masking_stars_all_but_the_kept_letters_and_digits() -> None:
    assert _mask_digits("4111 1111 1111 1111", 4, 4) == "4111 **** **** 1111"
    assert _mask_digits("+972-50-123-4567", 0, 2) == "+***-**-***-**67"
    for text in _random_strings("0123456789 -.()+aZ_@é٣\n", 20_000, 24, seed=3):
        for keep_head, keep_tail in ((4, 4), (0, 2), (1, 0), (0, 0), (3, 1)):
            assert _mask_digits(text, keep_head, keep_tail) == _reference_mask(text, keep_head, keep_tail), text


def _reference_sequential(text: str, run: int = 6) -> bool:
    up = down = 1
    for previous, current in zip(text, text[1:]):
        step = ord(current) - ord(previous)
        up = up + 1 if step == 1 else 1
        down = down + 1 if step == -1 else 1
        if up >= run or down >= run:
            return True
    return False


def test_sequences_are_found_as_before() -> None:
    assert _sequential("xxabcdefxx") and _sequential("a987654") and not _sequential("abcdeXfghij")
    for text in _random_strings("abcdefgh0123456789XYZ", 30_000, 30, seed=4):
        assert _sequential(text) == _reference_sequential(text), text


def test_a_finding_is_still_a_frozen_value() -> None:
    finding = Finding("PHONE_NUMBER", 3, 15, "privacy.phone", "privacy", Action.WARN, Severity.LOW, "why", "***67",
                      kind="il")
    same = Finding(entity="PHONE_NUMBER", start=3, end=15, rule="privacy.phone", category="privacy", action=Action.WARN,
                   severity=Severity.LOW, explanation="why", preview="***67", kind="il")
    assert finding == same and hash(finding) == hash(same) and repr(finding) == repr(same)
    assert (finding.media_index, finding.certainty, finding.reason) == (None, "certain", None)
    assert dataclasses.replace(finding, start=4).start == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.start = 5  # type: ignore[misc]


def test_the_decision_is_the_strongest_action_and_findings_in_order() -> None:
    def finding(start: int, action: Action, rule: str = "r") -> Finding:
        return Finding("SECRET", start, start + 1, rule, "privacy", action, Severity.LOW, "", "")

    assert Decision.of([], "v") == Decision(Action.ALLOW, (), "v")
    decision = Decision.of([finding(9, Action.WARN), finding(2, Action.BLOCK), finding(2, Action.REQUIRE_APPROVAL, "a")],
                           "v")
    assert decision.decision is Action.BLOCK
    assert [(f.start, f.rule) for f in decision.findings] == [(2, "a"), (2, "r"), (9, "r")]
