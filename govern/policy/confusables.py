"""Unicode confusables (TR39) from the confusable_homoglyphs data: skeleton() and the fold toward Latin."""

from __future__ import annotations

import functools
import json
import unicodedata
from importlib import resources

_LRM = "\u200e"  # the data file wraps right-to-left characters in LRM marks for display; they are not data

# Arabic and Hebrew letters have Latin lookalikes in TR39 (alef ~ l, vav ~ l, samekh ~ o); folding them
# would turn every Arabic or Hebrew word into Latin noise, so the text fold never touches these blocks.
_RIGHT_TO_LEFT_BLOCKS = ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))


def _is_right_to_left_letter(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _RIGHT_TO_LEFT_BLOCKS)


@functools.cache
def prototypes() -> dict[str, str]:
    """Each confusable code point mapped to its TR39 prototype (one or more characters).

    confusable_homoglyphs stores every line of confusables.txt as an edge in both directions; a source
    has exactly one edge (to its prototype), a prototype has one edge per source, and multi-character
    strings are always prototypes. When both ends have a single edge, ASCII (then the lower code point)
    is taken as the prototype: either way both characters share one skeleton.
    """
    data_file = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    raw = json.loads(data_file.read_text(encoding="utf-8"))
    neighbours: dict[str, set[str]] = {}
    for key, entries in raw.items():
        source = key.replace(_LRM, "")
        for entry in entries:
            neighbours.setdefault(source, set()).add(entry["c"].replace(_LRM, ""))
    mapping: dict[str, str] = {}
    for char, linked in neighbours.items():
        if len(char) != 1 or len(linked) != 1:
            continue
        (other,) = linked
        if len(other) > 1 or len(neighbours.get(other, ())) > 1:
            mapping[char] = other
        elif _prefer_as_prototype(other, char):
            mapping[char] = other
    return mapping


def _prefer_as_prototype(candidate: str, char: str) -> bool:
    if candidate.isascii() != char.isascii():
        return candidate.isascii()
    return ord(candidate) < ord(char)


def skeleton(text: str) -> str:
    """The TR39 skeleton of `text`: NFD, drop default-ignorable characters, map to prototypes, NFD again.

    Two strings are confusable when their skeletons are equal ("pаypal" with a Cyrillic а ~ "paypal").
    The skeleton is case-sensitive, as in TR39; casefold first for a case-blind comparison.
    """
    table = prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(table.get(ch, ch) for ch in decomposed if not _is_default_ignorable(ch))
    return unicodedata.normalize("NFD", mapped)


def _is_default_ignorable(char: str) -> bool:
    code = ord(char)
    return (
        code in (0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0)
        or 0x180B <= code <= 0x180F
        or 0x200B <= code <= 0x200F
        or 0x202A <= code <= 0x202E
        or 0x2060 <= code <= 0x206F
        or 0xFE00 <= code <= 0xFE0F
        or 0x1BCA0 <= code <= 0x1BCA3
        or 0xE0000 <= code <= 0xE0FFF
    )


def latin_fold(char: str) -> str | None:
    """The ASCII lookalike of one non-ASCII, non-Arabic/Hebrew character (Cyrillic "ѕ" -> "s"), else None.

    Used by the text normaliser: digits are handled there, ASCII itself is never folded (so "0" and "O",
    "1" and "l" stay distinct for the number detectors), and right-to-left scripts keep their letters.
    """
    if char.isascii() or _is_right_to_left_letter(char) or unicodedata.category(char) == "Nd":
        return None
    table = prototypes()
    # Lower-case lookalikes are sometimes mapped to another non-ASCII letter (Cyrillic т -> ᴛ) while their
    # capital maps to ASCII (Т -> T): try the letter, then its capital, following one more step each time.
    for candidate in (char, char.upper()):
        target = table.get(candidate)
        if target is not None and not target.isascii() and len(target) == 1:
            target = table.get(target, target)
        if target is not None and target.isascii() and target.isprintable() and not target.isspace():
            return target.lower() if candidate is not char else target
    return None
