"""Unicode folding for search: one key per text so Arabic, Hebrew and Latin names match as people type them."""

from __future__ import annotations

import re
import unicodedata

# Bidi controls, zero-width characters and the Arabic tatweel carry no meaning for matching.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u0640]")
_ARABIC_LETTER_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})


def search_key(*parts: str | None) -> str:
    """Fold text for matching: NFKC, casefold, drop marks (harakat, niqqud, accents) and invisibles."""
    text = " ".join(p for p in parts if p)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    decomposed = unicodedata.normalize("NFD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    folded = unicodedata.normalize("NFC", without_marks).casefold().translate(_ARABIC_LETTER_VARIANTS)
    return " ".join(folded.split())


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so (CSV injection)


def spreadsheet_safe(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows as text, never runs as a formula: a leading ' where it would."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def like_pattern(query: str) -> str:
    """A LIKE pattern for a folded query, with LIKE's own wildcards escaped (use escape='\\\\')."""
    escaped = search_key(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
