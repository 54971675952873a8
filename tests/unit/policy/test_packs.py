"""Pack loading: the repository's packs load; bad packs are refused with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from govern.policy.engine.evaluation import evaluate, load_policy
from govern.policy.engine.packs import PackError, load_packs

from tests.support.policy_packs import GOOD_RULE, PACKS, write_packs

def test_repository_packs_load_with_a_content_hash() -> None:
    packs = load_packs(PACKS)
    assert {p.name for p in packs.packs} == {"privacy", "confidentiality", "copyright", "brand"}
    assert packs.version.startswith("sha256:") and len(packs.version) == 23
    assert load_packs(PACKS).version == packs.version


def test_version_changes_with_content(tmp_path: Path) -> None:
    before = load_packs(write_packs(tmp_path, GOOD_RULE)).version
    (tmp_path / "extra.yaml").write_text(GOOD_RULE.replace("Kestrel]", "Kestrel, Osprey]"), encoding="utf-8")
    assert load_packs(tmp_path).version != before


@pytest.mark.parametrize(("broken", "line", "reason"), [
    (GOOD_RULE.replace("action: block", "action: deny"), 8, "'deny' is not one of"),
    (GOOD_RULE.replace("    severity: high\n", ""), 4, "'severity' is a required property"),
    (GOOD_RULE.replace("terms: [Kestrel]", "patterns: ['(?<=x)y']"), 7, "not valid RE2"),
    (GOOD_RULE.replace("terms: [Kestrel]", "lexicons: [nope]"), 7, "unknown lexicon 'nope'"),
    (GOOD_RULE.replace("description: {en: codename, ar: اسم رمزي, he: שם קוד}", "description: {en: codename}"), 6,
     "'ar' is a required property"),
    (GOOD_RULE.replace("match: {entity: CODENAME, terms: [Kestrel]}", "match: {detector: NATIONAL_ID, kinds: [xx_id]}"),
     7, "unknown kinds ['xx_id']"),
    (GOOD_RULE + "  - [unclosed\n", 12, "invalid YAML"),
    (GOOD_RULE.replace("    action: block\n", "    action: block\n    action: warn\n"), 9, "duplicate key 'action'"),
])
def test_bad_pack_is_refused_with_file_line_and_reason(tmp_path: Path, broken: str, line: int, reason: str) -> None:
    with pytest.raises(PackError) as refused:
        load_packs(write_packs(tmp_path, broken))
    assert refused.value.path.endswith("extra.yaml")
    assert refused.value.line == line, str(refused.value)
    assert reason in refused.value.reason
    assert str(refused.value).startswith(f"{refused.value.path}:{line}: ")


def test_duplicate_rule_ids_across_packs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PackError) as refused:
        load_packs(write_packs(tmp_path, GOOD_RULE.replace("  - id: extra.codename", "  - id: privacy.phone")))
    # extra.yaml sorts first, so the clash is reported where privacy.yaml repeats the id
    assert refused.value.path.endswith("privacy.yaml") and "also used at extra.yaml:4" in refused.value.reason
    assert refused.value.line > 0


def test_a_failed_reload_leaves_the_previous_engine_usable(tmp_path: Path) -> None:
    directory = write_packs(tmp_path, GOOD_RULE)
    current = load_policy(directory)
    (directory / "extra.yaml").write_text(GOOD_RULE.replace("format: 1", "format: 2"), encoding="utf-8")
    with pytest.raises(PackError, match="format: 1 was expected") as refused:
        current = load_policy(directory)
    assert refused.value.path.endswith("extra.yaml") and refused.value.line == 2
    assert evaluate(current, "Kestrel is coming").decision.value == "block"


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no \\*.yaml"):
        load_packs(tmp_path)
