"""NATIONAL_ID (IL, SA incl. Iqama, AE, EG, US) and PASSPORT: structure, check digits and context words."""

from __future__ import annotations

import datetime as dt
import re

import re2
from stdnum.il import idnr
from stdnum.us import ssn

from govern.policy.engine.detectors.base import (
    Hit, PatternDetector, Scan, candidate_starts, context_words, digits_of, group_prefixes, luhn_valid,
    standalone,
)

# Words that say "this number is an identity number", per kind and for any kind, in en/ar/he.
ANY_ID_CONTEXT = context_words(
    "id number", "id no", "id #", "national id", "identity number", "identity card", "id card",
    "رقم الهوية", "الهوية الوطنية", "رقم هوية", "بطاقة الهوية", "الهويه", "هويته", "هويتي",
    "מספר זהות", "תעודת זהות", 'ת"ז', "ת.ז", "ת.ז.", "זהות",
)
KIND_CONTEXT = {
    "il_teudat_zehut": context_words("teudat zehut", "israeli id", 'ת"ז', "תעודת זהות", "מספר זהות", "ת.ז"),
    "sa_national_id": context_words(
        "iqama", "saudi id", "national id", "رقم الهوية", "الهوية الوطنية", "إقامة", "اقامة", "الإقامة",
        "رقم الإقامة", "السجل المدني", "سجل مدني", "هوية مقيم",
    ),
    "ae_emirates_id": context_words("emirates id", "الهوية الإماراتية", "هوية إماراتية", "بطاقة الهوية"),
    "eg_national_id": context_words("الرقم القومي", "رقم قومي", "بطاقة الرقم القومي", "egyptian id", "national id"),
    "us_ssn": context_words("ssn", "social security", "soc sec", "social-security"),
}
_ALL_ID_CONTEXT = tuple(dict.fromkeys(ANY_ID_CONTEXT + tuple(w for words in KIND_CONTEXT.values() for w in words)))
PASSPORT_CONTEXT = context_words("passport", "جواز السفر", "جواز سفر", "رقم الجواز", "جواز", "דרכון", "מספר דרכון")

# Egyptian governorate codes (digits 8-9 of the national ID).
_EG_GOVERNORATES = frozenset(
    "01 02 03 04 11 12 13 14 15 16 17 18 19 21 22 23 24 25 26 27 28 29 31 32 33 34 35 88".split()
)
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
_SSN_SPACED = re.compile(r"\d{3}([. ])\d{2}\1\d{4}")  # 078.05.1123, 078 05 1123: the SSN's grouping, other separators
_IL_CHECK_DASH = re.compile(r"\d{7,8}-\d")  # 3933742-3: an Israeli ID's check digit set off by a dash
# Shapes that can be an ID without a context word (SSN grouping, Israeli check-digit dash, Emirates 784).
_CERTAIN_START = re.compile(r"\d{3}([ .-])\d{2}\1\d{4}|\d{7,8}-\d|784")
_ADVERTISED_SSNS = frozenset({"078051120", "219099999", "123456789"})


def _has_context(scan: Scan, kind: str, start: int, end: int) -> bool:
    # Only words before the number count: "… 1785287937 ת"ז 119797561" is about the second number.
    return scan.near(KIND_CONTEXT[kind], start, end, after=0) or scan.near(ANY_ID_CONTEXT, start, end, after=0)


def valid_egyptian_id(digits: str, today: dt.date | None = None) -> bool:
    """Century digit, a real birth date not in the future, and a governorate code."""
    if len(digits) != 14 or digits[0] not in "23":
        return False
    century = 1900 if digits[0] == "2" else 2000
    try:
        born = dt.date(century + int(digits[1:3]), int(digits[3:5]), int(digits[5:7]))
    except ValueError:
        return False
    return born <= (today or dt.date.today()) and digits[7:9] in _EG_GOVERNORATES


def valid_emirates_id(digits: str, today: dt.date | None = None) -> bool:
    """784, a plausible birth year (1900 to this year), 15 digits, Luhn."""
    if len(digits) != 15 or not digits.startswith("784"):
        return False
    return 1900 <= int(digits[3:7]) <= (today or dt.date.today()).year and luhn_valid(digits)


def valid_saudi_id(digits: str) -> bool:
    """10 digits, 1 for citizens or 2 for residents (Iqama), Luhn."""
    return len(digits) == 10 and digits[0] in "12" and luhn_valid(digits)


def valid_ssn(digits: str) -> bool:
    return len(digits) == 9 and digits not in _ADVERTISED_SSNS and ssn.is_valid(digits)


