"""EMAIL_ADDRESS and PHONE_NUMBER: candidates by pattern, validated by structure and by phonenumbers."""

from __future__ import annotations

import functools
import re

import phonenumbers

from govern.policy.engine.detectors import phone_rules
from govern.policy.engine.detectors.base import (
    Hit, PatternDetector, Scan, candidate_starts, context_words, digits_of, group_prefixes, standalone,
)
from govern.policy.engine.text import fold_term

# --- e-mail ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}\.[a-z]{2,24}")


def _validate_email(scan: Scan, match: re.Match[str]) -> Hit | None:
    address = match.group()
    raw_local, _, domain = address.rpartition("@")
    local = raw_local.lstrip(".")  # a sentence's dot glued before the address is not part of it
    start = match.start() + len(raw_local) - len(local)
    if not local or local.endswith(".") or ".." in local or ".." in domain:
        return None
    if any(label.startswith("-") or label.endswith("-") or not label for label in domain.split(".")):
        return None
    return Hit("EMAIL_ADDRESS", start, match.end(), value=f"{local}@{domain}")


EMAIL = PatternDetector("EMAIL_ADDRESS", "EMAIL_ADDRESS", r"[a-z0-9]@[a-z0-9-]+\.[a-z]", _EMAIL, _validate_email)

# --- phone numbers --------------------------------------------------------------------------------

# Regions tried when nothing says otherwise, after the account's country and the text's script.
DEFAULT_REGIONS = ("IL", "SA", "AE", "EG", "US", "GB", "JO", "QA", "KW", "BH", "OM", "LB", "FR", "DE")
_REGIONS_BY_SCRIPT = {"he": ("IL",), "ar": ("SA", "AE", "EG", "JO", "QA", "KW", "BH", "OM", "LB", "IL")}

# Every place a number may start (a lookahead, so one number's match cannot swallow the start of the next).
_PHONE = candidate_starts(r"[\d+(]", r"(?<![\w+])(?<!\d[-./])", r"(?:\+|\(\+?)?\d(?:[ ().-]{0,2}\d){6,16}")
_US_START = re.compile(r"[2-9]\d\d[ .-]{1,2}\d{3}[ .-]\d{4}")
_US_SHAPE = re.compile(r"\(?\d{3}\)?[ .-]{1,2}\d{3}[ .-]\d{4}")
PHONE_CONTEXT = context_words(
    "phone", "tel:", "tel.", "tel ", "call", "mobile", "reach me", "reach us", "whatsapp", "contact", "fax", "cell",
    "sms", "text me",
    "هاتف", "جوال", "اتصل", "اتصال", "واتساب", "موبايل", "تليفون", "تلفون", "الرقم",
    "טלפון", "נייד", "טל:", "טל'", "התקשר", "התקשרו", "וואטסאפ", "פקס", "חייגו", "ליצור קשר",
)

# Weaker: they say "a number", not which. Enough for a number written with a trunk prefix ("my number is 09-7625400"),
# not for a bare digit run ("my credit card number is 36168002586008").
NUMBER_CONTEXT = context_words("my number", "number is", "our number", "رقمي", "رقمه", "המספר שלי")

# Words that make the number right after them a reference (order, ticket, invoice, tracking, SKU): a national-looking
# number a few characters after one, with no phone word before it, is not taken for a phone number. Whole words
# (not near()'s substrings: "refer" and "border" say nothing).
_REFERENCE_WORDS = (
    "order", "ticket", "case", "ref", "invoice", "tracking", "sku", "item", "model", "serial", "booking",
    "reservation", "confirmation", "הזמנה", "פנייה", "קריאה", "חשבונית", 'מק"ט', "אסמכתא", "משלוח", "מעקב",
    "طلب", "الطلب", "فاتوره", "تذكره", "مرجع", "الشحنه", "التتبع", "حجز",
)
_REFERENCE_BEFORE = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(fold_term(word)) for word in _REFERENCE_WORDS) + r")(?!\w)\D{0,12}$"
)


def _after_reference_word(text: str, start: int) -> bool:
    return _REFERENCE_BEFORE.search(text, max(0, start - 40), start) is not None


@functools.lru_cache(maxsize=256)
def suggested_regions(country: str | None, scripts: frozenset[str]) -> tuple[str, ...]:
    """The regions the account's country or the text's script suggest (a number written the national way, with no
    context word, is taken for a phone number only in one of these: "078 05 1123" in English is not a UAE number)."""
    ordered: list[str] = [country.upper()] if country else []
    for script in ("he", "ar"):
        if script in scripts:
            ordered.extend(_REGIONS_BY_SCRIPT[script])
    return tuple(dict.fromkeys(ordered))


@functools.lru_cache(maxsize=256)
def phone_regions(country: str | None, scripts: frozenset[str]) -> tuple[str, ...]:
    """Regions to parse national numbers in: the account's country, then the script's, then the rest."""
    ordered: list[str] = []
    if country:
        ordered.append(country.upper())
    for script in ("he", "ar"):
        if script in scripts:
            ordered.extend(_REGIONS_BY_SCRIPT[script])
    ordered.extend(DEFAULT_REGIONS)
    return tuple(dict.fromkeys(ordered))


