"""Normalise a text once for every detector, with an offset map back to the original code points."""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable

from govern.policy.confusables import latin_fold

# What carries no meaning for matching and is dropped: bidi controls and marks (LRM, RLM, ALM,
# embeddings, isolates), zero-width characters, variation selectors, tag characters, soft hyphen,
# the Arabic tatweel, Arabic harakat and Quranic marks, and Hebrew cantillation and niqqud.
_DROPPED_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xE0000, 0xE0FFF),
    (0x0640, 0x0640),  # tatweel
    (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06DC), (0x06DF, 0x06E4),
    (0x06E7, 0x06E8), (0x06EA, 0x06ED), (0x08D3, 0x08FF),  # harakat and Quranic annotation
    (0x0591, 0x05BD), (0x05BF, 0x05BF), (0x05C1, 0x05C2), (0x05C4, 0x05C5), (0x05C7, 0x05C7),  # niqqud
)

# Letter variants that people type interchangeably (hamza seats, alef maksura, taa marbuta, Persian forms).
_LETTER_VARIANTS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك", "״": '"', "׳": "'"}

_HEBREW = re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def _is_dropped(code: int) -> bool:
    return any(low <= code <= high for low, high in _DROPPED_RANGES)


def fold_char(char: str) -> str:
    """One original code point as the normalised text spells it (possibly empty or several characters)."""
    if _is_dropped(ord(char)):
        return ""
    if 0xD800 <= ord(char) <= 0xDFFF:
        return "\ufffd"  # a lone surrogate (from JSON "\ud800") cannot be encoded for RE2: one replacement char
    if unicodedata.category(char) == "Nd":  # Eastern Arabic, Persian and every other decimal digit
        return str(unicodedata.decimal(char))
    out = []
    for part in unicodedata.normalize("NFKC", char):
        if _is_dropped(ord(part)):
            continue
        if unicodedata.category(part) == "Nd":
            out.append(str(unicodedata.decimal(part)))
            continue
        for folded in part.casefold():
            folded = _LETTER_VARIANTS.get(folded, folded)
            lookalike = latin_fold(folded)
            out.append(lookalike.lower() if lookalike else folded)
    return "".join(out)


class _FoldTable(dict):
    """str.translate table filled on first sight of each code point; remembers which ones change length."""

    def __init__(self) -> None:
        super().__init__()
        self.resizing: set[str] = set()

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = fold_char(char)
        if len(folded) != 1:
            self.resizing.add(char)
        if len(self) < 300_000:  # bounded by Unicode anyway; the cap keeps hostile input from growing it
            self[code] = folded
        return folded


_TABLE = _FoldTable()


def _char_class(chars: Iterable[str]) -> str:
    """A regex character class of `chars`, consecutive code points as ranges (fewer ranges, a faster class)."""
    runs: list[list[int]] = []
    for code in sorted(map(ord, chars)):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "[" + "".join(re.escape(chr(low)) + ("" if low == high else "-" + re.escape(chr(high)))
                         for low, high in runs) + "]"


@functools.lru_cache(maxsize=8)
def _resizing_pattern(known: int) -> re.Pattern[str]:
    """One character class of every code point seen so far that folds to other than one character.

    Keyed by how many there are: the set only grows, so its size names its contents.
    """
    return re.compile(_char_class(_TABLE.resizing.copy()))


# The blocks posts are written in (Latin, Greek, Cyrillic, Hebrew, Arabic, punctuation, currency, symbols, dingbats,
# presentation forms, full-width forms, emoji), folded once on the first non-ASCII text into a plain dict:
# str.translate looks a plain dict up in C, a dict with __missing__ (_TABLE) by a path 2.5 times slower per character.
# A text with a code point outside them goes through _TABLE. The emoji blocks leave out the enclosed alphanumerics and
# alchemical symbols that fold to other than one character: the class of those that do must stay within the Basic
# Multilingual Plane, where the regex engine tests a class in one step.
_COMMON_BLOCKS = (
    (0x0000, 0x052F), (0x0590, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0x2000, 0x20CF), (0x2100, 0x23FF),
    (0x2460, 0x27BF), (0x2B00, 0x2BFF), (0xFB00, 0xFDFF), (0xFE00, 0xFE0F), (0xFE70, 0xFEFF), (0xFF00, 0xFFEF),
    (0x1F000, 0x1F0FF), (0x1F191, 0x1F1FF), (0x1F249, 0x1F6FF), (0x1F780, 0x1FAFF),
)
_OUTSIDE_COMMON = re.compile("[^" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _COMMON_BLOCKS) + "]")


@dataclass(frozen=True, slots=True)
class _CommonFold:
    table: dict[int, str]  # fold_char of every code point of _COMMON_BLOCKS
    resizing: re.Pattern[str] | None  # those of them that fold to other than one character


