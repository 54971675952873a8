"""PAYMENT_CARD (IIN ranges + length + Luhn) and IBAN (country length + mod-97, by python-stdnum)."""

from __future__ import annotations

import re
import string

from stdnum import iban as stdnum_iban
from stdnum import luhn

from govern.policy.detectors.base import Hit, PatternDetector, Scan, digits_of, group_prefixes, inside_iban, standalone

# (brand, IIN prefix ranges as (low, high) over the first len(low) digits, allowed lengths)
_IIN_RANGES: tuple[tuple[str, tuple[tuple[str, str], ...], range | tuple[int, ...]], ...] = (
    ("visa", (("4", "4"),), (13, 16, 19)),
    ("mastercard", (("51", "55"), ("2221", "2720")), (16,)),
    ("amex", (("34", "34"), ("37", "37")), (15,)),
    ("mir", (("2200", "2204"),), range(16, 20)),
    ("discover", (("6011", "6011"), ("644", "649"), ("65", "65")), range(16, 20)),
    ("jcb", (("3528", "3589"),), range(16, 20)),
    ("diners", (("300", "305"), ("36", "36"), ("38", "39")), range(14, 20)),
    ("unionpay", (("62", "62"), ("81", "81")), range(16, 20)),
    ("rupay", (("60", "60"), ("508", "508")), range(16, 20)),
    ("troy", (("9792", "9792"),), (16,)),
    ("maestro", (("50", "50"), ("56", "69")), range(12, 20)),
)


def card_brand(digits: str) -> str | None:
    """The card scheme whose IIN range and length fit `digits` (Luhn is checked separately)."""
    for brand, ranges, lengths in _IIN_RANGES:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            if low <= digits[: len(low)] <= high:
                return brand
    return None


_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}")


def _validate_card(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    if inside_iban(scan.text, start):
        return None
    for candidate, length in group_prefixes(match.group(), " -"):
        end = start + length
        digits = digits_of(candidate)
        if not 12 <= len(digits) <= 19 or not standalone(scan.text, start, end):
            continue
        separators = {ch for ch in candidate if not ch.isdigit()}
        if len(separators) > 1:
            continue  # "4111-1111 1111-1111" is not how a card is written
        brand = card_brand(digits)
        if brand and luhn.is_valid(digits):
            return Hit("PAYMENT_CARD", start, end, kind=brand, value=digits)
    return None


PAYMENT_CARD = PatternDetector("PAYMENT_CARD", "PAYMENT_CARD", r"\d(?:[ -]?\d){11}", _CARD, _validate_card)

_IBAN = re.compile(r"(?<![\w-])[a-z]{2}\d{2}(?:[a-z0-9]{11,30}|(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,4})?)")


_IBAN_LETTERS = str.maketrans({letter: str(value) for value, letter in enumerate(string.ascii_uppercase, 10)})


def _mod97_holds(compact: str) -> bool:
    """ISO 13616's checksum alone: a cheap refusal before python-stdnum's full check (country, length, structure)."""
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return rearranged.isdigit() and int(rearranged) % 97 == 1


def _validate_iban(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    for candidate, length in group_prefixes(match.group(), " "):
        end = start + length
        if not standalone(scan.text, start, end):
            continue
        compact = candidate.replace(" ", "").upper()
        if 15 <= len(compact) <= 34 and _mod97_holds(compact) and stdnum_iban.is_valid(compact):
            return Hit("IBAN", start, end, kind=compact[:2].lower(), value=compact)
    return None


IBAN = PatternDetector("IBAN", "IBAN", r"[a-z]{2}\d{2} ?[a-z0-9]{4} ?[a-z0-9]{4}", _IBAN, _validate_iban)

DETECTORS = (PAYMENT_CARD, IBAN)
