"""Load policy packs (policies/*.yaml): schema-validated, refused with file, line and reason, all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import re2
import yaml

from govern.policy.engine.detectors import KINDS
from govern.policy.engine.findings import Action, Severity
from govern.policy.engine.text import fold_char

SCHEMA_PATH = Path(__file__).with_name("pack.schema.json")
DEFAULT_PACKS_DIR = Path(__file__).resolve().parents[3] / "policies"


class PackError(Exception):
    """A pack that cannot be loaded: which file, which line (1-based, 0 when unknown), and why."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{self.path}:{line}: {reason}" if line else f"{self.path}: {reason}")


@dataclass(frozen=True)
class Term:
    text: str
    say: str | None = None  # brand terms: what to write instead
    until: dt.datetime | None = None  # embargoed until this moment (UTC)


@dataclass(frozen=True)
class Example:
    text: str
    network: str | None = None
    account: str | None = None
    business_unit: str | None = None
    country: str | None = None
    language: str | None = None
    media: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    description: dict[str, str]
    action: Action
    severity: Severity
    pack: str
    source: str  # file:line, for messages
    detector: str | None = None  # a built-in detector or a media entity
    kinds: frozenset[str] = frozenset()
    entity: str | None = None  # for terms/lexicons/patterns
    terms: tuple[Term, ...] = ()
    patterns: tuple[str, ...] = ()  # RE2 on folded text
    phrases: tuple[str, ...] = ()  # as written in the pack
    likely_phrases: tuple[str, ...] = ()  # phrases whose findings are only likely
    phrase_pattern: str | None = None  # all phrases as one RE2 pattern (matched leftmost-longest)
    until: dt.datetime | None = None
    networks: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    business_units: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    exception_values: tuple[str, ...] = ()
    exception_accounts: frozenset[str] = frozenset()
    must_match: tuple[Example, ...] = ()
    must_not_match: tuple[Example, ...] = ()

    @property
    def reports(self) -> str:
        """The entity name this rule's findings carry."""
        return self.detector or self.entity or "CUSTOM"


@dataclass(frozen=True)
class Pack:
    name: str
    path: Path
    description: dict[str, str] | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class LoadedPacks:
    """Every pack of a directory, validated together; `version` is the content hash decisions record."""

    version: str
    packs: tuple[Pack, ...] = field(default_factory=tuple)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.rules)


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of a pack."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def load_packs(directory: Path | str | None = None) -> LoadedPacks:
    """Read, validate and cross-check every *.yaml pack in `directory`; raise PackError on the first problem.

    Nothing is half-loaded: callers keep the previous LoadedPacks (and compiled engine) until this returns.
    """
    root = Path(directory) if directory is not None else DEFAULT_PACKS_DIR
    if not root.is_dir():
        raise PackError(root, 0, "not a directory of policy packs")
    files = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml"))
    if not files:
        raise PackError(root, 0, "no *.yaml policy packs found")
    digest = hashlib.sha256()
    documents = []
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PackError(path, 0, f"cannot be read: {exc.strerror}") from None
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        documents.append((path, *_parse(path, raw)))
    lexicons: dict[str, tuple[Term, ...]] = {}
    for path, data, lines in documents:
        for name, terms in (data.get("lexicons") or {}).items():
            if name in lexicons:
                raise PackError(path, lines.get(("lexicons", name), 0), f"lexicon {name!r} is defined twice")
            lexicons[name] = tuple(_term(item, path, lines, ("lexicons", name, i)) for i, item in enumerate(terms))
    packs, seen_rules, seen_packs = [], {}, {}
    for path, data, lines in documents:
        if data["pack"] in seen_packs:
            raise PackError(path, lines.get(("pack",), 0), f"pack name {data['pack']!r} is also used by {seen_packs[data['pack']]}")
        seen_packs[data["pack"]] = path.name
        rules = []
        for index, raw_rule in enumerate(data["rules"]):
            rule = _rule(raw_rule, data["pack"], path, lines, index, lexicons)
            if rule.id in seen_rules:
                raise PackError(path, lines.get(("rules", index, "id"), 0), f"rule id {rule.id!r} is also used at {seen_rules[rule.id]}")
            seen_rules[rule.id] = rule.source
            rules.append(rule)
        packs.append(Pack(data["pack"], path, data.get("description"), tuple(rules)))
    return LoadedPacks(version="sha256:" + digest.hexdigest()[:16], packs=tuple(packs))


