"""The least-privilege policy of docs/operations/vault.md is enough for everything govern does with Vault.

The whole suite's app logs in to OpenBao with an AppRole holding exactly docs/operations/govern-vault-policy.hcl
(tests/conftest.py); these tests pin that, and the parts a missing path used to break: audit signing and verification.
"""

from __future__ import annotations

import pytest

from govern import app_services
from govern.adapters.vault import AppRoleAuth
from govern.audit.service import record
from govern.auth.roles import Role
from tests.support.openbao import GOVERN_POLICY_FILE

pytestmark = pytest.mark.integration
VAULT_DOC = GOVERN_POLICY_FILE.parent / "vault.md"


def test_the_doc_quotes_the_policy_file_word_for_word():
    doc = VAULT_DOC.read_text()
    assert "govern-vault-policy.hcl" in doc
    assert f"```hcl\n{GOVERN_POLICY_FILE.read_text()}```" in doc


def test_the_suites_app_uses_the_documented_policy_not_root(app):
    store = app_services.broker(app).store
    assert isinstance(store._auth, AppRoleAuth)
    identity = store._authenticated().auth.token.lookup_self()["data"]
    assert sorted(identity["policies"]) == ["default", "govern"]


def test_audit_signing_and_verification_work_with_the_documented_policy(app, client, auth_headers, session, actor):
    record(session, actor, "tests:thing:touch", "thing", 1)
    session.commit()
    from govern.audit.tasks import sign_checkpoint_if_due

    with app.app_context():
        assert sign_checkpoint_if_due()["signed"] is not None  # the every-minute job
    verified = client.get("/api/v1/audit/verification", headers=auth_headers(Role.AUDITOR))
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["ok"] is True and verified.get_json()["checkpoints_checked"] >= 1
    rotated = client.post("/api/v1/audit/keys/rotate", json={"reason": "yearly rotation"}, headers=auth_headers(Role.ADMIN))
    assert rotated.status_code == 201, rotated.get_json()
