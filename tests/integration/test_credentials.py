"""Legacy credentials against OpenBao: storing, TOTP codes, the break-glass checkout, rotation, and a canary."""

from __future__ import annotations

from dataclasses import astuple

import logging
import time
import uuid
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from govern import app_services
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.credentials import service, tasks
from govern.credentials.models import Checkout, LegacyCredential
from govern.db import utcnow
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from tests import factories
from tests.support.canary import haystacks

PASSWORD = "Canary-Pa55word-" + uuid.uuid4().hex
SEED = pyotp.random_base32()
GROUPED_SEED = " ".join(SEED[i:i + 4] for i in range(0, len(SEED), 4)).lower()  # as a network shows it


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


@pytest.fixture
def account(session, actor):
    account = factories.account(session, actor)
    session.commit()
    return account


@pytest.fixture
def person_token(session, actor):
    """A bearer token acting for a new person, with a grant on the account when a grant role is given."""

    def make(account_id: int | None = None, grant: GrantRole | None = GrantRole.PUBLISHER, role: Role = Role.IT):
        person = factories.person(session, actor)
        if grant is not None:
            create_grant(session, actor, person.id, account_id, grant, "social team")
        _, token = create_api_client(session, actor, f"person-{person.id}-{role.value}", role, person.id)
        session.commit()
        return person, {"Authorization": f"Bearer {token.reveal()}"}

    return make


def store(client, admin, account_id, **body):
    response = client.put(f"/api/v1/accounts/{account_id}/credentials", json=body, headers=admin)
    assert response.status_code == 200, response.get_json()
    return response


def events(session, action, account_id):
    session.expire_all()
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(account_id))).all()


