"""What every built-in detector is made of: a prefilter trigger, an exact pattern and a validator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from govern.policy.engine.text import NormalizedText, fold_term


@dataclass(frozen=True, slots=True)
class Hit:
    """A validated match in NORMALISED offsets; `value` is the canonical form exceptions compare against."""

    entity: str
    start: int
    end: int
    kind: str | None = None
    value: str = ""
    detail: str | None = None
    # "certain": a validator, checksum or definitive structure vouches for it, and a `block` rule may block.
    # "likely": the shape fits but nothing proves it (no checksum, no context word, a token inside a word):
    # a `block` rule asks for approval instead, one severity lower, and `reason` (a code in REASONS) says why.
    certainty: str = "certain"
    reason: str | None = None


# Why a hit is only "likely": stable codes, translated where they are shown (console, API `reason`).
REASONS = {
    "no_checksum": "the shape fits but there is no checksum to confirm it",
    "no_context": "no context word near it says what it is",
    "inside_word": "it is part of a longer word, hashtag, file name or path",
    "low_entropy": "it looks like a placeholder or an example rather than a real value",
    "unverified_structure": "its structure could not be fully verified",
}


_SPAN_CLAIMING = frozenset({"PAYMENT_CARD", "IBAN", "NATIONAL_ID", "SECRET"})


@dataclass(slots=True)
class Scan:
    """One text under inspection, as the validators see it."""

    norm: NormalizedText
    regions: tuple[str, ...]  # phone regions to try, most likely first
    scripts: frozenset[str] = frozenset()
    country: str | None = None  # the account's country, when known (it suggests a phone region)
    # Where each entity's last hit ends: candidates start at every group (a lookahead, so one number cannot swallow
    # the start of the next), and a start inside a number already found is not a new number.
    found_until: dict[str, int] = field(default_factory=dict)

    # Per-text answers a detector computes once: whether any of a tuple of context words occurs at all (by the
    # tuple's identity: they are module constants), and whether the text has anything that can open an IBAN.
    words_anywhere: dict[int, bool] = field(default_factory=dict)
    iban_opening: bool | None = None

    def anywhere(self, words: tuple[str, ...]) -> bool:
        """Whether any of `words` occurs anywhere in the text (once per text and word tuple)."""
        known = self.words_anywhere.get(id(words))
        if known is None:
            known = self.words_anywhere[id(words)] = _words_pattern(words).search(self.norm.text) is not None
        return known

    def continues_iban(self, start: int) -> bool:
        """Whether the digits at `start` continue a spaced IBAN (see `inside_iban`); texts with no "xx00" skip it."""
        if self.iban_opening is None:
            self.iban_opening = _IBAN_OPENING.search(self.norm.text) is not None
        return self.iban_opening and inside_iban(self.norm.text, start)

    # Spans of certain cards, IBANs, national IDs and secrets already found: a phone-number candidate starting inside
    # one is a part of it (the overlap would drop it anyway), so it is not parsed (the detectors run in that order).
    certain_spans: list[tuple[int, int]] = field(default_factory=list)

    def inside_found(self, entity: str, start: int) -> bool:
        return start < self.found_until.get(entity, -1)

    def inside_certain(self, start: int) -> bool:
        for first, last in self.certain_spans:
            if first <= start < last:
                return True
        return False

    def found(self, hit: "Hit | None") -> "Hit | None":
        """Record `hit` (if any) as found and return it."""
        if hit is not None:
            self.found_until[hit.entity] = max(hit.end, self.found_until.get(hit.entity, -1))
            if hit.certainty == "certain" and hit.entity in _SPAN_CLAIMING:
                self.certain_spans.append((hit.start, hit.end))
        return hit

    def quantity_at(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a date, time, version or price.

        Only the candidate's neighbourhood is searched: a date or a price is short, and most texts have no candidate.
        """
        text = self.norm.text
        low, high = max(0, start - _QUANTITY_REACH), min(len(text), end + _QUANTITY_REACH)
        for match in _QUANTITY.finditer(text, low, high):  # _quantity_matches, written out (it runs on every candidate)
            if match.start() < end and start < match.end():
                return True
        if _HAS_CURRENCY.search(text, low, high):
            for match in _PRICE.finditer(text, low, high):
                if match.start() < end and start < match.end():
                    return True
        return False

    @property
    def text(self) -> str:
        return self.norm.text

    def original(self, start: int, end: int) -> str:
        """The original characters behind a normalised span (for case-sensitive checks such as JWTs)."""
        first, last = self.norm.span(start, end)
        return self.norm.original[first:last]

    def near(self, words: tuple[str, ...], start: int, end: int, before: int = 48, after: int = 24) -> bool:
        """Whether a context word appears shortly before or after the span (in normalised text)."""
        text = self.norm.text
        ahead = text[max(0, start - before):start]
        # A context word belongs to the nearest number: cut the window at any other digit in between.
        cut = _UP_TO_LAST_DIGIT.match(ahead)
        if cut is not None:
            ahead = ahead[cut.end():]
        pattern = _words_pattern(words)
        if pattern.search(ahead) is not None:
            return True
        if after <= 0:
            return False
        behind = text[end:end + after]
        cut = _A_DIGIT.search(behind)
        return pattern.search(behind if cut is None else behind[:cut.start()]) is not None


