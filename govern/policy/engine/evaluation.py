"""The policy engine: compile loaded packs once, then evaluate texts and media detections into a Decision.

One normalisation per text, one RE2 set pass over it for every built-in detector and pack pattern, one
Aho-Corasick pass for every literal term of every pack; exact spans and validators run only on what fired.
Pure functions over a CompiledPolicy: no Flask, no database, the same in the API, the broker, tasks and the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import ahocorasick
import re2

from govern.policy.engine.detectors import BUILTIN, PRIORITY, Hit, PatternDetector, Scan, canonical_phone, mask_preview, phone_regions
from govern.policy.engine.detectors.base import REASONS, digits_of
from govern.policy.engine.findings import Action, Decision, Detection, Finding, Severity
from govern.policy.engine.packs import Example, LoadedPacks, PackError, Rule, Term, load_packs
from govern.policy.engine.text import NormalizedText, fold_term, normalize
from govern.policy.exceptions import ExceptionSet

# Bounds that keep any input from stalling a worker. RE2 is linear in the text; these cap the Python work
# done per candidate (validators, phone parsing) so a post stuffed with decoys cannot multiply it.
MAX_CANDIDATES_PER_PATTERN = 2_000
DEFAULT_BUDGET_SECONDS = 5.0

# Prefixes a Hebrew or Arabic lexicon term may carry and still be the term: "והסודי", "وبالهوية".
_HEBREW_PREFIX = re.compile("[והבלמשכ]{1,3}")
_ARABIC_PREFIX = re.compile("[وفبلكس]{1,2}|[وفبلكس]{0,2}ال")


@dataclass(frozen=True)
class PolicyContext:
    """Who is posting where: narrows rules by scope and orders phone regions. Every field is optional."""

    network: str | None = None  # network key, e.g. "x", "linkedin"
    account_id: str | None = None
    business_unit: str | None = None
    country: str | None = None  # ISO 3166 alpha-2 of the account, first region for phone numbers
    language: str | None = None  # "en" | "ar" | "he"; when absent the text's script decides


_NO_CONTEXT = PolicyContext()
_ENGLISH = frozenset({"en"})


@dataclass(frozen=True)
class _PatternTarget:
    rule: Rule
    regex: re2._Regexp
    group: int = 0  # a pattern's named group `match`, if it has one, is what the finding reports
    likely: int = 0  # its group `likely`, if it has one: when that group takes part, the finding is only likely


@dataclass(frozen=True)
class _TermEntry:
    rule_index: int
    term: Term
    key: str


@dataclass
class CompiledPolicy:
    """Loaded packs compiled for evaluation; build with compile_packs() and swap the reference atomically."""

    packs: LoadedPacks
    rules: tuple[Rule, ...]
    prefilter: re2.Set | None
    targets: tuple[PatternDetector | _PatternTarget, ...]
    automaton: ahocorasick.Automaton | None
    rules_by_entity: dict[str, tuple[Rule, ...]]
    exceptions: dict[str, frozenset[str]] = field(default_factory=dict)
    term_count: int = 0

    @property
    def version(self) -> str:
        return self.packs.version


def compile_packs(packs: LoadedPacks, extra_terms: Iterable[tuple[str, str]] = ()) -> CompiledPolicy:
    """Compile every rule of `packs`: one RE2 set, one automaton. Raises PackError if something cannot compile.

    `extra_terms` are (rule id, term) pairs added to the automaton, e.g. a large codename list kept outside YAML.
    """
    rules = packs.rules
    needed = {rule.detector for rule in rules if rule.detector}
    targets: list[PatternDetector | _PatternTarget] = [d for d in BUILTIN if d.entity in needed]
    options = re2.Options()
    options.max_mem = 64 << 20
    longest = re2.Options()
    longest.longest_match = True  # of a rule's phrases, the longest that matches where the leftmost starts
    for rule in rules:
        for pattern in rule.patterns:
            regex = re2.compile(pattern)
            targets.append(_PatternTarget(rule, regex, regex.groupindex.get("match", 0)))
        if rule.phrase_pattern:
            regex = re2.compile(rule.phrase_pattern, longest)
            targets.append(_PatternTarget(rule, regex, regex.groupindex["match"], regex.groupindex.get("likely", 0)))
    prefilter = None
    if targets:
        prefilter = re2.Set.SearchSet(options)
        for target in targets:
            prefilter.Add(target.trigger if isinstance(target, PatternDetector) else target.regex.pattern)
        try:
            prefilter.Compile()
        except re2.error as exc:
            raise PackError("(all packs)", 0, f"the pattern set does not compile: {exc}") from None
    automaton, term_count = _build_automaton(rules, extra_terms)
    by_entity: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.detector:
            by_entity.setdefault(rule.detector, []).append(rule)
    exceptions = {rule.id: _canonical_exceptions(rule.exception_values) for rule in rules if rule.exception_values}
    return CompiledPolicy(packs, rules, prefilter, tuple(targets), automaton,
                          {k: tuple(v) for k, v in by_entity.items()}, exceptions, term_count)


def load_policy(directory: Path | str | None = None) -> CompiledPolicy:
    """load_packs + compile_packs: a ready engine, or PackError (keep the previous one in force then)."""
    return compile_packs(load_packs(directory))


def _build_automaton(rules: tuple[Rule, ...], extra_terms: Iterable[tuple[str, str]]):
    entries: dict[str, list[_TermEntry]] = {}
    index_of = {rule.id: i for i, rule in enumerate(rules)}
    for i, rule in enumerate(rules):
        for term in rule.terms:
            key = fold_term(term.text)
            if key:
                entries.setdefault(key, []).append(_TermEntry(i, term, key))
    for rule_id, text in extra_terms:
        if rule_id not in index_of:
            raise PackError("(extra terms)", 0, f"unknown rule {rule_id!r}")
        key = fold_term(text)
        if key:
            entries.setdefault(key, []).append(_TermEntry(index_of[rule_id], Term(text), key))
    if not entries:
        return None, 0
    automaton = ahocorasick.Automaton()
    for key, found in entries.items():
        automaton.add_word(key, tuple(found))
    automaton.make_automaton()
    return automaton, len(entries)


def _canonical_exceptions(values: tuple[str, ...]) -> frozenset[str]:
    canonical: set[str] = set()
    for value in values:
        canonical.update({value.strip(), fold_term(value), value.replace(" ", "").upper()})
        digits = digits_of(value)
        if len(digits) >= 6:
            canonical.add(digits)
        phone = canonical_phone(value)
        if phone:
            canonical.add(phone)
    canonical.discard("")
    return frozenset(canonical)


# --- evaluation -----------------------------------------------------------------------------------


def evaluate(compiled: CompiledPolicy, text: str, *, account: PolicyContext | None = None,
             media_detections: Iterable[Detection] = (), now: dt.datetime | None = None,
             budget_seconds: float = DEFAULT_BUDGET_SECONDS, exceptions: ExceptionSet | None = None) -> Decision:
    """Every finding of every applicable rule on `text` and on the media detections, and the decision.

    Offsets in findings are code points of the ORIGINAL `text`; media findings carry their media_index.
    `exceptions` are the scoped exceptions learned from false positives: a finding they excuse is left out.
    """
    context = account or _NO_CONTEXT
    moment = now or dt.datetime.now(dt.timezone.utc)
    norm = normalize(text)
    scripts = norm.scripts()
    languages = frozenset({context.language}) if context.language else (scripts or _ENGLISH)
    scan = Scan(norm, phone_regions(context.country, scripts), scripts, context.country)
    applies = _Applicability(context, languages, moment)
    findings: list[Finding] = []
    hits, limited = _pattern_hits(compiled, scan, time.perf_counter() + budget_seconds)
    for hit, rule in hits:
        for candidate in ((rule,) if rule else compiled.rules_by_entity.get(hit.entity, ())):
            if applies(candidate) and _kind_fits(candidate, hit.kind) and not _excepted(compiled, candidate, hit, norm):
                findings.append(_finding(candidate, hit, norm, context))
    for hit, rule_index, term in _longest_term_hits(_term_hits(compiled, norm)):
        rule = compiled.rules[rule_index]
        if applies(rule) and (term.until is None or moment < term.until) and not _excepted(compiled, rule, hit, norm):
            findings.append(_finding(rule, hit, norm, context, term))
    for detection in media_detections:
        for rule in compiled.rules_by_entity.get(detection.entity, ()):
            if applies(rule) and _kind_fits(rule, detection.kind):
                findings.append(_media_finding(rule, detection, context))
    if exceptions:
        findings = [f for f in findings if not exceptions.excuses(f, text, context.account_id)]
    if limited:
        findings.append(_limit_finding(len(text)))
    return Decision.of(_unique(findings), compiled.version)


class _Applicability:
    """Whether a rule is in scope for this context and moment (memoised per evaluation)."""

    __slots__ = ("context", "languages", "moment", "seen")

    def __init__(self, context: PolicyContext, languages: frozenset[str], moment: dt.datetime) -> None:
        self.context, self.languages, self.moment, self.seen = context, languages, moment, {}

    def __call__(self, rule: Rule) -> bool:
        known = self.seen.get(rule.id)
        if known is None:
            known = self.seen[rule.id] = self._decide(rule)
        return known

    def _decide(self, rule: Rule) -> bool:
        c = self.context
        if rule.until is not None and self.moment >= rule.until:
            return False
        if c.account_id and c.account_id in rule.exception_accounts:
            return False
        # An unknown network/account/unit does not exempt a post from a scoped rule: unknown means "could be".
        for wanted, have in ((rule.networks, c.network), (rule.accounts, c.account_id), (rule.business_units, c.business_unit)):
            if wanted and have is not None and have not in wanted:
                return False
        return not rule.languages or bool(rule.languages & self.languages)


def _kind_fits(rule: Rule, kind: str | None) -> bool:
    return not rule.kinds or kind in rule.kinds


def _pattern_hits(compiled: CompiledPolicy, scan: Scan, deadline: float) -> tuple[list[tuple[Hit, Rule | None]], bool]:
    if compiled.prefilter is None:
        return [], False
    fired = compiled.prefilter.Match(scan.text)
    if not fired:
        return [], False
    builtin: list[Hit] = []
    custom: list[tuple[Hit, Rule | None]] = []
    limited = False
    for index in fired:
        target = compiled.targets[index]
        count = 0
        if isinstance(target, PatternDetector):
            for match in target.pattern.finditer(scan.text):
                count += 1
                if count > MAX_CANDIDATES_PER_PATTERN or (count % 64 == 0 and time.perf_counter() > deadline):
                    limited = True
                    break
                hit = target.validate(scan, match)
                if hit is not None:
                    builtin.append(hit)
        else:
            for match in target.regex.finditer(scan.text):
                count += 1
                if count > MAX_CANDIDATES_PER_PATTERN:
                    limited = True
                    break
                start, end = match.span(target.group)
                if end > start:
                    # a `likely` phrase is an ordinary word too ("confidential hotline"): it asks, it does not block
                    likely = bool(target.likely) and match.start(target.likely) >= 0
                    custom.append((Hit(target.rule.reports, start, end, value=match.group(target.group),
                                       certainty="likely" if likely else "certain",
                                       reason="no_context" if likely else None), target.rule))
    return [(hit, None) for hit in _resolve_overlaps(builtin)] + custom, limited


def _resolve_overlaps(hits: list[Hit]) -> list[Hit]:
    """Where detections overlap, the longer span stands (an IBAN over the card-like digits inside it), then
    the more specific entity (an Israeli ID is also a valid landline number)."""
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, PRIORITY.get(h.entity, 9), h.start)):
        if all(hit.end <= other.start or hit.start >= other.end for other in kept):
            kept.append(hit)
    return kept


def _term_hits(compiled: CompiledPolicy, norm: NormalizedText):
    if compiled.automaton is None:
        return
    text = norm.text
    for last, entries in compiled.automaton.iter(text):
        end = last + 1
        start = end - len(entries[0].key)
        if not _term_bounded(text, start, end):
            continue
        for entry in entries:
            yield Hit(compiled.rules[entry.rule_index].reports, start, end, value=entry.key), entry.rule_index, entry.term


def _longest_term_hits(hits):
    """Of nested hits of one rule ("פנימי בלבד" inside "לשימוש פנימי בלבד"), only the longest stands."""
    hits = list(hits)
    if len(hits) < 2:
        return hits
    return [h for h in hits if not any(o is not h and o[1] == h[1] and o[0].start <= h[0].start and h[0].end <= o[0].end
                                       and (o[0].end - o[0].start) > (h[0].end - h[0].start) for o in hits)]


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _term_bounded(text: str, start: int, end: int) -> bool:
    """A whole word or phrase; Hebrew and Arabic terms may carry clitic prefixes (ו, ה, ב, ל / و, ف, ب, ل, ال)."""
    if end < len(text) and _is_word(text[end]) and _is_word(text[end - 1]):
        return False
    if start == 0 or not _is_word(text[start - 1]) or not _is_word(text[start]):
        return True
    word_start = start
    while word_start > 0 and start - word_start <= 4 and _is_word(text[word_start - 1]):
        word_start -= 1
    if word_start > 0 and _is_word(text[word_start - 1]):
        return False
    prefix = text[word_start:start]
    clitics = _HEBREW_PREFIX if "\u0590" <= prefix[0] <= "\u05ff" else _ARABIC_PREFIX
    return clitics.fullmatch(prefix) is not None


def _excepted(compiled: CompiledPolicy, rule: Rule, hit: Hit, norm: NormalizedText) -> bool:
    allowed = compiled.exceptions.get(rule.id)
    if not allowed:
        return False
    if hit.value in allowed or hit.value.upper() in allowed:
        return True
    first, last = norm.span(hit.start, hit.end)
    return fold_term(norm.original[first:last]) in allowed


def _explanation(rule: Rule, context: PolicyContext) -> str:
    return rule.description.get(context.language or "en") or rule.description["en"]


def _finding(rule: Rule, hit: Hit, norm: NormalizedText, context: PolicyContext, term: Term | None = None) -> Finding:
    start, end = norm.span(hit.start, hit.end)
    matched = norm.original[start:end]
    explanation = _explanation(rule, context)
    if term is not None and term.say:
        explanation += f' (write "{term.say}")'
    if term is not None and term.until is not None:
        explanation += f" (embargoed until {term.until.isoformat()})"
    if hit.kind:
        explanation += f" [{hit.kind}{'/' + hit.detail if hit.detail else ''}]"
    action, severity = rule.action, rule.severity
    if hit.certainty != "certain" and action is Action.BLOCK:
        # Precision first for block: only a near-certain match blocks; a likely one asks a person, one step lower.
        action, severity = Action.REQUIRE_APPROVAL, _LOWER.get(severity, severity)
    if hit.certainty != "certain" and hit.reason:
        explanation += f" ({REASONS.get(hit.reason, hit.reason)})"
    return Finding(entity=hit.entity, start=start, end=end, rule=rule.id, category=rule.category, action=action,
                   severity=severity, explanation=explanation, preview=mask_preview(hit.entity, matched, hit.kind),
                   kind=hit.kind, certainty=hit.certainty, reason=hit.reason)


_LOWER = {Severity.CRITICAL: Severity.HIGH, Severity.HIGH: Severity.MEDIUM, Severity.MEDIUM: Severity.LOW}


def _media_finding(rule: Rule, detection: Detection, context: PolicyContext) -> Finding:
    explanation = _explanation(rule, context) + (f" ({detection.detail})" if detection.detail else "")
    return Finding(entity=detection.entity, start=detection.start, end=detection.end, rule=rule.id,
                   category=rule.category, action=rule.action, severity=rule.severity, explanation=explanation,
                   preview="", kind=detection.kind, media_index=detection.media_index)


def _limit_finding(length: int) -> Finding:
    return Finding(entity="SCAN_LIMIT", start=0, end=length, rule="engine.scan-limit", category="privacy",
                   action=Action.REQUIRE_APPROVAL, severity=Severity.MEDIUM,
                   explanation="The text has too many candidates to check them all in time; a person must look.",
                   preview="")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    unique = []
    for finding in findings:
        key = (finding.rule, finding.start, finding.end, finding.media_index)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


# --- policy as code: every rule's examples ---------------------------------------------------------


@dataclass(frozen=True)
class ExampleFailure:
    rule: str
    source: str
    expected_match: bool
    text: str
    found: tuple[str, ...]  # the rules that did fire on it

    def describe(self) -> str:
        verb = "should match but did not" if self.expected_match else "should NOT match but did"
        fired = ", ".join(self.found) or "nothing"
        return f"{self.source} rule {self.rule}: {verb}: {self.text!r} (fired: {fired})"


def example_context(example: Example) -> PolicyContext:
    return PolicyContext(network=example.network, account_id=example.account, business_unit=example.business_unit,
                         country=example.country, language=example.language)


def check_examples(compiled: CompiledPolicy) -> list[ExampleFailure]:
    """Run every rule's must-match and must-not-match examples through the whole compiled policy."""
    failures = []
    for rule in compiled.rules:
        for expected, examples in ((True, rule.must_match), (False, rule.must_not_match)):
            for example in examples:
                media = [Detection(entity=m["entity"], start=0, end=0, kind=m.get("kind"), media_index=i)
                         for i, m in enumerate(example.media)]
                decision = evaluate(compiled, example.text, account=example_context(example), media_detections=media)
                fired = tuple(dict.fromkeys(f.rule for f in decision.findings))
                if (rule.id in fired) != expected:
                    failures.append(ExampleFailure(rule.id, rule.source, expected, example.text, fired))
    return failures
