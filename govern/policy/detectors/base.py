"""What every built-in detector is made of: a prefilter trigger, an exact pattern and a validator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from govern.policy.text import NormalizedText, fold_term


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


@dataclass(slots=True)
class Scan:
    """One text under inspection, as the validators see it."""

    norm: NormalizedText
    regions: tuple[str, ...]  # phone regions to try, most likely first
    scripts: frozenset[str] = frozenset()

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
        behind = text[end:end + after]
        # A context word belongs to the nearest number: cut the window at any other digit in between.
        for index in range(len(ahead) - 1, -1, -1):
            if ahead[index].isdigit():
                ahead = ahead[index + 1:]
                break
        for index, char in enumerate(behind):
            if char.isdigit():
                behind = behind[:index]
                break
        window = ahead + " \0 " + behind
        return any(word in window for word in words)


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


_NOT_DIGIT = re.compile(r"\D+")


def digits_of(candidate: str) -> str:
    """The decimal digits of `candidate`, in order (separators and everything else dropped)."""
    return _NOT_DIGIT.sub("", candidate)


_WORDISH = re.compile(r"[\w]")


def standalone(text: str, start: int, end: int, joiners: str = "-_/.#@") -> bool:
    """True when the span is not glued to a longer token: "INV-2024-0012345" or "v10.15.7" are not numbers."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if _WORDISH.match(before) or _WORDISH.match(after):
        return False
    if before in joiners and start > 1 and _WORDISH.match(text[start - 2]):
        return False
    if after in joiners and end + 1 < len(text) and _WORDISH.match(text[end + 1]):
        return False
    return True


def group_starts(candidate: str, separators: str = " -.()/", limit: int = 3) -> list[int]:
    """Offsets where a later group of the candidate starts ("30 (06) 200 6659" may really start at "(06)")."""
    starts = [0]
    for index in range(1, len(candidate)):
        if len(starts) > limit:
            break
        if candidate[index - 1] == " " and candidate[index] not in " -.)/":
            starts.append(index)
    return starts


def group_prefixes(candidate: str, separators: str = " -.()/") -> list[tuple[str, int]]:
    """The candidate and its shorter versions cut at separators, longest first, with their lengths.

    Greedy patterns swallow a neighbouring number ("4111 1111 1111 1111 2024"); validators try each cut.
    """
    cuts = [len(candidate)]
    for index in range(len(candidate) - 1, 0, -1):
        if candidate[index] in separators and candidate[index - 1] not in separators:
            cuts.append(index)
    return [(candidate[:cut], cut) for cut in cuts]


_IBAN_HEAD = re.compile(r"[a-z]{2}\d{2}(?: [a-z0-9]{4}){0,7} $")


def inside_iban(text: str, start: int) -> bool:
    """Whether the digits at `start` continue a spaced IBAN ("de90 0727 8076 …" with a bad checksum)."""
    return _IBAN_HEAD.search(text, max(0, start - 42), start) is not None