@pytest.fixture
def break_glass(client, admin, account, person_token):
    """Credentials stored, a publisher who asks for the password and a governance person who approves."""
    store(client, admin, account.id, username="acme.social@example.com", password=PASSWORD, totp_seed=GROUPED_SEED)
    requester, requester_headers = person_token(account.id, role=Role.GOVERNANCE)
    approver, approver_headers = person_token(grant=None, role=Role.GOVERNANCE)

    def request(window_minutes=15):
        response = client.post(f"/api/v1/accounts/{account.id}/checkouts",
                               json={"reason": "locked out of the app, need the web login", "window_minutes": window_minutes},
                               headers=requester_headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def approve(checkout_id):
        response = client.post(f"/api/v1/checkouts/{checkout_id}/approve", headers=approver_headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return {"account_id": account.id, "requester": requester_headers, "approver": approver_headers,
            "requester_id": requester.id, "request": request, "approve": approve}


def test_store_shows_only_metadata_and_keeps_what_is_not_given(client, admin, account, app, session):
    body = store(client, admin, account.id, username="acme.social", password=PASSWORD, totp_seed=GROUPED_SEED).get_json()
    assert body["has_password"] and body["has_totp"] and body["username"] == "acme.social"
    assert body["rotate_now"] is False and body["active_checkout"] is None and body["last_rotated_at"]
    assert "password" not in body and "totp_seed" not in body
    stored = app_services.broker(app).store.read(f"govern/accounts/{account.id}/legacy")
    assert stored.data["password"].reveal() == PASSWORD and stored.data["totp_seed"].reveal() == SEED

    renamed = store(client, admin, account.id, username="acme.login").get_json()
    assert renamed["store_version"] == body["store_version"] and renamed["has_totp"]
    new_seed = pyotp.random_base32()
    reseeded = store(client, admin, account.id, totp_seed=new_seed).get_json()
    assert reseeded["store_version"] == body["store_version"] + 1
    kept = app_services.broker(app).store.read(f"govern/accounts/{account.id}/legacy").data
    assert kept["password"].reveal() == PASSWORD and kept["totp_seed"].reveal() == new_seed
    assert len(events(session, "credentials:credential:store", account.id)) == 3


@pytest.mark.parametrize("body, detail", [
    ({"password": "x"}, "username"),
    ({"username": "a"}, "password, a TOTP seed"),
    ({"username": "a", "totp_seed": "not base32 at all!"}, "base32"),
    ({"username": "a", "totp_seed": "JBSWY3DP"}, "too short"),
])
def test_invalid_credentials_are_refused_without_echoing_them(client, admin, account, body, detail):
    response = client.put(f"/api/v1/accounts/{account.id}/credentials", json=body, headers=admin)
    assert response.status_code == 422 and detail in response.get_json()["detail"]
    assert "not base32 at all" not in response.get_data(as_text=True)


def test_totp_code_is_computed_server_side_for_anyone_with_a_grant(client, admin, account, person_token, session, actor):
    store(client, admin, account.id, username="acme", totp_seed=GROUPED_SEED)
    _, analyst = person_token(account.id, GrantRole.ANALYST)
    before = time.time()
    response = client.post(f"/api/v1/accounts/{account.id}/credentials/totp", headers=analyst)
    after = time.time()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    totp = pyotp.TOTP(SEED)
    assert body["code"] in {totp.at(before), totp.at(after)} and 1 <= body["valid_for_seconds"] <= 30
    assert set(body) == {"code", "valid_for_seconds"}
    [event] = events(session, "credentials:totp:generate", account.id)
    assert body["code"] not in repr(event.summary) and SEED not in repr(event.summary) and "code" not in event.summary

    _, stranger = person_token(factories.account(session, actor).id)
    refused = client.post(f"/api/v1/accounts/{account.id}/credentials/totp", headers=stranger)
    assert refused.status_code == 403 and "no grant" in refused.get_json()["detail"]
    unlinked = client.post(f"/api/v1/accounts/{account.id}/credentials/totp", headers=admin)
    assert unlinked.status_code == 403 and "not linked" in unlinked.get_json()["detail"]


def test_break_glass_checkout_end_to_end(client, admin, break_glass, person_token, session):
    account_id = break_glass["account_id"]
    checkout_id = break_glass["request"]()
    self_approval = client.post(f"/api/v1/checkouts/{checkout_id}/approve", headers=break_glass["requester"])
    assert self_approval.status_code == 403 and "your own" in self_approval.get_json()["detail"]
    _, it_person = person_token(grant=None, role=Role.IT)
    wrong_role = client.post(f"/api/v1/checkouts/{checkout_id}/approve", headers=it_person)
    assert wrong_role.status_code == 403 and "governance or admin" in wrong_role.get_json()["detail"]
    unlinked = client.post(f"/api/v1/checkouts/{checkout_id}/approve", headers=admin)
    assert unlinked.status_code == 403 and "not linked" in unlinked.get_json()["detail"]

    approved = break_glass["approve"](checkout_id)
    assert approved["state"] == "active" and approved["window_minutes"] == 15
    assert client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin).get_json()["active_checkout"]["id"] == checkout_id

    revealed = client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"])
    assert revealed.status_code == 200 and revealed.get_json()["password"] == PASSWORD
    assert revealed.headers["Cache-Control"] == "no-store" and revealed.get_json()["ends_at"] == approved["ends_at"]
    [reveal_event] = events(session, "credentials:password:reveal", account_id)
    assert reveal_event.summary["checkout_id"] == checkout_id and reveal_event.summary["person_id"] == break_glass["requester_id"]

    checked_in = client.post(f"/api/v1/checkouts/{checkout_id}/check-in", headers=break_glass["requester"])
    assert checked_in.status_code == 200 and checked_in.get_json()["state"] == "checked_in"
    credential = client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin).get_json()
    assert credential["rotate_now"] is True and f"checkout {checkout_id}" in credential["rotate_reason"]
    assert credential["active_checkout"] is None
    assert client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"]).status_code == 409
    [end] = events(session, "credentials:checkout:end", account_id)
    assert end.summary["ended_reason"] == "checked_in" and end.summary["rotate_now"] is True

    rotated = store(client, admin, account_id, password="the-new-" + PASSWORD).get_json()
    assert rotated["rotate_now"] is False and rotated["rotate_reason"] is None


def test_requesting_needs_a_publishing_grant_a_person_and_a_reason(client, admin, break_glass, person_token):
    account_id = break_glass["account_id"]
    _, analyst = person_token(account_id, GrantRole.ANALYST)
    body = {"reason": "need to sign in to the web app"}
    refused = client.post(f"/api/v1/accounts/{account_id}/checkouts", json=body, headers=analyst)
    assert refused.status_code == 403 and "admin or publisher" in refused.get_json()["detail"]
    assert client.post(f"/api/v1/accounts/{account_id}/checkouts", json=body, headers=admin).status_code == 403
    short = client.post(f"/api/v1/accounts/{account_id}/checkouts", json={"reason": "because"}, headers=break_glass["requester"])
    assert short.status_code == 422 and "reason" in short.get_json()["errors"]
    too_long = client.post(f"/api/v1/accounts/{account_id}/checkouts", json={**body, "window_minutes": 241}, headers=break_glass["requester"])
    assert too_long.status_code == 422
    break_glass["request"]()
    again = client.post(f"/api/v1/accounts/{account_id}/checkouts", json=body, headers=break_glass["requester"])
    assert again.status_code == 409 and "still open" in again.get_json()["detail"]