_UP_TO_LAST_DIGIT = re.compile(r".*\d", re.S)
_A_DIGIT = re.compile(r"\d")
_WORD_PATTERNS: dict[int, tuple[tuple[str, ...], re.Pattern[str]]] = {}


def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation for a tuple of context words (kept by identity: the tuples are module constants)."""
    known = _WORD_PATTERNS.get(id(words))
    if known is None or known[0] is not words:
        if len(_WORD_PATTERNS) > 256:  # a caller passing fresh tuples must not grow it without bound
            _WORD_PATTERNS.clear()
        known = _WORD_PATTERNS[id(words)] = (words, re.compile("|".join(map(re.escape, words))))
    return known[1]


Validator = Callable[[Scan, "re.Match[str]"], "Hit | None"]


@dataclass(frozen=True)
class PatternDetector:
    """A built-in detector.

    `trigger` goes into the engine's one RE2 prefilter set; only when it fires does `pattern` (a vetted,
    linear-time stdlib regex written for normalised, lower-case text) find exact candidates, and only
    those reach `validate`.
    """

    entity: str
    name: str
    trigger: str
    pattern: re.Pattern[str]
    validate: Validator
    kinds: tuple[str, ...] = field(default_factory=tuple)


def context_words(*words: str) -> tuple[str, ...]:
    """Context words folded the way the text is, so they match Arabic/Hebrew spelling variants."""
    return tuple(dict.fromkeys(fold_term(word) for word in words))


def candidate_starts(first: str, before: str, candidate: str) -> re.Pattern[str]:
    """Every place a candidate may start: group 1 is the longest `candidate` there, and the match's start is its start.

    The same as the lookahead `{before}(?=({candidate}))` (one candidate cannot swallow the start of the next), but
    written to consume the candidate's first character (`first`, a character class) and look back from after it: a
    pattern of width zero gets no fast scan in Python's regex engine, which then runs it in full at every position; one
    that starts with a character class skips from one character of that class to the next.
    """
    return re.compile(f"{first}(?<={before}(?=({candidate}))(?s:.))")


_NOT_DIGIT = re.compile(r"\D+")
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # the digit sum of twice each digit


def luhn_valid(number: str) -> bool:
    """python-stdnum's luhn.is_valid (ASCII decimal digits, Luhn checksum 0), in a few C-level passes instead of a
    generator step per digit: it runs on every card, Emirates ID and Saudi ID candidate."""
    if not number or not number.isascii() or not number.isdigit():
        return False
    backwards = number[::-1]
    return (sum(map(int, backwards[::2])) + sum(map(_DOUBLED.__getitem__, map(int, backwards[1::2])))) % 10 == 0


def digits_of(candidate: str) -> str:
    """The decimal digits of `candidate`, in order (separators and everything else dropped)."""
    return _NOT_DIGIT.sub("", candidate)


def _wordish(char: str) -> bool:
    """Whether `char` is what the regex class \\w matches (a letter, a digit of any script, "_")."""
    return char.isalnum() or char == "_"


def standalone(text: str, start: int, end: int, joiners: str = "-_/.#@") -> bool:
    """True when the span is not glued to a longer token: "INV-2024-0012345" or "v10.15.7" are not numbers."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before == "_" or after.isalnum() or after == "_":
        return False
    if before in joiners and start > 1 and _wordish(text[start - 2]):
        return False
    if after in joiners and end + 1 < len(text) and _wordish(text[end + 1]):
        return False
    # "800,342,225": digits joined by thousands commas are one number, not the end or start of another
    if before == "," and start > 1 and text[start - 2].isdigit():
        return False
    if after == "," and end + 1 < len(text) and text[end + 1].isdigit():
        return False
    return True


_GROUP_ENDS: dict[str, re.Pattern[str]] = {}


