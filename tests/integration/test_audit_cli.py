"""`govern audit ...` and `govern evidence export` end to end: seal, rotate, stream, export, verify offline."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govern.cli import main

pytestmark = pytest.mark.integration


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def sealed(cli_env):
    assert run("db", "upgrade").exit_code == 0
    for name in ("one", "two", "three"):
        assert run("token", "create", "--name", name, "--role", "auditor").exit_code == 0
    signed = run("audit", "checkpoint")
    assert signed.exit_code == 0 and "signed checkpoint at event 3" in signed.output
    return cli_env


def _tamper(url: str, statement: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text(statement))
    engine.dispose()


def test_checkpoint_rotation_and_published_keys(sealed):
    assert "nothing to sign" in run("audit", "checkpoint").output
    refused = CliRunner().invoke(main, ["audit", "rotate-key"])
    assert refused.exit_code == 2 and "--reason" in refused.output
    rotated = run("audit", "rotate-key", "--reason", "yearly")
    assert rotated.exit_code == 0 and "new signing key local:" in rotated.output
    keys = json.loads(run("audit", "keys", "--json").output)["keys"]
    assert len(keys) == 2 and keys[0]["valid_until"] and keys[1]["valid_until"] is None
    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "3 signed checkpoints verified" not in verified.output
    assert "signed checkpoints verified" in verified.output


def test_a_truncated_tail_is_caught_by_the_cli_with_the_head_rewritten(sealed):
    _tamper(sealed, "DELETE FROM audit_events WHERE seq = 3")
    _tamper(sealed, "UPDATE audit_chain_head SET last_seq = 2, last_hash = (SELECT hash FROM audit_events WHERE seq = 2)")
    broken = CliRunner().invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at event 3" in broken.output and "ends before it" in broken.output


def test_verify_with_a_public_key_file_and_a_swapped_key(sealed, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(run("audit", "keys", "--json").output)
    assert run("audit", "verify", "--public-key", str(keys)).exit_code == 0
    other = {"keys": [{"key_id": json.loads(keys.read_text())["keys"][0]["key_id"],
                       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}]}
    keys.write_text(json.dumps(other))
    broken = CliRunner().invoke(main, ["audit", "verify", "--public-key", str(keys)])
    assert broken.exit_code == 1 and "does not verify" in broken.output


def test_bad_options_are_readable(sealed, tmp_path):
    bad = CliRunner().invoke(main, ["audit", "verify", "--from", "yesterday"])
    assert bad.exit_code == 2 and "neither an event number nor a date" in bad.output
    missing = CliRunner().invoke(main, ["audit", "verify", "--public-key", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    backwards = CliRunner().invoke(main, ["evidence", "export", "--from", "2026-02-01", "--to", "2026-01-01", "-o", "x.zip"])
    assert backwards.exit_code == 2 and "--from must be before --to" in backwards.output
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("hello")
    refused = CliRunner().invoke(main, ["audit", "verify", "--bundle", str(not_zip)])
    assert refused.exit_code == 1 and "not a readable zip" in refused.output and "Traceback" not in refused.output


def test_stream_ships_each_committed_event_once_in_order(sealed, tmp_path):
    target = tmp_path / "siem" / "audit.jsonl"
    assert run("audit", "stream", "--to", f"file:{target}").exit_code == 0
    first = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["seq"] for e in first] == [1, 2, 3]
    assert all(e["prev_hash"] and e["hash"] for e in first) and first[1]["prev_hash"] == first[0]["hash"]
    run("token", "create", "--name", "four", "--role", "auditor")
    assert run("audit", "stream", "--to", f"file:{target}").exit_code == 0
    assert [json.loads(line)["seq"] for line in target.read_text().splitlines()] == [1, 2, 3, 4]
    assert "token" not in "".join(str(e["summary"]) for e in first).lower().replace("token_prefix", "")


def test_evidence_bundle_exports_and_verifies_offline(sealed, tmp_path):
    bundle = tmp_path / "bundle.zip"
    exported = run("evidence", "export", "--from", "2020-01-01", "--to", "2099-01-01", "-o", str(bundle))
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        readme = archive.read("README.md").decode()
    for report in ("access", "leavers", "accounts", "policy", "credentials", "reviews"):
        assert {f"reports/{report}.csv", f"reports/{report}.json", f"reports/{report}.pdf"} <= names
    assert {"audit/events.jsonl", "audit/checkpoints.jsonl", "audit/keys.json", "manifest.sig", "SHA256SUMS"} <= names
    assert manifest["events"]["first_seq"] == 1 and "sha256sum -c SHA256SUMS" in readme
    keys = tmp_path / "keys.json"
    keys.write_text(run("audit", "keys", "--json").output)
    verified = run("audit", "verify", "--bundle", str(bundle), "--public-key", str(keys))
    assert verified.exit_code == 0 and "intact" in verified.output
    # one byte changed in a report: the manifest names the file
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["reports/access.csv"] = files["reports/access.csv"].replace(b",", b";", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    changed = tmp_path / "changed.zip"
    changed.write_bytes(buffer.getvalue())
    refused = CliRunner().invoke(main, ["audit", "verify", "--bundle", str(changed)])
    assert refused.exit_code == 1 and "reports/access.csv does not match its SHA-256" in refused.output


@pytest.mark.parametrize("tampering, expected", [
    (None, "intact: 12 events"),
    ("DELETE FROM audit_events WHERE seq = 7", "BROKEN at event 8: expected event 7 here, found 8"),
    ("UPDATE audit_events SET actor = 'x' WHERE seq = 6", "BROKEN at event 6: content does not match its hash"),
    ("UPDATE audit_events SET prev_hash = repeat('0', 64) WHERE seq = 9", "BROKEN at event 9: prev_hash does not match"),
])
def test_parallel_verification_names_the_same_first_failure(cli_env, monkeypatch, tampering, expected):
    """The trail cut into runs walked by worker processes: links across runs are checked when they are joined."""
    from govern.audit import trail

    run("db", "upgrade")
    for n in range(12):
        run("token", "create", "--name", f"t{n}", "--role", "auditor")
    monkeypatch.setattr(trail, "PARALLEL_FROM_EVENTS", 1)
    if tampering:
        _tamper(cli_env, tampering)
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert expected in result.output, result.output
    assert result.exit_code == (0 if tampering is None else 1)
