"""Phrase lexicons: whole words on folded text, inflections, clitic prefixes, bounded gaps, optional words."""

from __future__ import annotations

from pathlib import Path

import pytest
import re2

from govern.policy.engine.evaluation import evaluate, load_policy
from govern.policy.engine.findings import Action, Severity
from govern.policy.engine.packs import PackError, load_packs, phrase_regex, phrases_pattern

from tests.support.policy_packs import GOOD_RULE, write_packs


def _spans(pattern: str, text: str) -> list[str]:
    options = re2.Options()
    options.longest_match = True  # as the engine compiles a rule's phrases
    regex = re2.compile(pattern, options)
    group = regex.groupindex["match"]
    return [match.group(group) for match in regex.finditer(text)]


def test_gap_allows_up_to_three_words_and_no_more() -> None:
    pattern = phrases_pattern(["do not share ... outside"])
    assert _spans(pattern, "do not share outside") == ["do not share outside"]
    assert _spans(pattern, "do not share this deck with outside") == ["do not share this deck with outside"]
    assert _spans(pattern, "do not share this deck with anyone outside") == []


def test_optional_words_are_taken_when_present() -> None:
    pattern = phrases_pattern(["outside (of)? (the)? (company|team)?"])
    assert _spans(pattern, "x outside of the company.") == ["outside of the company"]
    assert _spans(pattern, "x outside the team") == ["outside the team"]
    assert _spans(pattern, "x outside, then") == ["outside"]


def test_whole_words_only() -> None:
    pattern = phrases_pattern(["سري(ه)?", "confidential"])
    assert _spans(pattern, "خدمه سريعه") == []
    assert _spans(pattern, "معلومات سريه") == ["سريه"]
    assert _spans(pattern, "confidentiality") == []


def test_letters_are_folded_like_the_text() -> None:
    # ة is ه and أ is ا in the folded text; upper case is lower case; niqqud is dropped
    assert phrase_regex("وثيقة") == "وثيقه"
    assert phrase_regex("أرقام") == "ارقام"
    assert phrase_regex("Internal") == "internal"
    assert phrase_regex("סוֹדִי") == "סודי"


def test_hebrew_and_arabic_words_take_clitic_prefixes_but_not_other_letters() -> None:
    pattern = phrases_pattern(["אין להפיץ מחוץ (חברה)?", "סודי"])
    assert _spans(pattern, "ואין להפיץ מחוץ לחברה") == ["אין להפיץ מחוץ לחברה"]
    assert _spans(pattern, "בית ספר יסודי") == []
    assert _spans(pattern, "המסמך הסודי") == ["סודי"]


def test_longer_phrase_wins_at_the_same_place() -> None:
    pattern = phrases_pattern(["سري", "سري للغايه", "do not share outside", "do not share ... outside the company"])
    assert _spans(pattern, "ملف سري للغايه") == ["سري للغايه"]
    assert _spans(pattern, "do not share outside the company") == ["do not share outside the company"]


