"""The crisis keyword lexicon (policies/alerts/crisis_keywords.yaml): loaded, checked, compiled with the policy engine's
phrase syntax and matched on its normalised text (prefixes, digit scripts, diacritics and letter variants folded)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import re2
import yaml

from govern.policy.engine.packs import phrases_pattern
from govern.policy.engine.text import normalize

LANGUAGES = ("en", "ar", "he")
MAX_TERMS = 2000


class LexiconError(ValueError):
    """The lexicon file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class KeywordHit:
    keyword: str  # the entry's id
    matched: str  # the words as written in the text


@dataclass(frozen=True)
class _Entry:
    id: str
    regex: re2._Regexp
    group: int  # the named group `match`: the words without their leading prefix or edge


class Lexicon:
    def __init__(self, entries: list[_Entry]) -> None:
        self._entries = entries

    @property
    def ids(self) -> list[str]:
        return [entry.id for entry in self._entries]

    def matches(self, text: str) -> list[KeywordHit]:
        """Each entry the text carries, once, in lexicon order."""
        if not text.strip():
            return []
        norm = normalize(text)
        hits = []
        for entry in self._entries:
            found = entry.regex.search(norm.text)
            if found is not None:
                start, end = norm.span(*found.span(entry.group))
                hits.append(KeywordHit(entry.id, norm.original[start:end]))
        return hits


def _options() -> re2.Options:
    options = re2.Options()
    options.longest_match = True
    options.max_mem = 8 << 20
    return options


def parse(document: object, source: str) -> Lexicon:
    if not isinstance(document, dict) or document.get("format") != 1 or not isinstance(document.get("keywords"), list):
        raise LexiconError(f"{source}: expected 'format: 1' and a 'keywords' list")
    entries, seen, total = [], set(), 0
    for position, item in enumerate(document["keywords"]):
        where = f"{source}: keywords/{position}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            raise LexiconError(f"{where}: every entry needs an id")
        if item["id"] in seen or len(item["id"]) > 64:
            raise LexiconError(f"{where}: the id {item['id']!r} is repeated or longer than 64 characters")
        unknown = set(item) - {"id", *LANGUAGES}
        if unknown:
            raise LexiconError(f"{where}: unknown keys {sorted(unknown)}; write terms under en, ar and he")
        terms = []
        for language in LANGUAGES:
            words = item.get(language, [])
            if not isinstance(words, list) or not all(isinstance(word, str) and word.strip() for word in words):
                raise LexiconError(f"{where}/{language}: a list of words")
            terms.extend(words)
        if not terms:
            raise LexiconError(f"{where}: no terms")
        total += len(terms)
        try:
            regex = re2.compile(phrases_pattern(terms), _options())
        except (ValueError, re2.error) as exc:
            raise LexiconError(f"{where}: {exc}") from None
        seen.add(item["id"])
        entries.append(_Entry(item["id"], regex, regex.groupindex["match"]))
    if total > MAX_TERMS:
        raise LexiconError(f"{source}: {total} terms; at most {MAX_TERMS}")
    return Lexicon(entries)


@lru_cache(maxsize=4)
def _load(path: str, modified: float) -> Lexicon:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: {exc}") from None
    return parse(document, Path(path).name)


def load(path: str | Path) -> Lexicon:
    """The lexicon in the file, compiled once per version of the file (an edit is picked up by the next scan)."""
    try:
        modified = Path(path).stat().st_mtime
    except OSError as exc:
        raise LexiconError(f"{path}: {exc.strerror}") from None
    return _load(str(path), modified)