def _national_kind(scan: Scan, candidate: str, start: int, end: int) -> tuple[str, str | None, str] | None:
    """(kind, detail, certainty) of an identity number, or None."""
    digits = digits_of(candidate)
    count = len(digits)
    if count == 9:
        if _SSN_SHAPE.fullmatch(candidate) and valid_ssn(digits):
            return "us_ssn", None, "certain"
        ssn_context = scan.near(KIND_CONTEXT["us_ssn"], start, end, after=0)
        if _SSN_SPACED.fullmatch(candidate) and valid_ssn(digits):
            return "us_ssn", None, "certain" if ssn_context else "likely"
        if idnr.is_valid(digits) and not ssn_context:
            if _has_context(scan, "il_teudat_zehut", start, end):
                return "il_teudat_zehut", None, "certain"
            if _IL_CHECK_DASH.fullmatch(candidate):
                return "il_teudat_zehut", None, "likely"
        if valid_ssn(digits) and ssn_context:
            return "us_ssn", None, "certain"
    elif count == 8 and idnr.is_valid("0" + digits):  # the leading zero is often dropped
        if _has_context(scan, "il_teudat_zehut", start, end):
            return "il_teudat_zehut", None, "certain"
        if _IL_CHECK_DASH.fullmatch(candidate):
            return "il_teudat_zehut", None, "likely"
    elif count == 10 and valid_saudi_id(digits) and _has_context(scan, "sa_national_id", start, end):
        return "sa_national_id", "iqama" if digits[0] == "2" else "citizen", "certain"
    elif count == 14 and valid_egyptian_id(digits) and _has_context(scan, "eg_national_id", start, end):
        return "eg_national_id", None, "certain"
    elif count == 15 and valid_emirates_id(digits):
        # 784, a birth year and the Luhn digit prove it however it is grouped ("784198297666871" too).
        return "ae_emirates_id", None, "certain"
    return None


# Every place an identity number may start (a lookahead, so one candidate cannot swallow the next).
_NATIONAL_ID = candidate_starts(r"\d", r"(?<![\w+-])(?<!\d[./])", r"\d(?:[ .-]?\d){7,14}")


def _validate_national_id(scan: Scan, match: re.Match[str]) -> Hit | None:
    start = match.start()
    if scan.inside_found("NATIONAL_ID", start) or scan.continues_iban(start):
        return None
    whole = match.group(1)
    if not _CERTAIN_START.match(whole) and not scan.anywhere(_ALL_ID_CONTEXT):
        return None  # no ID word in the whole text, and not a shape that is an ID by itself
    return scan.found(_national_id_at(scan, start, whole))


def _national_id_at(scan: Scan, start: int, whole: str) -> Hit | None:
    for candidate, length in group_prefixes(whole, " .-"):
        end = start + length
        if not standalone(scan.text, start, end):
            continue
        found = _national_kind(scan, candidate, start, end)
        if found is not None and not scan.quantity_at(start, end):
            kind, detail, certainty = found
            return Hit("NATIONAL_ID", start, end, kind=kind, value=digits_of(candidate), detail=detail,
                       certainty=certainty, reason=None if certainty == "certain" else "no_context")
    return None


def _words_trigger(words: tuple[str, ...]) -> str:
    return "|".join(re2.escape(word) for word in words)


_ID_TRIGGER = "|".join((
    r"\d{3}[ .-]\d{2}[ .-]\d{4}", r"784[ -]?(?:19|20)\d\d", r"\d{7}-\d",
    _words_trigger(ANY_ID_CONTEXT + tuple(w for words in KIND_CONTEXT.values() for w in words)),
))
NATIONAL_ID = PatternDetector(
    "NATIONAL_ID", "NATIONAL_ID", _ID_TRIGGER, _NATIONAL_ID, _validate_national_id,
    kinds=tuple(KIND_CONTEXT),
)

_PASSPORT = re.compile(r"(?<![\w-])[a-z]{0,2}\d{6,9}")


def _validate_passport(scan: Scan, match: re.Match[str]) -> Hit | None:
    start, end = match.span()
    if not standalone(scan.text, start, end) or not scan.near(PASSPORT_CONTEXT, start, end, before=40, after=16):
        return None
    token = match.group()
    if len(set(digits_of(token))) < 3:
        return None  # 000000, 1111111: placeholders, not documents
    return Hit("PASSPORT", start, end, value=token.upper())


PASSPORT = PatternDetector("PASSPORT", "PASSPORT", _words_trigger(PASSPORT_CONTEXT), _PASSPORT, _validate_passport)

DETECTORS = (NATIONAL_ID, PASSPORT)