def _parse_valid(candidate: str, regions: tuple[str, ...]) -> phonenumbers.PhoneNumber | None:
    """phonenumbers itself: the first region in which `candidate` parses to a valid number."""
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return number
        if candidate.startswith("+"):
            return None  # the country code is in the number; other regions change nothing
    return None


def _as_valid(number: phonenumbers.PhoneNumber | None) -> phone_rules.ValidNumber | None:
    if number is None:
        return None
    return phone_rules.ValidNumber(phonenumbers.region_code_for_number(number),
                                   phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def valid_number(candidate: str, digits: str, regions: tuple[str, ...]) -> phone_rules.ValidNumber | None:
    """The number `candidate` (with its `digits`) is in the first region of `regions` where it is valid.

    The compiled metadata answers the plain shapes; a shape it leaves (NeedsFullParse) goes to phonenumbers.
    """
    if candidate.lstrip("(").startswith("+") or digits.startswith("00"):
        international = digits if not digits.startswith("00") else digits[2:]
        try:
            return phone_rules.international(international)
        except phone_rules.NeedsFullParse:
            return _as_valid(_parse_valid("+" + international, ("ZZ",)))
    for index, region in enumerate(regions):
        try:
            found = phone_rules.national(digits, region)
        except phone_rules.NeedsFullParse:
            return _as_valid(_parse_valid(candidate, regions[index:]))
        if found is not None:
            return found
    return None


def _validate_phone(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    if scan.inside_found("PHONE_NUMBER", start) or scan.inside_certain(start):
        return None  # a later group of a number already found, or a part of a card, IBAN, ID or secret
    found = match.group(1)
    if found[0] not in "+(0" and not _US_START.match(found) and not scan.anywhere(PHONE_CONTEXT):
        return None  # no trunk prefix, no "+", no US shape and no phone word in the whole text: not a phone number
    if scan.continues_iban(start):
        return None  # the tail of an IBAN with a bad checksum
    return scan.found(_phone_at(scan, start, found))


def _phone_at(scan: Scan, start: int, found: str) -> Hit | None:
    text = scan.text
    # Context words are looked for before the number only, so once per start whatever the cut.
    context: tuple[bool, bool, bool] | None = None  # phone word, "number" word, reference word
    suggested = suggested_regions(scan.country, scan.scripts)
    for candidate, length in group_prefixes(found):
        candidate = candidate.rstrip(" (.-")
        end = start + len(candidate)
        if not standalone(text, start, end):
            continue
        digits = digits_of(candidate)
        if not 7 <= len(digits) <= 15:
            continue
        if context is None:
            context = (scan.near(PHONE_CONTEXT, start, end, before=32, after=0),
                       scan.near(NUMBER_CONTEXT, start, end, before=32, after=0),
                       _after_reference_word(text, start))
        trunk = digits.startswith("0")
        number = None
        if candidate.lstrip("(").startswith("+") or digits.startswith("00"):
            number = valid_number(candidate, digits, scan.regions)
        elif context[0] or (trunk and context[1]):
            # The suggested regions first (valid, then merely possible there), then every default region.
            number = valid_number(candidate, digits, suggested) if suggested else None
            if number is None and suggested and trunk:
                hit = _possible_number(candidate, suggested, start, end)
                if hit is not None and not scan.quantity_at(start, end):
                    return hit
            if number is None:
                number = valid_number(candidate, digits, scan.regions)
        elif context[2]:
            continue  # "order 0501234567": a reference, not a phone number
        elif _US_SHAPE.fullmatch(candidate) and digits[0] not in "01":
            number = valid_number(candidate, digits, ("US", "CA"))
        elif trunk and suggested:
            # A national number with no context word: only where the account or the script points.
            number = valid_number(candidate, digits, suggested)
        # Last, as it costs most: a date, time, version or price is not a phone number whatever it parses as.
        if number is not None and not scan.quantity_at(start, end):
            return Hit("PHONE_NUMBER", start, end, kind=(number.region or "").lower() or None, value=number.e164)
    return None


def _possible_number(candidate: str, regions: tuple[str, ...], start: int, end: int) -> Hit | None:
    """A context word, a trunk prefix and the length of a number of a suggested region, but a range the metadata does
    not (yet) list as allocated ("ליצור קשר ב-050 154 0846"): likely a phone number, not proven one."""
    if len(set(digits_of(candidate))) < 4:
        return None  # 050 111 1111, 0555555555: a placeholder
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return Hit("PHONE_NUMBER", start, end, kind=region.lower(), value=e164, certainty="likely",
                       reason="unverified_structure")
    return None


PHONE = PatternDetector("PHONE_NUMBER", "PHONE_NUMBER", r"\d(?:[ ().-]{0,2}\d){6}", _PHONE, _validate_phone)


def canonical_phone(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> str | None:
    """E.164 of a phone number written any way (used for rule exceptions such as support numbers)."""
    candidate = text.strip()
    digits = digits_of(candidate)
    if len(digits) < 2:
        return None
    number = valid_number(candidate, digits, regions)
    return number.e164 if number else None


DETECTORS = (EMAIL, PHONE)