def _parse(path: Path, raw: bytes) -> tuple[dict[str, Any], dict[tuple, int]]:
    """YAML -> data plus a map from each key path to its line, then schema validation with that line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackError(path, 0, f"not UTF-8 (byte {exc.start})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackError(path, mark.line + 1 if mark else 0, f"invalid YAML: {problem}") from None
    if node is None:
        raise PackError(path, 1, "the file is empty")
    lines: dict[tuple, int] = {}
    data = _construct(node, (), lines, path)
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data), key=lambda e: len(e.absolute_path), reverse=True)
    if errors:
        error = errors[0]
        where = tuple(error.absolute_path)
        line = _line_of(lines, where)
        place = "/".join(str(part) for part in where) or "(top level)"
        raise PackError(path, line, f"{place}: {_reason(error)}")
    return data, lines


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf" and error.context:
        best = min(error.context, key=lambda e: len(e.message))
        return best.message
    return error.message


def _line_of(lines: dict[tuple, int], where: tuple) -> int:
    for cut in range(len(where), -1, -1):
        if where[:cut] in lines:
            return lines[where[:cut]]
    return 0


def _construct(node: yaml.Node, where: tuple, lines: dict[tuple, int], path: Path) -> Any:
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                raise PackError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _construct(value_node, where + (key,), lines, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, where + (i,), lines, path) for i, item in enumerate(node.value)]
    value = yaml.SafeLoader(" ").construct_object(node)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()  # dates stay strings; the schema checks their shape
    return value


def _when(value: str | None, path: Path, line: int) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PackError(path, line, f"{value!r} is not a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _term(item: Any, path: Path, lines: dict[tuple, int], where: tuple) -> Term:
    if isinstance(item, str):
        return Term(item)
    return Term(item["term"], item.get("say"), _when(item.get("until"), path, _line_of(lines, where)))


def _example(item: Any) -> Example:
    if isinstance(item, str):
        return Example(item)
    return Example(item["text"], item.get("network"), item.get("account"), item.get("business_unit"),
                   item.get("country"), item.get("language"), tuple(item.get("media", ())))


def _rule(raw: dict[str, Any], pack: str, path: Path, lines: dict[tuple, int], index: int,
          lexicons: dict[str, tuple[Term, ...]]) -> Rule:
    where = ("rules", index)
    match = raw["match"]
    terms = [_term(item, path, lines, where + ("match", "terms", i)) for i, item in enumerate(match.get("terms", ()))]
    for i, name in enumerate(match.get("lexicons", ())):
        if name not in lexicons:
            raise PackError(path, _line_of(lines, where + ("match", "lexicons", i)), f"unknown lexicon {name!r}")
        terms.extend(lexicons[name])
    for i, pattern in enumerate(match.get("patterns", ())):
        try:
            re2.compile(pattern, _re2_options())
        except re2.error as exc:
            raise PackError(path, _line_of(lines, where + ("match", "patterns", i)),
                            f"pattern {pattern!r} is not valid RE2 (no look-around or back-references): {exc}") from None
    phrases, likely = tuple(match.get("phrases", ())), tuple(match.get("likely_phrases", ()))
    patterns = tuple(match.get("patterns", ()))
    for key, written in (("phrases", phrases), ("likely_phrases", likely)):
        for i, phrase in enumerate(written):
            try:
                re2.compile(_WORD_EDGE + phrase_regex(phrase) + _WORD_END, _re2_options())
            except (ValueError, re2.error) as exc:
                raise PackError(path, _line_of(lines, where + ("match", key, i)), f"phrase {phrase!r}: {exc}") from None
    detector = match.get("detector")
    kinds = frozenset(match.get("kinds", ()))
    known = KINDS.get(detector or "")
    if kinds and known is not None and not kinds <= set(known):
        raise PackError(path, _line_of(lines, where + ("match", "kinds")),
                        f"unknown kinds {sorted(kinds - set(known))} for {detector}; known: {', '.join(known)}")
    scope = raw.get("scope", {})
    exceptions = raw.get("exceptions", {})
    return Rule(
        id=raw["id"], category=raw["category"], description=raw["description"], action=Action(raw["action"]),
        severity=Severity(raw["severity"]), pack=pack, source=f"{path.name}:{_line_of(lines, where)}",
        detector=detector, kinds=kinds, entity=match.get("entity"), terms=tuple(terms),
        patterns=patterns, phrases=phrases, likely_phrases=likely,
        phrase_pattern=phrases_pattern(phrases, likely) if phrases or likely else None,
        until=_when(match.get("until"), path, _line_of(lines, where + ("match", "until"))),
        networks=frozenset(scope.get("networks", ())), accounts=frozenset(scope.get("accounts", ())),
        business_units=frozenset(scope.get("business_units", ())), languages=frozenset(scope.get("languages", ())),
        exception_values=tuple(exceptions.get("values", ())),
        exception_accounts=frozenset(exceptions.get("accounts", ())),
        must_match=tuple(_example(e) for e in raw["examples"]["match"]),
        must_not_match=tuple(_example(e) for e in raw["examples"]["no_match"]),
    )


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.max_mem = 8 << 20  # a pack pattern may not compile into a huge automaton
    return options


# --- phrases: how people write a marker, compiled to one RE2 pattern per rule ----------------------------

_GAP_TOKENS = ("...", "\u2026")
_GAP = r"(?:\s+\S+){0,3}"  # "do not share [this deck with anyone] outside": up to three words between
_WORD_EDGE = r"(?:^|[^\pL\pN_])"
_WORD_END = r"(?:$|[^\pL\pN_])"
# Clitics a Hebrew or Arabic word may carry and still be the word (the same as lexicon terms tolerate).
_HEBREW_CLITICS = "(?:[\u05d5\u05d4\u05d1\u05dc\u05de\u05e9\u05db]{0,3})"  # ו ה ב ל מ ש כ
_ARABIC_CLITICS = "(?:[\u0648\u0641\u0628\u0644\u0643\u0633]{0,2}(?:\u0627\u0644)?)"  # و ف ب ل ك س, ال
_LEADING_CLITICS = ("(?:[\u05d5\u05d4\u05d1\u05dc\u05de\u05e9\u05db]{1,3}|[\u0648\u0641\u0628\u0644\u0643\u0633]{1,2}"
                    "|[\u0648\u0641\u0628\u0644\u0643\u0633]{0,2}\u0627\u0644)?")


def phrases_pattern(phrases: Sequence[str], likely: Sequence[str] = ()) -> str:
    """Every phrase of a rule as one RE2 pattern on folded text; the named group `match` is what a finding reports,
    and the group `likely` takes part when the match is one of the `likely` phrases.

    The engine matches it leftmost-longest, so "سري للغاية" wins over "سري" at the same place, and a certain phrase
    ("strictly confidential") over a likely one inside it ("confidential").
    """
    alternatives = [phrase_regex(phrase) for phrase in dict.fromkeys(phrases)]
    if likely:
        alternatives.insert(0, "(?P<likely>" + "|".join(phrase_regex(phrase) for phrase in dict.fromkeys(likely)) + ")")
    return f"{_WORD_EDGE}{_LEADING_CLITICS}(?P<match>{'|'.join(alternatives)}){_WORD_END}"


def phrase_regex(phrase: str) -> str:
    """One phrase as RE2: whole words separated by spaces; `(a|b)` alternatives, `x?`, `[..]` classes inside a
    word; a word written `(word)?` may be left out; `...` stands for up to three words. Letters are folded like
    the text (case, Arabic letter variants, niqqud and harakat); Hebrew and Arabic words after the first may carry
    clitic prefixes (the first one's are outside the reported match). Raises ValueError on a malformed phrase."""
    if "\\" in phrase or "(?" in phrase:
        raise ValueError("backslashes and (? are not allowed in a phrase; write the words")
    tokens = _phrase_tokens(phrase)
    if not tokens:
        raise ValueError("the phrase is empty")
    if tokens[0] in _GAP_TOKENS or tokens[-1] in _GAP_TOKENS or _optional(tokens[0]):
        raise ValueError("a phrase starts and ends with a word that must be there")
    parts = []
    for index, token in enumerate(tokens):
        if token in _GAP_TOKENS:
            parts.append(_GAP)
            continue
        word = _word_regex(token[:-1] if _optional(token) else token)
        if index == 0:
            parts.append(word)
        elif _optional(token):
            parts.append(rf"(?:\s+{_clitics(token)}{word})?")
        else:
            parts.append(rf"\s+{_clitics(token)}{word}")
    return "".join(parts)


def _phrase_tokens(phrase: str) -> list[str]:
    tokens, current, depth = [], [], 0
    for char in phrase.strip():
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced {char!r}")
        if char.isspace() and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(char)
    if depth:
        raise ValueError("unbalanced brackets")
    if current:
        tokens.append("".join(current))
    return tokens


def _optional(token: str) -> bool:
    """`(the|our)?`: one group, as a whole optional."""
    if not (token.startswith("(") and token.endswith(")?")):
        return False
    depth = 0
    for position, char in enumerate(token[:-1]):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return position == len(token) - 2
    return False


def _clitics(token: str) -> str:
    for char in token:
        if "\u0590" <= char <= "\u05ff":
            return _HEBREW_CLITICS
        if "\u0600" <= char <= "\u06ff":
            return _ARABIC_CLITICS
    return ""


def _word_regex(token: str) -> str:
    out, in_class = [], False
    for char in token:
        if in_class:
            if char == "]":
                in_class = False
                out.append(char)
            elif char in "-^":
                out.append(char)
            else:
                folded = fold_char(char)
                out.append(re.escape(folded if len(folded) == 1 else char))
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "(":
            out.append("(?:")
        elif char in ")|?":
            out.append(char)
        elif char in "'\u2019":
            out.append("['\u2019]")
        elif char.isspace():
            out.append(r"\s+")
        else:
            out.append(re.escape(fold_char(char)))
    return "".join(out)
