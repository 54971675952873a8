"""Checkpoints signed by a real OpenBao Transit key: govern never holds the private key, rotation keeps history verifiable."""

from __future__ import annotations

import base64

import hvac.exceptions
import pytest
import sqlalchemy as sa

from govern import app_services
from govern.adapters.vault import TokenAuth, VaultStore
from govern.audit import checkpoints, trail
from govern.audit.models import AuditCheckpoint, AuditEvent, AuditSigningKey
from govern.audit.service import record
from govern.audit.signing import SigningUnavailable, TransitSigner, checkpoint_message, signature_valid
from govern.audit.verification import TrustedKey
from govern.secret_value import SecretValue

pytestmark = pytest.mark.integration


KEY = "govern-audit"  # the name docs/operations/govern-vault-policy.hcl grants


def _delete_key(root, name: str) -> None:
    """Root's doing (an operator's mistake, a restore without Transit): govern's policy cannot delete keys."""
    try:
        root.secrets.transit.update_key_configuration(name=name, deletion_allowed=True)
        root.secrets.transit.delete_key(name=name)
    except (hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest):
        pass  # no such key


@pytest.fixture
def transit(openbao):
    root = openbao.client()
    _delete_key(root, KEY)
    yield TransitSigner(openbao.govern_store(), KEY), root, KEY
    _delete_key(root, KEY)


def test_transit_signs_checkpoints_that_verify_with_its_public_key(session, actor, transit):
    signer, root, name = transit
    for n in range(3):
        record(session, actor, "tests:thing:touch", "thing", n)
    signed = checkpoints.sign_checkpoint(session, signer)
    assert signed.key_id == f"transit:{name}:v1"
    key = root.secrets.transit.read_key(name=name)["data"]
    assert key["type"] == "ed25519" and key["exportable"] is False  # the private key cannot leave Vault
    public = base64.b64decode(key["keys"]["1"]["public_key"])
    message = checkpoint_message(signed.seq, signed.head_hash, signed.signed_at, signed.key_id)
    assert signature_valid(public, base64.b64decode(signed.signature), message)
    published = session.scalars(sa.select(AuditSigningKey).where(AuditSigningKey.key_id == signed.key_id)).one()
    assert (published.public_key, published.source) == (key["keys"]["1"]["public_key"], "vault-transit")
    report = trail.verify_stored_trail(session, trail.trusted_keys_from_signer(session, signer))
    assert report.ok and report.checkpoints_checked >= 1


def test_rotating_the_transit_key_keeps_old_checkpoints_verifiable(session, actor, transit):
    signer, root, name = transit
    record(session, actor, "tests:thing:touch", "thing", 1)
    checkpoints.sign_checkpoint(session, signer)
    new = checkpoints.rotate_key(session, actor, signer, "scheduled rotation")
    assert new.key_id == f"transit:{name}:v2"
    used = {c.key_id for c in session.scalars(sa.select(AuditCheckpoint))}
    assert {f"transit:{name}:v1", f"transit:{name}:v2"} <= used
    report = trail.verify_stored_trail(session, trail.trusted_keys_from_signer(session, signer))
    assert report.ok, report.failure


def test_vault_down_means_no_checkpoint_and_a_clear_error(session, actor):
    signer = TransitSigner(VaultStore("http://127.0.0.1:9", TokenAuth(SecretValue("x")), timeout=0.5), "govern-audit")
    record(session, actor, "tests:thing:touch", "thing", 1)
    with pytest.raises(SigningUnavailable, match="Vault Transit key 'govern-audit'"):
        checkpoints.sign_checkpoint(session, signer)


def _key_exists(root, name: str = KEY) -> bool:
    try:
        root.secrets.transit.read_key(name=name)
        return True
    except hvac.exceptions.InvalidPath:
        return False


def test_a_lost_transit_key_is_replaced_by_the_next_signing_audited_and_with_new_ids(session, actor, transit, openbao):
    signer, root, name = transit
    record(session, actor, "tests:thing:touch", "thing", 1)
    first = checkpoints.sign_checkpoint(session, signer)
    assert first.key_id == f"transit:{name}:v1"
    _delete_key(root, name)  # Vault lost it (a restore without Transit, an operator's mistake)

    verifier = TransitSigner(openbao.govern_store(), name)  # `govern audit verify` or the API, in another process
    with pytest.raises(SigningUnavailable, match="no Transit key"):
        trail.trusted_keys_from_signer(session, verifier)
    assert not _key_exists(root, name)  # verification never makes a key

    record(session, actor, "tests:thing:touch", "thing", 2)
    second = checkpoints.sign_checkpoint(session, signer)  # the same signer, on its next attempt: no restart
    assert second is not None and second.key_id == f"transit:{name}:v2"  # never v1 again: that id is the lost key's
    replaced = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit:signing_key:replace")).one()
    assert replaced.summary["before"] == {"key_ids": [f"transit:{name}:v1"]} and replaced.seq <= second.seq
    new_public = root.secrets.transit.read_key(name=name)["data"]["keys"]["2"]["public_key"]
    assert session.scalars(sa.select(AuditSigningKey.public_key).where(AuditSigningKey.key_id == second.key_id)).one() == new_public

    live = trail.verify_stored_trail(session, trail.trusted_keys_from_signer(session, verifier))
    assert not live.ok and f"does not verify with key {first.key_id}" in str(live.failure)  # Vault cannot vouch for it
    published = [TrustedKey(row.key_id, base64.b64decode(row.public_key), row.valid_from, row.valid_until)
                 for row in trail.published_keys(session)]
    assert trail.verify_stored_trail(session, published).ok  # the published keys still prove every checkpoint


def test_the_verification_api_never_creates_the_signing_key(app, session, actor, client, auth_headers, openbao):
    from govern.auth.roles import Role

    root = openbao.client()
    record(session, actor, "tests:thing:touch", "thing", 1)
    assert checkpoints.sign_checkpoint(session, app_services.signer(app)) is not None
    session.commit()
    _delete_key(root, KEY)
    answer = client.get("/api/v1/audit/verification", headers=auth_headers(Role.AUDITOR))
    assert answer.status_code == 503 and "no Transit key" in answer.get_json()["detail"]
    assert not _key_exists(root)


def test_govern_audit_verify_never_creates_the_signing_key(cli_env, openbao, monkeypatch):
    from click.testing import CliRunner

    from govern.cli import main

    for name, value in openbao.govern_settings().items():
        monkeypatch.setenv(f"GOVERN_{name.upper()}", value)
    root = openbao.client()
    _delete_key(root, KEY)
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    assert CliRunner().invoke(main, ["token", "create", "--name", "one-event", "--role", "auditor"]).exit_code == 0
    unsigned = CliRunner().invoke(main, ["audit", "verify"])
    assert unsigned.exit_code == 0 and not _key_exists(root)  # nothing signed yet: no signature to check, no key made
    signed = CliRunner().invoke(main, ["audit", "checkpoint"])  # the signing path makes it
    assert signed.exit_code == 0 and _key_exists(root)
    _delete_key(root, KEY)
    refused = CliRunner().invoke(main, ["audit", "verify"])
    assert refused.exit_code == 1 and "no Transit key" in refused.output and "--public-key" in refused.output
    assert not _key_exists(root)
