"""Independent data for the policy engine (issue 13): loaders and the scorer.

Three datasets under tests/data/policy/, none written together with the engine:
- the false-alarm corpus (`ordinary_posts.jsonl`): ordinary en/ar/he posts whose only right answer is `allow`;
- the peer samples (`peer/*.jsonl`): labelled true/false positives from gitleaks, Presidio, detect-secrets and
  python-stdnum, mapped to govern's entities;
- the issue's own examples (`issue_examples.jsonl`).

Scoring of peer samples. Lines are grouped by text; the gold of a text is every tp span of every line with that
text. A prediction of entity E matches an unmatched gold span of E when their Jaccard overlap is >= 0.5 (the rule of
tests/support/policy_corpus.py); unmatched gold spans are misses (fn); unmatched predictions of ANY entity are false
positives (fp) of that entity — a phone number found inside an IBAN sample is a false alarm. For SECRET the same is
counted per secret kind: gold spans by their labelled kind (a match is kind-agnostic: the entity blocks either way;
`kind_agreement` says how often the engine also named the right kind); an fp is charged to the kind the line is
about, or to the predicted kind on texts without a SECRET line. `exact` counts matches whose span is exactly the
gold span (the issue asks that findings "point at the value alone").
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tests.support.policy_corpus import EntityScore

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "policy"
ORDINARY = DATA / "ordinary_posts.jsonl"
PEER = DATA / "peer"
ISSUE_EXAMPLES = DATA / "issue_examples.jsonl"
PEER_SOURCES = ("gitleaks", "presidio", "detect_secrets", "python_stdnum")
# The entities govern claims that the peer samples exercise.
PEER_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "PAYMENT_CARD", "IBAN", "NATIONAL_ID", "SECRET", "CONFIDENTIAL_MARKER")
# A fixed clock for the engine, so embargo terms decide the same way on every run.
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)


# --- loading ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrdinaryPost:
    id: str
    lang: str
    text: str


@dataclass(frozen=True)
class PeerSample:
    id: str
    text: str
    entity: str
    kind: str | None
    spans: tuple[tuple[int, int], ...]
    label: str  # "tp" | "fp"
    source: dict
    literal: bool = True
    note: str = ""
    decision: str | None = None  # issue examples: "allow" when the whole text must yield no finding

    @property
    def source_name(self) -> str:
        return self.id.rsplit("-", 1)[0]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_ordinary(path: Path = ORDINARY) -> list[OrdinaryPost]:
    return [OrdinaryPost(r["id"], r["lang"], r["text"]) for r in _read_jsonl(path)]


def _sample(record: dict) -> PeerSample:
    return PeerSample(record["id"], record["text"], record["entity"], record.get("kind"),
                      tuple(tuple(s) for s in record["spans"]), record["label"], record["source"],
                      record.get("literal", True), record.get("note", ""), record.get("decision"))


def load_peer(sources: Iterable[str] = PEER_SOURCES) -> dict[str, list[PeerSample]]:
    return {name: [_sample(r) for r in _read_jsonl(PEER / f"{name}.jsonl")] for name in sources}


def load_issue_examples(path: Path = ISSUE_EXAMPLES) -> list[PeerSample]:
    return [_sample(r) for r in _read_jsonl(path)]


# --- the engine ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    entity: str
    start: int
    end: int
    kind: str | None
    rule: str
    action: str


Engine = Callable[[str], tuple[str, list[Found]]]  # text -> (decision, findings)


def govern_engine() -> Engine:
    """govern's engine on the repository's packs, as `govern policy check` runs it (no account context)."""
    from govern.policy.engine.evaluation import compile_packs, evaluate
    from govern.policy.engine.packs import load_packs

    compiled = compile_packs(load_packs(ROOT / "policies"))

    def run(text: str) -> tuple[str, list[Found]]:
        decision = evaluate(compiled, text, now=NOW)
        return decision.decision.value, [Found(f.entity, f.start, f.end, f.kind, f.rule, f.action.value)
                                         for f in decision.findings if f.media_index is None]

    return run


# --- scoring: ordinary posts --------------------------------------------------------------------------------------

@dataclass
class OrdinaryScore:
    posts: int = 0
    blocked: int = 0
    flagged: int = 0  # any finding at all (warn, approval or block)
    by_lang: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # lang -> posts/blocked/flagged
    by_rule: Counter = field(default_factory=Counter)  # "rule entity[/kind]" -> posts it fired on
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    decisions: Counter = field(default_factory=Counter)

    @property
    def blocked_rate(self) -> float:
        return self.blocked / self.posts if self.posts else 0.0

    @property
    def flagged_rate(self) -> float:
        return self.flagged / self.posts if self.posts else 0.0


def score_ordinary(posts: list[OrdinaryPost], engine: Engine, examples_per_rule: int = 3) -> OrdinaryScore:
    result = OrdinaryScore()
    for post in posts:
        decision, findings = engine(post.text)
        result.posts += 1
        result.decisions[decision] += 1
        result.by_lang[post.lang]["posts"] += 1
        if findings:
            result.flagged += 1
            result.by_lang[post.lang]["flagged"] += 1
        if decision == "block":
            result.blocked += 1
            result.by_lang[post.lang]["blocked"] += 1
        for key in sorted({f"{f.rule} {f.entity}{'/' + f.kind if f.kind else ''} ({f.action})" for f in findings}):
            result.by_rule[key] += 1
        for f in findings:
            key = f"{f.rule} {f.entity}{'/' + f.kind if f.kind else ''} ({f.action})"
            if len(result.examples[key]) < examples_per_rule and post.id not in {e.split(":")[0] for e in result.examples[key]}:
                result.examples[key].append(f"{post.id}: {post.text[f.start:f.end]!r} in {post.text[:140]!r}")
    return result


# --- scoring: peer samples ----------------------------------------------------------------------------------------

@dataclass
class PRF(EntityScore):
    """Precision, recall and F1 (from policy_corpus.EntityScore), plus how often the span and the secret kind agreed."""

    exact: int = 0
    kind_agreement: int = 0

    def add(self, other: PRF) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        self.exact, self.kind_agreement = self.exact + other.exact, self.kind_agreement + other.kind_agreement


@dataclass
class PeerScore:
    per_entity: dict[str, PRF] = field(default_factory=lambda: defaultdict(PRF))
    per_kind: dict[str, PRF] = field(default_factory=lambda: defaultdict(PRF))  # SECRET kinds
    per_source: dict[str, PRF] = field(default_factory=lambda: defaultdict(PRF))
    errors: list[str] = field(default_factory=list)
    disputed: list[str] = field(default_factory=list)  # lines scored apart (DISPUTED), with what govern said

    def overall(self, entities: Iterable[str] = PEER_ENTITIES) -> PRF:
        total = PRF()
        for entity in entities:
            if entity in self.per_entity:
                total.add(self.per_entity[entity])
        return total


def _jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


# Lines where the peers disagree with each other AND issue 13 says which side govern takes: scored apart (reported,
# never counted either way), so a target is neither met nor missed by a label the issue itself overrules.
DISPUTED = {
    "detect_secrets-007": "an all-x Slack webhook: detect-secrets flags it; gitleaks and issue 13 ('placeholders and "
                          "repeated characters refused') do not",
    "detect_secrets-034": "AKIAZZZZZZZZZZZZZZZZ: detect-secrets flags it; gitleaks' entropy floor and issue 13 "
                          "('repeated characters refused') do not",
}


def score_peer(samples: Iterable[PeerSample], engine: Engine, max_errors: int = 400) -> PeerScore:
    result = PeerScore()
    by_text: dict[str, list[PeerSample]] = defaultdict(list)
    for sample in samples:
        by_text[sample.text].append(sample)
    for text, lines in by_text.items():
        disputed = [line.id for line in lines if line.id in DISPUTED]
        if disputed:
            _, findings = engine(text)
            said = ", ".join(f"{f.entity}/{f.kind}" for f in findings) or "nothing"
            result.disputed.extend(f"{line_id} (govern found {said}): {DISPUTED[line_id]}" for line_id in disputed)
            continue
        source = lines[0].source_name
        gold = [(s.entity, span, s.kind) for s in lines if s.label == "tp" for span in s.spans]
        secret_kind = next((s.kind for s in lines if s.entity == "SECRET" and s.kind), None)
        _, findings = engine(text)
        unmatched = list(gold)
        for f in sorted(findings, key=lambda f: (f.start, f.end)):
            span = (f.start, f.end)
            candidates = [g for g in unmatched if g[0] == f.entity]
            best = max(candidates, key=lambda g: _jaccard(span, g[1]), default=None)
            if best is not None and _jaccard(span, best[1]) >= 0.5:
                unmatched.remove(best)
                exact = int(span == tuple(best[1]))
                agree = int(f.kind == best[2]) if best[2] else 0
                for bucket in _buckets(result, f.entity, best[2], source):
                    bucket.tp += 1
                    bucket.exact += exact
                    bucket.kind_agreement += agree
                if not exact and len(result.errors) < max_errors:
                    result.errors.append(f"SPAN {f.entity} found {text[f.start:f.end]!r}, expected "
                                         f"{text[best[1][0]:best[1][1]]!r} [{lines[0].id}]")
            else:
                charged = (secret_kind or f.kind) if f.entity == "SECRET" else None
                for bucket in _buckets(result, f.entity, charged, source):
                    bucket.fp += 1
                if len(result.errors) < max_errors:
                    result.errors.append(f"FP {f.entity}{'/' + f.kind if f.kind else ''} ({f.rule}) "
                                         f"{text[f.start:f.end]!r} in {text[:120]!r} [{lines[0].id}]")
        for entity, span, kind in unmatched:
            for bucket in _buckets(result, entity, kind, source):
                bucket.fn += 1
            if len(result.errors) < max_errors:
                result.errors.append(f"FN {entity}{'/' + kind if kind else ''} {text[span[0]:span[1]][:100]!r} "
                                     f"in {text[:120]!r} [{lines[0].id}]")
    return result


def _buckets(result: PeerScore, entity: str, kind: str | None, source: str) -> list[PRF]:
    buckets = [result.per_entity[entity], result.per_source[source]]
    if entity == "SECRET":
        buckets.append(result.per_kind[kind or "unknown"])
    return buckets


# --- issue examples -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExampleVerdict:
    sample: PeerSample
    ok: bool
    got: str


def check_issue_examples(samples: list[PeerSample], engine: Engine) -> list[ExampleVerdict]:
    """Each example's right answer, strictly: a tp needs a finding of its entity at exactly every expected span;
    an fp needs no finding of its entity; `decision: allow` needs no finding at all."""
    verdicts = []
    for sample in samples:
        decision, findings = engine(sample.text)
        of_entity = [f for f in findings if f.entity == sample.entity]
        got = ", ".join(f"{f.entity}{'/' + f.kind if f.kind else ''} {sample.text[f.start:f.end]!r}" for f in findings) or "nothing"
        if sample.label == "tp":
            ok = all(any((f.start, f.end) == tuple(span) for f in of_entity) for span in sample.spans)
        elif sample.decision == "allow":
            ok = not findings and decision == "allow"
        else:
            ok = not of_entity
        verdicts.append(ExampleVerdict(sample, ok, f"{decision}: {got}"))
    return verdicts
