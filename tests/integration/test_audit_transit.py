"""Checkpoints signed by a real OpenBao Transit key: govern never holds the private key, rotation keeps history verifiable."""

from __future__ import annotations

import base64

import hvac.exceptions
import pytest
import sqlalchemy as sa

from govern.adapters.vault import TokenAuth, VaultStore
from govern.audit import checkpoints
from govern.audit.models import AuditCheckpoint, AuditSigningKey
from govern.audit.service import record
from govern.audit.signing import SigningUnavailable, TransitSigner, checkpoint_message, signature_valid
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
    report = checkpoints.verify_stored_trail(session, checkpoints.trusted_keys_from_signer(session, signer))
    assert report.ok and report.checkpoints_checked >= 1


def test_rotating_the_transit_key_keeps_old_checkpoints_verifiable(session, actor, transit):
    signer, root, name = transit
    record(session, actor, "tests:thing:touch", "thing", 1)
    checkpoints.sign_checkpoint(session, signer)
    new = checkpoints.rotate_key(session, actor, signer, "scheduled rotation")
    assert new.key_id == f"transit:{name}:v2"
    used = {c.key_id for c in session.scalars(sa.select(AuditCheckpoint))}
    assert {f"transit:{name}:v1", f"transit:{name}:v2"} <= used
    report = checkpoints.verify_stored_trail(session, checkpoints.trusted_keys_from_signer(session, signer))
    assert report.ok, report.failure


def test_vault_down_means_no_checkpoint_and_a_clear_error(session, actor):
    signer = TransitSigner(VaultStore("http://127.0.0.1:9", TokenAuth(SecretValue("x")), timeout=0.5), "govern-audit")
    record(session, actor, "tests:thing:touch", "thing", 1)
    with pytest.raises(SigningUnavailable, match="Vault Transit key 'govern-audit'"):
        checkpoints.sign_checkpoint(session, signer)
