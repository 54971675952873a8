"""The `govern policy` CLI contract: JSON Lines in and out, bad lines reported, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from govern.policy.cli import policy


def run(args, stdin: bytes = b""):
    return CliRunner().invoke(policy, args, input=stdin)


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_writes_one_decision_per_line() -> None:
    stdin = "\n".join([
        json.dumps({"id": "a", "text": "رقم الهوية ١٠٢٣٤٥٦٧٨١"}),
        json.dumps({"id": 2, "text": "hello", "account_id": "acct-1"}),
        json.dumps({"id": "m", "text": "", "media": [{"entity": "IMAGE_GPS"}]}),
    ]).encode()
    result = run(["check"], stdin)
    assert result.exit_code == 0, result.output
    a, b, m = lines(result.output)
    assert a == {"id": "a", "decision": "block", "findings": [{
        "entity": "NATIONAL_ID", "kind": "sa_national_id", "rule": "privacy.national-id", "category": "privacy",
        "start": 11, "end": 21, "action": "block", "severity": "critical"}]}
    assert b == {"id": 2, "decision": "allow", "findings": []}
    assert m["decision"] == "require_approval" and m["findings"][0]["media_index"] == 0


def test_bad_lines_get_an_error_and_the_stream_goes_on() -> None:
    stdin = b'not json\n\xff\xfe\n[1,2]\n{"id": 7}\n{"id": 8, "text": "x", "media": "nope"}\n\n{"id": 9, "text": "ok"}\n'
    result = run(["check"], stdin)
    assert result.exit_code == 0
    out = lines(result.output)
    assert [("error" in o) for o in out] == [True, True, True, True, True, False]
    assert out[3]["id"] == 7 and out[-1] == {"id": 9, "decision": "allow", "findings": []}


def test_unreadable_packs_exit_non_zero(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("pack: bad\nformat: 1\nrules: nope\n", encoding="utf-8")
    result = run(["check", "--packs", str(tmp_path)], b'{"id": 1, "text": "x"}\n')
    assert result.exit_code == 2
    assert "bad.yaml:3:" in result.output


def test_test_command_passes_on_the_repository_packs() -> None:
    result = run(["test"])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output


def test_test_command_reports_failing_examples(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("""\
pack: p
format: 1
rules:
  - id: p.term
    category: brand
    description: {en: x, ar: x, he: x}
    match: {entity: BRAND_TERM, terms: [cheap]}
    action: warn
    severity: low
    examples: {match: [expensive], no_match: [so cheap]}
""", encoding="utf-8")
    result = run(["test", "--packs", str(tmp_path)])
    assert result.exit_code == 1
    assert "p.yaml:4 rule p.term: should match but did not: 'expensive'" in result.output
    assert "should NOT match but did: 'so cheap'" in result.output
