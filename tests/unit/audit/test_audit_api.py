"""/api/v1/audit: published keys (no sign-in needed), checkpoints, rotation and a live verification."""

from __future__ import annotations

import base64

from govern.audit.signing import checkpoint_message, signature_valid
from govern.auth.roles import Role

PROBLEM = "application/problem+json"


def test_keys_are_published_to_anyone_and_sign_the_checkpoints(client, auth_headers):
    admin = auth_headers(Role.ADMIN)
    client.post("/api/v1/accounts", json={"network": "x", "handle": "keys_api", "display_name": "مفاتيح"}, headers=admin)
    signed = client.post("/api/v1/audit/checkpoints", headers=admin)
    assert signed.status_code == 201, signed.get_json()
    checkpoint = signed.get_json()
    again = client.post("/api/v1/audit/checkpoints", headers=admin)
    assert again.status_code == 200 and again.get_json()["seq"] == checkpoint["seq"]
    keys = client.get("/api/v1/audit/keys")  # anonymous: verifiers fetch these
    assert keys.status_code == 200
    published = {k["key_id"]: k for k in keys.get_json()["keys"]}
    key = published[checkpoint["key_id"]]
    assert key["algorithm"] == "ed25519" and key["source"] == "vault-transit" and key["valid_until"] is None
    from datetime import datetime

    message = checkpoint_message(checkpoint["seq"], checkpoint["head_hash"],
                                 datetime.fromisoformat(checkpoint["signed_at"]), checkpoint["key_id"])
    assert signature_valid(base64.b64decode(key["public_key"]), base64.b64decode(checkpoint["signature"]), message)
    listed = client.get("/api/v1/audit/checkpoints", headers=auth_headers(Role.AUDITOR)).get_json()
    assert listed[0]["seq"] == checkpoint["seq"]


def test_rotation_needs_a_reason_and_keeps_the_trail_verifiable(client, auth_headers):
    admin = auth_headers(Role.ADMIN)
    refused = client.post("/api/v1/audit/keys/rotate", json={}, headers=admin)
    assert refused.status_code == 422 and refused.content_type == PROBLEM and "reason" in str(refused.get_json())
    rotated = client.post("/api/v1/audit/keys/rotate", json={"reason": "key ceremony"}, headers=admin)
    assert rotated.status_code == 201, rotated.get_json()
    new_key = rotated.get_json()["key_id"]
    verification = client.get("/api/v1/audit/verification", headers=auth_headers(Role.AUDITOR)).get_json()
    assert verification["ok"] is True and verification["first_failure"] is None
    assert verification["checkpoints_checked"] >= 1
    latest = client.get("/api/v1/audit/checkpoints?limit=1", headers=admin).get_json()[0]
    assert latest["key_id"] == new_key


def test_bad_limit_is_a_problem_not_a_500(client, auth_headers):
    response = client.get("/api/v1/audit/checkpoints?limit=0", headers=auth_headers(Role.AUDITOR))
    assert response.status_code == 422 and response.content_type == PROBLEM


def test_published_keys_never_reach_the_signer_for_an_anonymous_caller(client, app, monkeypatch):
    def unreachable():
        raise AssertionError("an anonymous request reached the signer")

    monkeypatch.setattr("govern.audit.api.current_signer", unreachable)
    assert client.get("/api/v1/audit/keys").status_code == 200
