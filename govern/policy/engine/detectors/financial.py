"""PAYMENT_CARD (IIN ranges + length + Luhn) and IBAN (country length + mod-97, by python-stdnum)."""

from __future__ import annotations

import re
import string

from stdnum import iban as stdnum_iban

from govern.policy.engine.detectors.base import (
    Hit, PatternDetector, Scan, candidate_starts, context_words, digits_of, group_prefixes, luhn_valid,
    standalone,
)

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
    ("uatp", (("1", "1"),), (15,)),
)


# Schemes whose IIN is too short to vouch for a number on its own; a card word makes them certain.
_WEAK_BRANDS = frozenset({"uatp"})
CARD_CONTEXT = context_words("card", "credit", "debit", "uatp", "بطاقة", "بطاقه", "ائتمان", "כרטיס", "אשראי")


def card_brand(digits: str) -> str | None:
    """The card scheme whose IIN range and length fit `digits` (Luhn is checked separately)."""
    for brand, ranges, lengths in _IIN_RANGES:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            if low <= digits[: len(low)] <= high:
                return brand
    return None


# Every place a card may start (a lookahead: "4012888888881881 4012-8888-…" must not lose the second card).
_CARD = candidate_starts(r"\d", r"(?<![\w-])", r"\d(?:[ -]?\d){11,18}")


def _validate_card(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    found = match.group(1)
    if found[0] in "07" or scan.inside_found("PAYMENT_CARD", start) or scan.continues_iban(start):
        return None  # no card scheme starts with 0 or 7
    return scan.found(_card_at(scan, start, found))


def _card_at(scan: Scan, start: int, found: str) -> Hit | None:
    for candidate, length in group_prefixes(found, " -"):
        end = start + length
        digits = digits_of(candidate)
        if not 12 <= len(digits) <= 19 or not standalone(scan.text, start, end):
            continue
        separators = {ch for ch in candidate if not ch.isdigit()}
        if len(separators) > 1:
            continue  # "4111-1111 1111-1111" is not how a card is written
        brand = card_brand(digits)
        if brand and luhn_valid(digits):
            if brand in _WEAK_BRANDS and not scan.near(CARD_CONTEXT, start, end):
                # a one-digit IIN: 15 digits starting with 1 are as often a post or parcel id as a UATP card
                return Hit("PAYMENT_CARD", start, end, kind=brand, value=digits, certainty="likely",
                           reason="no_context")
            return Hit("PAYMENT_CARD", start, end, kind=brand, value=digits)
    return None


PAYMENT_CARD = PatternDetector("PAYMENT_CARD", "PAYMENT_CARD", r"\d(?:[ -]?\d){11}", _CARD, _validate_card)

# The ISO 13616 registry's country codes (python-stdnum's), so "at 10 am" is not a candidate for long.
_IBAN_COUNTRIES = "|".join(sorted(prefix[2].lower() for prefix in stdnum_iban._ibandb.prefixes if len(prefix[2]) == 2))
# Country code, check digits and the rest in groups of any size, spaced any way ("NO 02 15037577003",
# "MK072 5012 0000 0589 84"); the validator tries the longest cut at a space first.
# A lookahead, like the card's: an IBAN right after another one ("… EG0983…079 paid … IBAN DE66…") keeps its start.
_IBAN = candidate_starts("[a-z]", r"(?<![\w-])", r"[a-z]{2} ?\d\d(?: ?[a-z0-9]){11,30}")  # the country: in Python
_IBAN_COUNTRY_SET = frozenset(_IBAN_COUNTRIES.split("|"))
_IBAN_LETTERS = str.maketrans({letter: str(value) for value, letter in enumerate(string.ascii_uppercase, 10)})


# The registry's BBAN structure per country, compiled once (python-stdnum's own conversion); stdnum's is_valid looks
# the country up in its number database and compiles the structure again for every candidate (60 us each).
_BBAN_STRUCTURE = {prefix[2]: stdnum_iban._struct_to_re(prefix[3].get("bban", ""))
                   for prefix in stdnum_iban._ibandb.prefixes if len(prefix[2]) == 2 and prefix[3].get("bban")}


def _registered_structure(compact: str) -> bool:
    """The country is in the registry and the BBAN has its registered structure and length."""
    structure = _BBAN_STRUCTURE.get(compact[:2])
    return structure is not None and structure.match(compact[4:]) is not None


def _mod97_holds(compact: str) -> bool:
    """ISO 13616's checksum alone: a cheap refusal before python-stdnum's full check (country, length, structure)."""
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return rearranged.isdigit() and int(rearranged) % 97 == 1


def _validate_iban(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    found = match.group(1)
    if found[:2] not in _IBAN_COUNTRY_SET or scan.inside_found("IBAN", start):
        return None
    return scan.found(_iban_at(scan, start, found))


def _iban_at(scan: Scan, start: int, found: str) -> Hit | None:
    for candidate, length in group_prefixes(found, " "):
        end = start + length
        compact = candidate.replace(" ", "").upper()
        if len(compact) < 15:
            break
        if len(compact) > 34 or not standalone(scan.text, start, end):
            continue
        # mod-97 and the country's BBAN structure and length (the registry's); a national check digit inside the
        # BBAN is not asked for: peers (and banks' own examples) treat mod-97 as the IBAN's proof.
        if _mod97_holds(compact) and _registered_structure(compact):
            return Hit("IBAN", start, end, kind=compact[:2].lower(), value=compact)
    return None


_IBAN_TRIGGER = rf"(?:{_IBAN_COUNTRIES}) ?\d\d(?: ?[a-z0-9]){{11}}"
IBAN = PatternDetector("IBAN", "IBAN", _IBAN_TRIGGER, _IBAN, _validate_iban)

DETECTORS = (PAYMENT_CARD, IBAN)
