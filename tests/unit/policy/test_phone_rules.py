"""The compiled phone metadata gives phonenumbers' own answers: same validity, same region, same E.164."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from govern.policy.engine.detectors.base import digits_of
from govern.policy.engine.detectors.contact import DEFAULT_REGIONS, valid_number


def _phonenumbers_answer(candidate: str, regions: tuple[str, ...]) -> tuple[str, str | None] | None:
    digits = digits_of(candidate)
    if candidate.startswith("+") or digits.startswith("00"):
        candidate, regions = "+" + (digits[2:] if digits.startswith("00") else digits), ("ZZ",)
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            found = phonenumbers.region_code_for_number(number)
            return phonenumbers.format_number(number, PhoneNumberFormat.E164), (None if found == "001" else found)
        if candidate.startswith("+"):
            return None
    return None


def _candidates() -> list[tuple[str, str]]:
    rng = random.Random(5)
    cases = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for style in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
                written = phonenumbers.format_number(example, style)
                cases.append((written, region))
                chars = list(written)
                positions = [i for i, ch in enumerate(chars) if ch.isdigit()][-4:]
                del chars[rng.choice(positions)]  # one digit short: usually invalid, sometimes another valid number
                cases.append(("".join(chars), region))
    return cases


CASES = _candidates()


def test_the_sample_covers_valid_and_invalid_numbers() -> None:
    answers = [_phonenumbers_answer(candidate, (region,)) for candidate, region in CASES]
    assert sum(a is not None for a in answers) > 500 and sum(a is None for a in answers) > 200


@pytest.mark.parametrize("regions", ["own", "own+defaults", "defaults"])
def test_compiled_rules_agree_with_phonenumbers(regions) -> None:
    disagreements = []
    for candidate, region in CASES:
        order = {"own": (region,), "own+defaults": (region, *DEFAULT_REGIONS), "defaults": DEFAULT_REGIONS}[regions]
        found = valid_number(candidate, digits_of(candidate), order)
        mine = (found.e164, found.region) if found else None
        expected = _phonenumbers_answer(candidate, order)
        if mine != expected:
            disagreements.append((candidate, region, mine, expected))
    assert disagreements == []


def test_shapes_outside_the_compiled_rules_go_to_phonenumbers() -> None:
    # Argentina rewrites its trunk prefix (a transform rule); the answer still comes out right.
    example = phonenumbers.example_number_for_type("AR", PhoneNumberType.MOBILE)
    written = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    found = valid_number(written, digits_of(written), ("AR",))
    assert found is not None and found.region == "AR"
    assert found.e164 == phonenumbers.format_number(example, PhoneNumberFormat.E164)
