"""Impostor watch: which candidate handles are lookalikes of the inventory's own handles, and why."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

Skeleton = Callable[[str], str]

# Words impostors put next to a brand's name to look official.
IMPOSTOR_AFFIXES = frozenset(
    "official real the team support help helpdesk care service services customer customers cs hq news global "
    "app info desk verified ksa uae il us uk en ar he".split()
)
SEPARATORS = re.compile(r"[._\-\s]+")
NETWORK_PREFIX = re.compile(r"^([a-z][a-z0-9_]*):(.+)$")
MIN_LENGTH_FOR_DISTANCE = 4  # "ibm" and "ibn" are different names, not a lookalike
MIN_LENGTH_FOR_CONTAINMENT = 4

SCORE_SKELETON_EQUAL = 1.0
SCORE_SAME_HANDLE_ELSEWHERE = 0.9
SCORE_SEPARATORS_ONLY = 0.95
SCORE_DISTANCE_CAP = 0.9
SCORE_CONTAINS_WITH_AFFIX = 0.8
SCORE_CONTAINS = 0.7
DEFAULT_MIN_SCORE = 0.7


@dataclass(frozen=True)
class Handle:
    """A handle on a network; network None means "any network" (a candidate given without one)."""

    network: str | None
    handle: str

    def __str__(self) -> str:
        return f"{self.network}:@{self.handle}" if self.network else f"@{self.handle}"


@dataclass(frozen=True)
class ImpostorMatch:
    candidate: Handle
    looks_like: Handle  # the own handle it imitates best
    score: float  # 0..1, higher is more alike
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "candidate": self.candidate.handle,
            "network": self.candidate.network,
            "looks_like": self.looks_like.handle,
            "looks_like_network": self.looks_like.network,
            "score": self.score,
            "reasons": list(self.reasons),
        }


def parse_candidates(lines: Iterable[str]) -> list[Handle]:
    """One handle per line, optionally "network:handle"; blank lines and "#" comments skipped."""
    handles = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        prefixed = NETWORK_PREFIX.match(line)
        network, handle = (prefixed.group(1), prefixed.group(2)) if prefixed else (None, line)
        handle = handle.strip().lstrip("@").strip()
        if handle:
            handles.append(Handle(network, handle))
    return handles


def find_impostors(
    own_handles: Iterable[Handle],
    candidates: Iterable[Handle],
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    skeleton: Skeleton | None = None,
) -> list[ImpostorMatch]:
    """The candidates that look like an own handle, best first; each with the own handle it imitates best.

    Both sides are compared after the same fold: NFKC, case folding and the Unicode TR39 skeleton
    (so Cyrillic 'а', '0' for 'o', 'rn' for 'm' and invisible characters change nothing). Signals:
    the skeleton equals an own handle's (1.0); equal apart from separators (0.95); the same handle as
    an own one on another network where the inventory has no such account (0.9); a small edit
    distance, adjacent swaps counting once (up to 0.9, by length); an own handle plus other
    characters (0.8 with an affix such as "support" or "official", else 0.7).
    A candidate equal to an own handle (case-insensitively) on the same network, or given without a
    network, is that account itself and never flagged.
    """
    fold = _folder(skeleton or _default_skeleton())
    own = [_Prepared.of(handle, fold) for handle in dict.fromkeys(own_handles)]
    own_exact: dict[str, set[str | None]] = {}
    for prepared in own:
        own_exact.setdefault(prepared.plain, set()).add(prepared.handle.network)
    own_forms = ([prepared.compact for prepared in own], [prepared.bare for prepared in own])

    matches = []
    seen: set[tuple[str | None, str]] = set()
    for candidate in candidates:
        prepared = _Prepared.of(candidate, fold)
        if (candidate.network, prepared.plain) in seen:
            continue
        seen.add((candidate.network, prepared.plain))
        networks = own_exact.get(prepared.plain)
        if networks is not None and (candidate.network is None or candidate.network in networks):
            continue  # the account itself
        best = _best_match(prepared, own, own_forms, fold)
        if best is not None and best.score >= min_score:
            matches.append(best)
    return sorted(matches, key=lambda m: (-m.score, str(m.candidate)))


@dataclass(frozen=True)
class _Prepared:
    handle: Handle
    text: str  # NFKC, as written
    plain: str  # NFKC + casefold: what "the same handle" means
    folded: str  # plus the confusable skeleton
    compact: str  # folded without separators
    bare: str  # plain without separators

    @classmethod
    def of(cls, handle: Handle, fold: Callable[[str], str]) -> _Prepared:
        text = unicodedata.normalize("NFKC", handle.handle.strip().lstrip("@"))
        folded = fold(text)
        return cls(handle, text, text.casefold(), folded, SEPARATORS.sub("", folded), SEPARATORS.sub("", text.casefold()))


def _best_match(
    candidate: _Prepared, own: list[_Prepared], own_forms: tuple[list[str], list[str]], fold: Callable[[str], str]
) -> ImpostorMatch | None:
    scored: dict[int, list[tuple[float, str]]] = {}

    def signal(index: int, score: float, reason: str) -> None:
        scored.setdefault(index, []).append((score, reason))

    for index, target in enumerate(own):
        if candidate.plain == target.plain:
            signal(index, SCORE_SAME_HANDLE_ELSEWHERE,
                   f"the same handle as @{target.handle.handle} on {target.handle.network}, "
                   f"but the inventory has no such account on {candidate.handle.network}")
        elif candidate.folded == target.folded:
            signal(index, SCORE_SKELETON_EQUAL,
                   _with_folding(f"skeleton equal to @{target.handle.handle}", candidate, target, fold))
        elif candidate.compact == target.compact:
            signal(index, SCORE_SEPARATORS_ONLY, f"equal to @{target.handle.handle} apart from separators ('.', '_', '-')")
        elif len(target.bare) >= MIN_LENGTH_FOR_CONTAINMENT and target.compact in candidate.compact:
            extra = candidate.compact.replace(target.compact, " ", 1).split()
            affix = _impostor_affix(extra, fold)
            if affix:
                signal(index, SCORE_CONTAINS_WITH_AFFIX, _with_folding(
                    f"@{target.handle.handle} with the impostor affix '{affix}'", candidate, target, fold))
            else:
                added = candidate.plain.replace(target.plain, " ", 1) if target.plain in candidate.plain else " ".join(extra)
                signal(index, SCORE_CONTAINS, _with_folding(
                    f"contains @{target.handle.handle} ('{SEPARATORS.sub(' ', added).strip()}' added)", candidate, target, fold))

    for index, distance in _near_by_edits(candidate, own_forms).items():
        target = own[index]
        length = len(target.bare)  # as people read it: "acme" is 4 long, not "acrne"'s 5
        if min(length, len(candidate.bare)) < MIN_LENGTH_FOR_DISTANCE or distance > _allowed_distance(length):
            continue
        score = min(SCORE_DISTANCE_CAP, round(1 - distance / (length + 1), 3))
        signal(index, score, _with_folding(f"edit distance {distance} from @{target.handle.handle}", candidate, target, fold))

    if not scored:
        return None
    index, signals = max(scored.items(), key=lambda item: (max(s for s, _ in item[1]), -item[0]))
    signals.sort(key=lambda pair: -pair[0])
    return ImpostorMatch(candidate.handle, own[index].handle, signals[0][0], tuple(reason for _, reason in signals))


def _near_by_edits(candidate: _Prepared, own_forms: tuple[list[str], list[str]]) -> dict[int, int]:
    """Own handles within two edits, on the folded and on the plain form: folding "m" to "rn" hides a swap
    such as "amce" for "acme" from the folded form, and the plain form misses lookalike characters."""
    own_compacts, own_bares = own_forms
    nearest: dict[int, int] = {}
    for query, choices in ((candidate.compact, own_compacts), (candidate.bare, own_bares)):
        for _, distance, index in process.extract(query, choices, scorer=OSA.distance, score_cutoff=2, limit=None):
            nearest[index] = min(distance, nearest.get(index, distance))
    if candidate.compact in own_compacts or candidate.bare in own_bares:
        return {}  # equal under one form: the skeleton and separator signals already speak for it
    return {index: distance for index, distance in nearest.items() if distance > 0}


def _impostor_affix(extra: list[str], fold: Callable[[str], str]) -> str | None:
    """The affix word among what was added to the brand name, compared in folded form ("team" folds to "tearn")."""
    for part in extra:
        for affix in sorted(IMPOSTOR_AFFIXES, key=len, reverse=True):
            folded = fold(affix)
            if part == folded or (len(affix) >= 4 and (part.startswith(folded) or part.endswith(folded))):
                return affix
    return None


def _allowed_distance(length: int) -> int:
    return 1 if length < 9 else 2


def _with_folding(reason: str, candidate: _Prepared, target: _Prepared, fold: Callable[[str], str]) -> str:
    folded = _folded_characters(candidate.text, target.text, fold)
    return f"{reason} after folding {', '.join(folded)}" if folded else reason


def _folded_characters(candidate: str, own: str, fold: Callable[[str], str]) -> list[str]:
    """The lookalike characters of the candidate that the fold changed, e.g. "Cyrillic 'а' (U+0430)"."""
    notes = []
    own_plain = own.casefold()
    for char in dict.fromkeys(candidate):
        if char in own or char.casefold() in own_plain:
            continue
        folded = fold(char)
        if folded in (char, char.casefold()):
            continue
        notes.append(_describe(char, folded))
    if "rn" in candidate.casefold() and "rn" not in own_plain and "m" in own_plain:
        notes.append("'rn' for 'm'")
    return notes


def _describe(char: str, folded: str) -> str:
    name = unicodedata.name(char, "")
    if not folded:
        return f"the invisible U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")
    if char.isascii():
        return f"'{char}' for '{folded}'"
    script = name.split(" ", 1)[0].title() if name else "U+"
    return f"{script} '{char}' (U+{ord(char):04X})"


def _folder(skeleton: Skeleton) -> Callable[[str], str]:
    """casefold(skeleton(casefold(skeleton(text)))): capitals confusable before folding ('I' ~ 'l') and after."""

    @functools.lru_cache(maxsize=8192)
    def fold(text: str) -> str:
        return skeleton(skeleton(unicodedata.normalize("NFKC", text)).casefold()).casefold()

    return fold


def _default_skeleton() -> Skeleton:
    from govern.policy.confusables import skeleton  # imported late: the confusables data loads on first use

    return skeleton