def test_reveal_is_refused_before_approval_to_others_and_after_the_window(client, break_glass, person_token, session):
    account_id = break_glass["account_id"]
    checkout_id = break_glass["request"]()
    early = client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"])
    assert early.status_code == 409 and "approve" in early.get_json()["detail"]
    break_glass["approve"](checkout_id)

    _, colleague = person_token(account_id, GrantRole.ADMIN)
    other = client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=colleague)
    assert other.status_code == 403 and PASSWORD not in other.get_data(as_text=True)
    assert len(events(session, "credentials:password:reveal_refused", account_id)) == 1
    assert client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"]).status_code == 200

    session.execute(sa.update(Checkout).where(Checkout.id == checkout_id).values(ends_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    late = client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"])
    assert late.status_code == 409 and "expired" in late.get_json()["detail"] and PASSWORD not in late.get_data(as_text=True)
    session.expire_all()
    assert session.get(Checkout, checkout_id).ended_reason.value == "expired"
    assert session.scalar(sa.select(LegacyCredential.rotate_now).where(LegacyCredential.account_id == account_id)) is True


def test_expired_checkouts_are_closed_once_and_flag_rotation_once(client, admin, break_glass, session, actor):
    account_id = break_glass["account_id"]
    seen = break_glass["request"]()
    break_glass["approve"](seen)
    client.post(f"/api/v1/checkouts/{seen}/reveal", headers=break_glass["requester"])
    session.execute(sa.update(Checkout).where(Checkout.id == seen).values(ends_at=utcnow() - timedelta(minutes=1)))
    session.commit()

    assert service.close_expired(session, actor) == 1
    assert service.close_expired(session, actor) == 0
    assert tasks.close_expired_checkouts.run() == 0
    session.commit()
    listed = client.get(f"/api/v1/accounts/{account_id}/checkouts", headers=admin).get_json()
    assert [(c["id"], c["state"]) for c in listed] == [(seen, "expired")]
    credential = client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin).get_json()
    assert credential["rotate_now"] is True and credential["active_checkout"] is None
    [end] = events(session, "credentials:checkout:end", account_id)
    assert end.summary == {**end.summary, "checkout_id": seen, "ended_reason": "expired", "rotate_now": True}
    assert end.actor == "test:pytest"


def test_reading_closes_a_run_out_window_and_an_unseen_password_needs_no_rotation(client, admin, break_glass, session):
    account_id = break_glass["account_id"]
    unseen = break_glass["request"]()
    break_glass["approve"](unseen)
    session.execute(sa.update(Checkout).where(Checkout.id == unseen).values(ends_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    credential = client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin).get_json()
    assert credential["active_checkout"] is None and credential["rotate_now"] is False
    [end] = events(session, "credentials:checkout:end", account_id)
    assert end.actor == "system:checkout-expiry" and end.summary["rotate_now"] is False
    assert client.get(f"/api/v1/accounts/{account_id}/checkouts", headers=admin).get_json()[0]["state"] == "expired"
    assert len(events(session, "credentials:checkout:end", account_id)) == 1


def test_deny_refuses_a_pending_checkout_and_cuts_an_open_one_short(client, break_glass, session):
    pending = break_glass["request"]()
    denied = client.post(f"/api/v1/checkouts/{pending}/deny", json={"reason": "use the brokered publish instead"}, headers=break_glass["approver"])
    assert denied.status_code == 200 and denied.get_json()["state"] == "denied"
    assert client.post(f"/api/v1/checkouts/{pending}/approve", headers=break_glass["approver"]).status_code == 409
    assert client.post(f"/api/v1/checkouts/{pending}/reveal", headers=break_glass["requester"]).status_code == 409

    open_one = break_glass["request"]()
    break_glass["approve"](open_one)
    client.post(f"/api/v1/checkouts/{open_one}/reveal", headers=break_glass["requester"])
    cut = client.post(f"/api/v1/checkouts/{open_one}/deny", json={"reason": "suspicious"}, headers=break_glass["approver"])
    assert cut.get_json()["state"] == "denied" and cut.get_json()["end_note"] == "suspicious"
    session.expire_all()
    assert session.scalar(sa.select(LegacyCredential.rotate_now).where(LegacyCredential.account_id == break_glass["account_id"]))


@pytest.fixture
def governance_console(app, session, actor, monkeypatch):
    """A governance console user linked to a person who is not the requester (a second person may end a window)."""
    from govern.auth.service import ensure_console_user
    from tests.support.console import signed_in_client

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    person = factories.person(session, actor, display_name="Omar Haddad")
    user = ensure_console_user(session, actor, f"gov-{person.id}@credentials.test", "Omar Haddad", Role.GOVERNANCE,
                               person_id=person.id)
    session.commit()
    return signed_in_client(app, user.id)


@pytest.mark.parametrize("locale, words", [("en", "You are about to end the password checkout"), ("ar", "أنت على وشك إنهاء")])
def test_ending_an_open_window_in_the_console_asks_first_and_a_second_end_says_who_ended_it(
        break_glass, governance_console, session, locale, words):
    from html import unescape

    open_one = break_glass["request"]()
    break_glass["approve"](open_one)
    url = f"/accounts/{break_glass['account_id']}/checkouts/{open_one}/deny"
    governance_console.post("/locale", data={"locale": locale})
    asked = governance_console.post(url, data={"reason": "suspicious"})
    page = unescape(asked.get_data(as_text=True))
    assert asked.status_code == 200 and words in page and 'name="confirmed" value="1"' in page
    session.expire_all()
    assert session.get(Checkout, open_one).ended_at is None, "asking changes nothing"
    ended = governance_console.post(url, data={"reason": "suspicious", "confirmed": "1"})
    assert ended.status_code == 302
    session.expire_all()
    assert session.get(Checkout, open_one).ended_reason.value == "denied"
    again = governance_console.post(url, data={"reason": "suspicious", "confirmed": "1"}, follow_redirects=True)
    assert again.status_code == 200 and "\u2068Omar Haddad\u2069" in unescape(again.get_data(as_text=True))


def test_denying_a_pending_request_in_the_console_needs_no_confirmation(break_glass, governance_console, session):
    pending = break_glass["request"]()
    denied = governance_console.post(f"/accounts/{break_glass['account_id']}/checkouts/{pending}/deny",
                                     data={"reason": "use the brokered publish instead"})
    assert denied.status_code == 302
    session.expire_all()
    assert session.get(Checkout, pending).ended_reason.value == "denied"


def test_a_compromised_account_ends_checkouts_and_needs_rotation(client, admin, break_glass, session, actor, app):
    from govern.broker.service import mark_compromised

    account_id = break_glass["account_id"]
    checkout_id = break_glass["request"]()
    mark_compromised(session, app_services.broker(app), actor, account_id, "phished")  # the broker's signal
    session.commit()
    assert session.get(Checkout, checkout_id).ended_reason.value == "cancelled"
    credential = client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin).get_json()
    assert credential["rotate_now"] is True and "compromised" in credential["rotate_reason"]


def test_password_and_seed_never_reach_database_logs_audit_or_responses(client, admin, break_glass, person_token, session, caplog):
    caplog.set_level(logging.DEBUG)
    account_id = break_glass["account_id"]
    _, analyst = person_token(account_id, GrantRole.ANALYST)
    responses = [
        store(client, admin, account_id, username="acme", password=PASSWORD, totp_seed=GROUPED_SEED),
        client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin),
        client.post(f"/api/v1/accounts/{account_id}/credentials/totp", headers=analyst),
        client.put(f"/api/v1/accounts/{account_id}/credentials", json={"totp_seed": PASSWORD}, headers=admin),
    ]
    checkout_id = break_glass["request"]()
    responses.append(client.post(f"/api/v1/checkouts/{checkout_id}/approve", headers=break_glass["approver"]))
    reveal = client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=break_glass["requester"])
    assert reveal.get_json()["password"] == PASSWORD, "the canary must have been planted and revealed once"
    responses += [
        client.post(f"/api/v1/checkouts/{checkout_id}/reveal", headers=analyst),
        client.post(f"/api/v1/checkouts/{checkout_id}/check-in", headers=break_glass["requester"]),
        client.get(f"/api/v1/accounts/{account_id}/checkouts", headers=admin),
        client.get(f"/api/v1/accounts/{account_id}/credentials", headers=admin),
        client.get("/api/v1/openapi.json"),
    ]
    session.expire_all()
    database, audit, bodies = astuple(haystacks(session, responses))
    assert events(session, "credentials:password:reveal", account_id), "the reveal must have been audited"
    for secret in (PASSWORD, SEED, GROUPED_SEED, SEED.lower()):
        assert secret not in database, "a secret reached the database"
        assert secret not in caplog.text, "a secret reached the logs"
        assert secret not in audit, "a secret reached an audit event"
        assert secret not in bodies, "a secret reached an HTTP response other than the reveal"


def test_an_80_bit_seed_from_an_older_network_works(client, session, actor, auth_headers):
    """Many networks still issue 16-character (80-bit) seeds; pyotp refuses them, RFC 6238 does not."""
    from govern.credentials.service import normalise_totp_seed
    from govern.secret_value import SecretValue

    from govern.credentials.service.logins import _totp

    short = "JBSW Y3DP EHPK 3PXP"
    assert normalise_totp_seed(SecretValue(short)).reveal() == "JBSWY3DPEHPK3PXP"
    assert len(_totp("JBSWY3DPEHPK3PXP").generate(1_700_000_000).decode()) == 6
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890" at T=59 s: 94287082, of which 6 digits are 287082
    assert _totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").generate(59) == b"287082"