def test_the_engine_reports_the_longest_phrase(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("match: {entity: CODENAME, terms: [Kestrel]}",
                             "match: {entity: CONFIDENTIAL_MARKER, phrases: [kestrel, 'kestrel (plans|notes)']}")
    compiled = load_policy(write_packs(tmp_path, rule))
    text = "the kestrel plans leaked"
    [finding] = [f for f in evaluate(compiled, text).findings if f.rule == "extra.codename"]
    assert text[finding.start:finding.end] == "kestrel plans"


def test_apostrophes_of_either_kind() -> None:
    pattern = phrases_pattern(["don't distribute"])
    assert _spans(pattern, "don't distribute") == ["don't distribute"]
    assert _spans(pattern, "don\u2019t distribute") == ["don\u2019t distribute"]


@pytest.mark.parametrize("phrase", ["... outside", "outside ...", "(the)? company", "a\\d", "(?:a)", "(unclosed", ""])
def test_malformed_phrases_are_refused(phrase: str) -> None:
    with pytest.raises(ValueError):
        phrase_regex(phrase)


def test_a_bad_phrase_is_refused_with_its_line(tmp_path: Path) -> None:
    broken = GOOD_RULE.replace("match: {entity: CODENAME, terms: [Kestrel]}",
                               "match:\n      entity: CODENAME\n      phrases:\n        - kestrel\n        - (unclosed")
    with pytest.raises(PackError) as refused:
        load_packs(write_packs(tmp_path, broken))
    assert refused.value.line == 11 and "unbalanced" in refused.value.reason


def test_a_phrase_rule_reports_the_phrase_at_original_offsets(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("match: {entity: CODENAME, terms: [Kestrel]}",
                             "match: {entity: CONFIDENTIAL_MARKER, phrases: ['(do not|don''t) share ... outside']}")
    rule = rule.replace("examples: {match: [Kestrel is coming], no_match: [a kestrel flew]}",
                        "examples: {match: [DON'T share it outside], no_match: [share it outside]}")
    compiled = load_policy(write_packs(tmp_path, rule))
    text = "Please, DO\u200b NOT share the deck outside!"
    [finding] = [f for f in evaluate(compiled, text).findings if f.rule == "extra.codename"]
    assert text[finding.start:finding.end] == "DO\u200b NOT share the deck outside"


@pytest.mark.parametrize("text", [
    "Please do not share outside the company.", "not for external distribution", "Strictly confidential",
    "معلومات سرية", "المعلومات السرية", "لا تنشر خارج الشركة", "ولا تشاركوها خارج الفريق", "سرية للغاية",
    "אין להפיץ מחוץ לחברה", "מסמכים סודיים", "סודית ביותר", "ולשימוש פנימי בלבד", "אסור להעביר לגורמים חיצוניים",
])
def test_default_pack_finds_ordinary_phrasings(compiled, text: str) -> None:
    assert "CONFIDENTIAL_MARKER" in {f.entity for f in evaluate(compiled, text).findings}


@pytest.mark.parametrize("text", [
    "share this with your friends", "Don't share your password with anyone", "we keep it simple",
    "Confidentiality is our promise to every customer", "Our secret recipe? Good coffee",
    "خدمة سريعة", "سرير مزدوج", "العناية الأسرية", "نحافظ على سرية بياناتكم", "لا تنسوا مشاركة الصور",
    "בית הספר היסודי", "הדרכה יסודית", "שומרים על סודיות", "אל תשכחו לשתף",
])
def test_default_pack_leaves_lookalikes_alone(compiled, text: str) -> None:
    assert "CONFIDENTIAL_MARKER" not in {f.entity for f in evaluate(compiled, text).findings}


def test_a_likely_phrase_asks_one_severity_lower_and_a_certain_one_containing_it_blocks(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("match: {entity: CODENAME, terms: [Kestrel]}",
                             "match: {entity: CONFIDENTIAL_MARKER, likely_phrases: [kestrel],"
                             " phrases: ['kestrel plans']}")
    compiled = load_policy(write_packs(tmp_path, rule))
    [alone] = [f for f in evaluate(compiled, "a kestrel hotline").findings if f.rule == "extra.codename"]
    assert (alone.action, alone.severity, alone.certainty, alone.reason) == (
        Action.REQUIRE_APPROVAL, Severity.MEDIUM, "likely", "no_context")
    [labelled] = [f for f in evaluate(compiled, "the kestrel plans").findings if f.rule == "extra.codename"]
    assert (labelled.action, labelled.severity, labelled.certainty) == (Action.BLOCK, Severity.HIGH, "certain")


@pytest.mark.parametrize(("text", "decision"), [
    ("Our confidential hotline is open 24/7", Action.REQUIRE_APPROVAL),
    ("Confidential information: Q4 numbers", Action.BLOCK),
    ("המתכון הסודי שלנו", Action.REQUIRE_APPROVAL),
    ("מידע סודי", Action.BLOCK),
    ("المكون السري لنجاحنا", Action.REQUIRE_APPROVAL),
    ("معلومات سرية", Action.BLOCK),
])
def test_default_pack_blocks_markers_and_asks_about_marker_words_alone(compiled, text: str, decision: Action) -> None:
    assert evaluate(compiled, text).decision is decision