def group_prefixes(candidate: str, separators: str = " -.()/") -> list[tuple[str, int]]:
    """The candidate and its shorter versions cut at separators, longest first, with their lengths.

    Greedy patterns swallow a neighbouring number ("4111 1111 1111 1111 2024"); validators try each cut.
    A cut is where a run of separators starts after something else.
    """
    ends = _GROUP_ENDS.get(separators)
    if ends is None:
        ends = _GROUP_ENDS[separators] = re.compile(f"(?<=[^{re.escape(separators)}])[{re.escape(separators)}]")
    cuts = [match.start() for match in ends.finditer(candidate)]
    cuts.reverse()
    return [(candidate, len(candidate))] + [(candidate[:cut], cut) for cut in cuts]


# A spaced IBAN's start right before `start`. Only its first group may be letters alone (a bank code, "GB29 NWBK …"):
# in "SA36 4121 … 2620 paid with 3790…" the words end the IBAN.
_IBAN_OPENING = re.compile(r"[a-z]{2}\d{2}")
_IBAN_HEAD = re.compile(r"[a-z]{2}\d{2}(?: [a-z0-9]{4}(?: (?=[a-z]{0,3}\d)[a-z0-9]{4}){0,6})? $")


_LETTER_VALUES = str.maketrans({chr(ord("a") + i): str(10 + i) for i in range(26)})


def inside_iban(text: str, start: int) -> bool:
    """Whether the digits at `start` continue a spaced IBAN ("de90 0727 8076 …" with a bad checksum).

    Not when what precedes is already a whole IBAN (its mod-97 holds): "SA97 7736 … 2965 784-1983-…" ends there.
    """
    head = _IBAN_HEAD.search(text, max(0, start - 42), start)
    if head is None:
        return False
    compact = head.group().replace(" ", "")
    rearranged = (compact[4:] + compact[:4]).translate(_LETTER_VALUES)
    return not (len(compact) >= 15 and rearranged.isdigit() and int(rearranged) % 97 == 1)


# --- dates, times, versions and prices: numbers that are none of the detectors' business ------------------------
# Written for normalised text (every digit system is ASCII by then). A phone, ID or card candidate that overlaps one
# of these spans is refused: "01.01.2020" is a date, not a Lebanese phone number.
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[3-9]|2\d)\d\d"  # Gregorian, and Hijri and Solar Hijri years (1446, 1403)
_CURRENCY = r"(?:[$€£¥₪]|\b(?:usd|eur|gbp|aed|sar|ils|nis|egp|qar|kwd|jod|bhd|omr)\b|ש\"ח|د\.إ|ر\.س)"
_AMOUNT = r"\d{1,3}(?:[,.' ]\d{3})*(?:[.,]\d{1,2})?"
_QUANTITY = re.compile("|".join((
    # day-month-year and month-day-year, with one separator used twice; a 4-digit or a 2-digit year
    rf"(?<![\d.,/-]){_DAY}([./-]){_MONTH}\1(?:{_YEAR}|\d\d)(?![\d/-]|[.,]\d)",
    rf"(?<![\d.,/-]){_MONTH}([./-]){_DAY}\2(?:{_YEAR}|\d\d)(?![\d/-]|[.,]\d)",
    # year-month-day, and the compact yyyymmdd of file names and builds
    rf"(?<![\d.,/-]){_YEAR}([./-]){_MONTH}\3{_DAY}(?![\d/-]|[.,]\d)",
    rf"(?<![\d]){_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)",
    # times: 14:15, 9:15am, 11:45:00
    r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])",
    # versions: v8.13.10, 10.15.7.1234 (a group with a leading zero, as in 050.154.0846, is a phone's, and so is the
    # North American 415.555.1234)
    r"(?<![\w.])v\d+(?:\.\d+)+",
    r"(?<![\d.])(?!\d{3}\.\d{3}\.\d{4}(?![\d.]))(?:0|[1-9]\d{0,3})(?:\.(?:0|[1-9]\d{0,3})){2,}(?![\d.])",
)))
# Prices: a currency sign or code next to an amount (searched only where a currency marker is).
_HAS_CURRENCY = re.compile(_CURRENCY)
_PRICE = re.compile(rf"{_CURRENCY} ?{_AMOUNT}|{_AMOUNT} ?{_CURRENCY}")
_QUANTITY_REACH = 24


def _quantity_matches(text: str, low: int = 0, high: int | None = None):
    high = len(text) if high is None else high
    yield from _QUANTITY.finditer(text, low, high)
    if _HAS_CURRENCY.search(text, low, high):
        yield from _PRICE.finditer(text, low, high)


def quantity_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of `text` (normalised) that are dates, times, versions or prices."""
    return tuple(sorted(match.span() for match in _quantity_matches(text)))
