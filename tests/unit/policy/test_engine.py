"""Engine decisions: actions, scope, exceptions, embargo dates, clitics, media detections, extra lexicons."""

from __future__ import annotations

import datetime as dt

from govern.policy.engine.evaluation import PolicyContext, check_examples, compile_packs, evaluate
from govern.policy.engine.findings import Action, Detection
from govern.policy.engine.packs import load_packs

from .conftest import PACKS


def test_saudi_id_in_arabic_digits_is_blocked_and_points_at_the_digits(compiled) -> None:
    text = "\u200fبيانات العميل: رقم الهوية \u200e١٠٢٣٤٥٦٧٨١\u200e"
    decision = evaluate(compiled, text)
    assert decision.decision is Action.BLOCK
    [finding] = decision.findings
    assert text[finding.start:finding.end] == "١٠٢٣٤٥٦٧٨١"
    assert finding.as_contract()["kind"] == "sa_national_id" and finding.preview == "********٨١"
    assert decision.pack_version == compiled.version


def test_the_strongest_action_decides(compiled) -> None:
    decision = evaluate(compiled, "Thanks for choosing Acmee! call +972-54-555-0199")
    assert {f.action for f in decision.findings} == {Action.WARN, Action.REQUIRE_APPROVAL}
    assert decision.decision is Action.REQUIRE_APPROVAL
    assert evaluate(compiled, "Have a lovely day").decision is Action.ALLOW


def test_support_number_is_an_exception_in_any_format(compiled) -> None:
    # "call": a national number with no context word is a phone number only where the account or script points.
    for text in ("call support: 03-555-0100", "support: +972 3 555 0100", "support: +97235550100"):
        assert evaluate(compiled, text).findings == (), text
    assert evaluate(compiled, "call support: 03-555-0101").decision is Action.REQUIRE_APPROVAL


def test_embargo_lifts_at_its_date(compiled) -> None:
    before = dt.datetime(2029, 12, 31, tzinfo=dt.timezone.utc)
    after = dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc)
    assert evaluate(compiled, "the Acme Falcon 2 is here", now=before).decision is Action.BLOCK
    assert evaluate(compiled, "the Acme Falcon 2 is here", now=after).decision is Action.ALLOW


def test_clitic_prefixes_and_whole_words(compiled) -> None:
    assert [f.entity for f in evaluate(compiled, "המסמך והסודי").findings] == ["CONFIDENTIAL_MARKER"]
    assert [f.entity for f in evaluate(compiled, "وللاستخدام الداخلي فقط").findings] == ["CONFIDENTIAL_MARKER"]
    assert evaluate(compiled, "בית ספר יסודי").findings == ()        # י is not a clitic
    assert evaluate(compiled, "خدمة سريعة").findings == ()          # سري inside سريعة
    assert evaluate(compiled, "confidentiality first").findings == ()


def test_nested_terms_report_the_longest(compiled) -> None:
    text = "לשימוש פנימי בלבד"
    [finding] = evaluate(compiled, text).findings
    assert (finding.start, finding.end) == (0, len(text))


def test_homoglyph_marker_is_found_at_original_offsets(compiled) -> None:
    text = "ok: cоnfidеntial plan"  # Cyrillic о and е
    [finding] = evaluate(compiled, text).findings
    assert text[finding.start:finding.end] == "cоnfidеntial"


def test_media_detections_go_through_the_rules(compiled) -> None:
    media = [Detection("IMAGE_GPS", 0, 0, media_index=1, detail="32.08N 34.78E"),
             Detection("IMAGE_PROTECTED", 0, 0, media_index=0)]
    decision = evaluate(compiled, "our office", media_detections=media)
    assert decision.decision is Action.BLOCK
    assert [(f.rule, f.media_index) for f in decision.findings] == [
        ("copyright.protected-image", 0), ("privacy.image-gps", 1)]


def test_scope_and_account_exceptions(tmp_path) -> None:
    (tmp_path / "scoped.yaml").write_text("""\
pack: scoped
format: 1
rules:
  - id: scoped.term
    category: brand
    description: {en: x, ar: x, he: x}
    match: {entity: BRAND_TERM, terms: [cheap]}
    scope: {networks: [x], languages: [en]}
    action: warn
    severity: low
    exceptions: {accounts: [outlet]}
    examples: {match: [cheap], no_match: [fine]}
""", encoding="utf-8")
    compiled = compile_packs(load_packs(tmp_path))
    assert evaluate(compiled, "cheap", account=PolicyContext(network="x")).findings
    assert not evaluate(compiled, "cheap", account=PolicyContext(network="linkedin")).findings
    assert not evaluate(compiled, "cheap", account=PolicyContext(network="x", account_id="outlet")).findings
    assert not evaluate(compiled, "cheap", account=PolicyContext(language="he")).findings
    assert evaluate(compiled, "cheap").findings  # unknown context: the rule applies


def test_extra_terms_join_the_one_automaton() -> None:
    packs = load_packs(PACKS)
    compiled = compile_packs(packs, extra_terms=[("confidentiality.codename", f"codename{i:05d}") for i in range(2000)])
    assert compiled.term_count > 2000
    [finding] = evaluate(compiled, "launching codename01234 soon").findings
    assert finding.entity == "CODENAME"


def test_every_rule_example_passes(compiled) -> None:
    assert [f.describe() for f in check_examples(compiled)] == []
