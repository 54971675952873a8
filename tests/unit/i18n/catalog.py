"""What govern's own messages are (extracted from the code and templates the way `make messages` does) and which of
them a locale's catalog leaves untranslated."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[3]
TRANSLATIONS = ROOT / "govern" / "translations"
METHOD_MAP = [("govern/**.py", "python"), ("govern/templates/**.html", "jinja2")]


@cache
def refusal_keywords() -> dict[str, tuple[int]]:
    """Every service refusal class a person may read, and which argument is its msgid (govern/errors.py)."""
    from govern import create_app
    from govern.errors import extraction_keywords

    create_app({"TESTING": True})  # loads every domain, so every refusal class is defined
    return extraction_keywords()


@cache
def extracted_messages() -> frozenset[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, **refusal_keywords()}
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT, METHOD_MAP, keywords=keywords, options_map={"govern/templates/**.html": {"encoding": "utf-8"}}):
        singular = message[0] if isinstance(message, tuple) else message  # a plural's catalog key is its singular
        if singular:
            found.add(singular)
    return frozenset(found)


@cache
def catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def untranslated(locale: str, messages: frozenset[str]) -> set[str]:
    """The messages `locale` has no translation for (absent, empty or fuzzy)."""
    entries = catalog(locale)
    missing = set()
    for message in messages:
        entry = entries.get(message)
        strings = entry.string if entry else None
        translated = any(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is None or not translated or entry.fuzzy:
            missing.add(message)
    return missing