@functools.cache
def _common_fold() -> _CommonFold:
    table = {code: fold_char(chr(code)) for low, high in _COMMON_BLOCKS for code in range(low, high + 1)}
    resizing = [chr(code) for code, folded in table.items() if len(folded) != 1]
    return _CommonFold(table, re.compile(_char_class(resizing)) if resizing else None)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The folded text the detectors read, and the way back from its offsets to the original's."""

    original: str
    text: str
    # Breakpoints of the offset map: from normalised index norm[j] on, original = orig[j] + (n - norm[j]) * step[j].
    # step 0 marks the characters one original code point expanded into. None means the identity map.
    _norm: tuple[int, ...] | None = None
    _orig: tuple[int, ...] = ()
    _step: tuple[int, ...] = ()

    def to_original(self, index: int) -> int:
        """The original offset of the normalised character at `index` (or of the end, for len(text))."""
        if self._norm is None:
            return index
        if index >= len(self.text):
            return len(self.original)
        j = bisect_right(self._norm, index) - 1
        if j < 0:
            return index
        return self._orig[j] + (index - self._norm[j]) * self._step[j]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A normalised [start, end) as the original [start, end): every code point that produced it."""
        if self._norm is None:
            return start, end
        if end <= start:
            origin = self.to_original(start)
            return origin, origin
        return self.to_original(start), self.to_original(end - 1) + 1

    def scripts(self) -> frozenset[str]:
        """Which of "he", "ar" appear in the text (the engine orders phone regions and context words by it)."""
        found = set()
        if not self.text.isascii():
            if _HEBREW.search(self.original):
                found.add("he")
            if _ARABIC.search(self.original):
                found.add("ar")
        return frozenset(found)


# Clitic prefixes glued to a value: Hebrew ו ה ב ל מ ש כ (up to three, then an optional hyphen or maqaf) and Arabic
# و ف ب ل ك (up to two, optional hyphen) directly before a digit, a Latin letter, "+" or "(", as a word's start:
# "ב-050 154 0846", "וב-IL88…", "ל-dana@example.com", "و2024". They become spaces of the same length, so the
# offset map stays as it is and every detector sees (and reports) the value alone.
_HE_CLITICS, _AR_CLITICS = "והבלמשכ", "وفبلك"
_NOT_BEFORE = "[\\w\u05f3\u05f4\"']"  # a letter, digit, geresh, gershayim or quote before it: inside a word
# The set comes first (the lookbehind after it) so the regex engine skips to candidate characters quickly.
_CLITIC = re.compile(
    f"(?:[{_HE_CLITICS}](?<!{_NOT_BEFORE}[{_HE_CLITICS}])[{_HE_CLITICS}]{{0,2}}[-\u05be]?"
    f"|[{_AR_CLITICS}](?<!{_NOT_BEFORE}[{_AR_CLITICS}])[{_AR_CLITICS}]?-?)(?=[0-9a-z+(])"
)
_MAYBE_CLITIC = re.compile(f"[{_HE_CLITICS}{_AR_CLITICS}][-\u05be]?[0-9a-z+(]")  # a cheap test before the sub


def _blank_clitics(text: str) -> str:
    if _MAYBE_CLITIC.search(text) is None:
        return text
    return _CLITIC.sub(lambda match: " " * len(match.group()), text)


def normalize(original: str) -> NormalizedText:
    """Fold digits to ASCII, drop invisibles and marks, NFKC, casefold and fold lookalikes, in one pass.

    Hebrew and Arabic clitic prefixes glued to a number, an address or a Latin token are blanked (see _CLITIC).
    """
    if original.isascii():
        return NormalizedText(original, original.lower())
    if _OUTSIDE_COMMON.search(original) is None:
        common = _common_fold()
        table, resizing = common.table, common.resizing
        text = _blank_clitics(original.translate(table))
    else:
        table = _TABLE
        text = _blank_clitics(original.translate(table))  # first: it records the resizing code points it meets
        resizing = _resizing_pattern(len(_TABLE.resizing)) if _TABLE.resizing else None
    if resizing is None or resizing.search(original) is None:
        return NormalizedText(original, text)
    norm, orig, step = [0], [0], [1]
    shift = 0  # normalised index minus original index so far
    for match in resizing.finditer(original):
        index = match.start()
        width = len(table[ord(original[index])])
        at = index + shift
        if width > 1:
            norm.append(at)
            orig.append(index)
            step.append(0)
        shift += width - 1
        norm.append(index + 1 + shift)
        orig.append(index + 1)
        step.append(1)
    return NormalizedText(original, text, tuple(norm), tuple(orig), tuple(step))


def fold_term(term: str) -> str:
    """A lexicon term as it will appear in normalised text (whitespace runs become one space)."""
    return " ".join(normalize(term).text.split())
