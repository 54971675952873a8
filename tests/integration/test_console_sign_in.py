"""Console sign-in against a real slapd (LDAP bind, groups to roles) and a loopback OpenID Connect provider; the
break-glass link for admins only; a leaver's session ending on the next request."""

from __future__ import annotations

import html
import json
import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import ldap3
import pytest
import requests
import sqlalchemy as sa
import structlog
from click.testing import CliRunner

from govern import create_app
from govern.adapters.ldap import connection as ldap_connection, directory as ldap_directory, entries as ldap_entries
from govern.adapters.ldap import openldap as ldap_openldap
from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.audit.trail import verify_chain
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user, issue_login_link
from govern.cli import main
from govern.config import CONSOLE_ROLES, ConfigurationError, load_settings
from govern.errors import InvalidOperation
from govern.extensions import db
from govern.people.models import Person, PersonSource, PersonStatus
from govern.people.service import upsert_person
from tests.support.console import redeem_link
from tests.support.fake_oidc import FakeOidcProvider

PEOPLE = "ou=people,dc=example,dc=com"
GROUPS = "ou=groups,dc=example,dc=com"
ADMINS = f"cn=signin-admins,{GROUPS}"
IT = f"cn=signin-it,{GROUPS}"
AUDITORS = f"cn=signin-auditors,{GROUPS}"
UNMAPPED = f"cn=signin-unmapped,{GROUPS}"
MAX_FAILURES = 3
SETUP = Actor.system("sign-in-test")


@pytest.fixture(scope="module", autouse=True)
def _uncached_directory_log():
    """structlog caches a module's logger on first use, after which structlog.testing.capture_logs() no longer sees
    it; test_ldap_directory.py captures the adapter's events, so this module logs through a stand-in and leaves the
    adapter's own logger as it found it."""
    patch = pytest.MonkeyPatch()
    for module in (ldap_connection, ldap_entries, ldap_openldap, ldap_directory):
        patch.setattr(module, "log", structlog.get_logger("govern.directory.ldap"))
    yield
    patch.undo()


@pytest.fixture(scope="module")
def oidc_provider():
    with FakeOidcProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def ldap_groups(slapd):
    """Groups the role mapping names, and one it does not; groupOfNames needs a member, so each starts with govern's."""
    admin = slapd.connection("admin")
    for dn in (ADMINS, IT, AUDITORS, UNMAPPED):
        admin.add(dn, ["groupOfNames"], {"cn": dn.split(",")[0][3:], "member": [slapd.bind_dn]})
    yield
    for dn in (ADMINS, IT, AUDITORS, UNMAPPED):
        admin.delete(dn)
    admin.unbind()


@pytest.fixture(scope="module")
def app(database_url, slapd, oidc_provider, ldap_groups, tmp_path_factory):
    """Overrides the shared app: LDAP sign-in against slapd and OIDC sign-in against the loopback provider."""
    return create_app({
        "database_url": database_url, "secret_key": "s" * 40, "secure_cookies": False,
        "instance_path": tmp_path_factory.mktemp("sign-in"), "log_format": "json",
        "ldap_url": slapd.url, "ldap_bind_dn": slapd.bind_dn, "ldap_bind_password": slapd.bind_password,
        "ldap_base_dn": PEOPLE, "ldap_group_dn": slapd.group_dn,
        # admin first: someone in both groups is an admin
        "console_role_groups": json.dumps({ADMINS: "admin", IT: "it", AUDITORS: "auditor"}),
        "sign_in_max_failures": MAX_FAILURES,
        "oidc_issuer": oidc_provider.issuer, "oidc_client_id": oidc_provider.client_id,
        "oidc_client_secret": oidc_provider.client_secret, "oidc_provider_name": "Okta",
        "oidc_role_map": json.dumps({"govern-it": "it", "govern-governance": "governance"}),
    })


@pytest.fixture
def session(app):
    """Overrides the shared fixture: a session outside any app context, so every request gets its own `g` as in
    production (flask-wtf keeps the CSRF token there; a shared `g` would hand one browser's token to another)."""
    with app.app_context():
        maker = db.sessionmaker  # bound by the autouse fixture to this test's transaction
    with maker() as own:
        yield own


@pytest.fixture
def directory_people(slapd):
    """Make people in slapd (in the entitlement group, and in the groups given); all are removed after the test."""
    admin = slapd.connection("admin")
    made: list[tuple[str, list[str]]] = []

    def make(name: str, groups: list[str] = (), password: str = "correct horse", **attributes) -> str:
        uid = f"signin.{name}.{uuid.uuid4().hex[:6]}"
        dn = f"uid={uid},{PEOPLE}"
        admin.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": name, "sn": "Test", "displayName": name, "mail": f"{uid}@example.com",
                                          "userPassword": password, **attributes})
        for group in [slapd.group_dn, *groups]:
            admin.modify(group, {"member": [(ldap3.MODIFY_ADD, [dn])]})
        made.append((dn, [slapd.group_dn, *groups]))
        return uid

    yield make
    for dn, groups in made:
        for group in groups:
            admin.modify(group, {"member": [(ldap3.MODIFY_DELETE, [dn])]})
        admin.delete(dn)
    admin.unbind()


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)


def sign_in(client, username: str, password: str, next_url: str = "", **kwargs):
    form = {"csrf_token": _csrf(client), "username": username, "password": password, "next": next_url}
    return client.post("/login", data=form, headers={"Accept-Language": "en"}, **kwargs)


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _signed_in(client) -> bool:
    return client.get("/people").status_code == 200


# -- LDAP -------------------------------------------------------------------------------------------------------------


def test_directory_password_signs_in_with_the_role_of_the_group(client, session, directory_people):
    uid = directory_people("lina", [IT])
    response = sign_in(client, uid, "correct horse", next_url="/people?q=x")
    assert response.status_code == 302 and response.headers["Location"] == "/people?q=x"
    assert _signed_in(client)

    user = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.email == f"{uid}@example.com"))
    person = session.get(Person, user.person_id)
    assert user.role == Role.IT and user.display_name == "lina" and user.last_sign_in_at is not None
    assert person.source == PersonSource.OPENLDAP and person.username == uid and len(person.external_id) == 36  # entryUUID
    signed_in = _events(session, "auth:session:sign_in")[-1]
    assert signed_in.actor == f"console_user:{user.id}" and signed_in.summary["method"] == "ldap"
    assert _events(session, "people:person:create")[-1].target_id == str(person.id)  # not synced yet: created now
    assert "correct horse" not in json.dumps([e.summary for e in session.scalars(sa.select(AuditEvent))])
    assert verify_chain(session).ok


def test_the_first_mapped_group_decides_and_the_role_follows_the_directory(client, session, slapd, directory_people):
    uid = directory_people("omar", [IT, ADMINS])
    assert sign_in(client, uid, "correct horse").status_code == 302
    user = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.email == f"{uid}@example.com"))
    assert user.role == Role.ADMIN

    admin = slapd.connection("admin")
    admin.modify(ADMINS, {"member": [(ldap3.MODIFY_DELETE, [f"uid={uid},{PEOPLE}"])]})
    admin.unbind()
    try:
        fresh = client.application.test_client()
        assert sign_in(fresh, uid, "correct horse").status_code == 302
        session.expire_all()
        assert session.get(ConsoleUser, user.id).role == Role.IT
        update = _events(session, "auth:console_user:update")[-1]
        assert update.summary["before"] == {"role": "admin"} and update.summary["after"] == {"role": "it"}
        # the admin session started before the change ends; the new sign-in's session works
        assert not _signed_in(client) and _signed_in(fresh)
        ended = _events(session, "auth:session:end_all")[-1]
        assert ended.target_id == str(user.id) and ended.summary["reason"] == "role_change" and ended.summary["sessions_ended"] == 1
    finally:
        admin = slapd.connection("admin")
        admin.modify(ADMINS, {"member": [(ldap3.MODIFY_ADD, [f"uid={uid},{PEOPLE}"])]})  # so the fixture can remove it
        admin.unbind()


def _counted(caplog, counter: str, reason: str) -> int:
    """Lines of govern.metrics counting `counter` with `reason` (refused noise is counted, not audited)."""
    return sum(1 for record in caplog.records if record.name == "govern.metrics"
               and f"'counter': '{counter}'" in record.getMessage() and f"'reason': '{reason}'" in record.getMessage())


def test_wrong_and_empty_passwords_are_refused(client, session, directory_people, caplog):
    uid = directory_people("noa", [IT])
    wrong = sign_in(client, uid, "wrong horse")
    assert wrong.status_code == 400 and "username or password is wrong" in _text(wrong)
    # anybody can type a wrong password: counted, never an audit event
    assert _events(session, "auth:session:sign_in_refused") == []
    assert _counted(caplog, "sign_in_refused", "bad_credentials") == 1
    assert "wrong horse" not in caplog.text

    empty = sign_in(client, uid, "")
    assert empty.status_code == 400 and "Enter your username and password." in _text(empty)
    assert not _signed_in(client)


def test_a_person_in_no_mapped_group_is_told_so(client, session, directory_people):
    uid = directory_people("sara", [UNMAPPED])
    response = sign_in(client, uid, "correct horse")
    assert response.status_code == 403 and "not in any group that gives access" in _text(response)
    assert _events(session, "auth:session:sign_in_refused")[-1].summary["reason"] == "no_role"
    assert session.scalar(sa.select(ConsoleUser).where(ConsoleUser.email == f"{uid}@example.com")) is None
    # the person the refused attempt would have created is not left behind either
    assert session.scalar(sa.select(Person).where(Person.username == uid)) is None


@pytest.mark.parametrize("username", ["*", "signin.*", "*)(uid=*", "x)(|(objectClass=*)", "admin\\2a", "*)(%00", "\u0000"])
def test_injection_in_the_username_signs_nobody_in(client, directory_people, username):
    directory_people("dana", [ADMINS])
    response = sign_in(client, username, "correct horse")
    assert response.status_code == 400
    assert not _signed_in(client)


def test_a_terminated_person_cannot_sign_in(client, session, directory_people):
    uid = directory_people("yossi", [IT], employeeType="terminated")
    response = sign_in(client, uid, "correct horse")
    assert response.status_code == 400 and not _signed_in(client)
    assert _events(session, "auth:session:sign_in_refused") == []  # the directory's answer is the same as a wrong password


def test_a_leaver_in_govern_is_refused_even_if_the_directory_still_lets_them_bind(client, session, slapd, directory_people):
    uid = directory_people("amal", [IT])
    entry = slapd.connection("admin")
    entry.search(f"uid={uid},{PEOPLE}", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["entryUUID"])
    key = str(entry.entries[0].entryUUID).lower()
    entry.unbind()
    person = upsert_person(session, SETUP, PersonSource.OPENLDAP, key, username=uid, display_name="amal", email=None)
    person.status = PersonStatus.LEAVER
    session.commit()
    response = sign_in(client, uid, "correct horse")
    assert response.status_code == 403 and "have left the company" in _text(response)


def test_refused_attempts_are_rate_limited_per_username_and_address(client, session, directory_people):
    uid = directory_people("rami", [IT])
    for _ in range(MAX_FAILURES):
        assert sign_in(client, uid, "guess").status_code == 400
    limited = sign_in(client, uid, "correct horse")  # the right password no longer helps from here
    assert limited.status_code == 429 and "Too many failed sign-ins for this username" in _text(limited)
    assert 0 < int(limited.headers["Retry-After"]) <= 900
    assert sign_in(client, uid, "correct horse").status_code == 429
    # one aggregated event for the address, not one per refusal
    [event] = _events(session, "auth:session:sign_in_refused")
    assert (event.target_type, event.target_id, event.client_addr) == ("sign_in_limit", "127.0.0.1", "127.0.0.1")
    assert event.summary == {**event.summary, "reason": "rate_limited", "limited_by": "name", "method": "ldap",
                             "refused_in_window": MAX_FAILURES, "window_seconds": 900}

    elsewhere = client.application.test_client()
    response = sign_in(elsewhere, uid, "correct horse", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 302


def test_a_thousand_bad_sign_ins_add_at_most_a_handful_of_audit_events(client, session, directory_people, caplog):
    directory_people("victim", [ADMINS])
    before = session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.seq), 0)))
    token = _csrf(client)
    statuses = []
    for n in range(1000):
        # a spray: every attempt a new name, from one address for the first half and from a new address each after
        address = "203.0.113.9" if n < 500 else f"10.{n // 250}.{(n // 10) % 25}.{n % 250}"
        form = {"csrf_token": token, "username": f"guess{n}", "password": "Winter2026!", "next": ""}
        statuses.append(client.post("/login", data=form, environ_base={"REMOTE_ADDR": address}).status_code)
    assert 500 not in statuses and set(statuses) == {400, 429}
    added = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)))
    assert [(e.target_type, e.target_id, e.summary["limited_by"]) for e in added] == [
        ("sign_in_limit", "203.0.113.9", "address"),  # "20 refused sign-ins from 203.0.113.9 within 900 s"
        ("sign_in_limit", "*", "everyone"),  # then the global limit stops the spray from many addresses
    ]
    assert all(e.action == "auth:session:sign_in_refused" and e.summary["reason"] == "rate_limited" for e in added)
    assert added[0].summary["refused_in_window"] == 20 and added[1].summary["refused_in_window"] == 200
    assert statuses.count(400) == 200  # the directory was asked 200 times, not 1,000
    assert "Winter2026!" not in caplog.text


def test_the_password_form_needs_its_csrf_token(client, directory_people):
    uid = directory_people("hadi", [IT])
    response = client.post("/login", data={"username": uid, "password": "correct horse"})
    assert response.status_code == 400 and not _signed_in(client)


# -- OpenID Connect ---------------------------------------------------------------------------------------------------


def _person(session, name: str, status: PersonStatus = PersonStatus.ACTIVE) -> Person:
    person = upsert_person(session, SETUP, PersonSource.MANUAL, f"oidc-{name}-{uuid.uuid4().hex[:6]}", username=name,
                           email=f"{name}@example.com", display_name=name.title())
    person.status = status
    session.commit()
    return person


def _authorize(client, next_url: str | None = None) -> str:
    """Start at govern and follow the provider's redirect; the callback URL govern would be sent to (path only)."""
    started = client.get("/login/oidc" + (f"?next={next_url}" if next_url else ""))
    assert started.status_code == 302
    return _at_provider(started.headers["Location"])


def _at_provider(authorize_url: str) -> str:
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    return f"{callback.path}?{callback.query}"


def _with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def test_oidc_signs_in_the_person_its_email_names_with_the_mapped_role(client, session, oidc_provider):
    person = _person(session, "layla")
    oidc_provider.set_user(sub="okta|layla", email="Layla@Example.com", email_verified=True, name="ليلى منصور",
                           groups=["everyone", "govern-governance"])
    response = client.get(_authorize(client, next_url="/people"))
    assert response.status_code == 302 and response.headers["Location"] == "/people"
    assert _signed_in(client)
    user = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.person_id == person.id))
    assert user.role == Role.GOVERNANCE and user.display_name == "ليلى منصور" and user.email == "layla@example.com"
    assert _events(session, "auth:session:sign_in")[-1].summary["method"] == "oidc"


def test_oidc_groups_from_userinfo_when_the_id_token_lacks_them(client, session, oidc_provider):
    person = _person(session, "karim")
    oidc_provider.set_user(sub="okta|karim", email="karim@example.com", name="Karim", groups=["govern-it"],
                           groups_in_userinfo_only=True)
    before = oidc_provider.stats["userinfo"]
    assert client.get(_authorize(client)).status_code == 302 and _signed_in(client)
    assert oidc_provider.stats["userinfo"] == before + 1
    assert session.scalar(sa.select(ConsoleUser.role).where(ConsoleUser.person_id == person.id)) == Role.IT


def test_oidc_callback_with_a_wrong_or_missing_state_is_refused(client, oidc_provider):
    oidc_provider.set_user(sub="okta|nobody", email="nobody@example.com", groups=["govern-it"])
    tokens_before = oidc_provider.stats["token"]
    callback = _authorize(client)
    response = client.get(_with_param(callback, state="forged-state"), headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "did not start here" in _text(client.get("/login"))
    assert client.get(callback).status_code == 302 and not _signed_in(client)  # the attempt was used up
    assert oidc_provider.stats["token"] == tokens_before  # the code was never redeemed

    stranger = client.application.test_client()  # a callback that never started in this browser
    assert stranger.get(callback).headers["Location"] == "/login"
    assert not _signed_in(stranger)


def test_oidc_id_token_with_another_nonce_is_refused(client, session, oidc_provider, caplog):
    _person(session, "nadia")
    oidc_provider.set_user(sub="okta|nadia", email="nadia@example.com", groups=["govern-it"])
    started = client.get("/login/oidc")
    # an attacker's authorization (another nonce) spliced into this browser's sign-in
    callback = _at_provider(_with_param(started.headers["Location"], nonce="someone-elses-nonce"))
    response = client.get(callback, headers={"Accept-Language": "en"})
    assert response.status_code == 302 and not _signed_in(client)
    assert "did not pass govern's checks" in _text(client.get("/login"))
    assert _events(session, "auth:session:sign_in_refused") == []  # who sent it is unknown: counted, not audited
    assert _counted(caplog, "sign_in_refused", "id_token_rejected") == 1
    assert any("Invalid claim: 'nonce'" in record.getMessage() for record in caplog.records)


def test_oidc_id_token_not_signed_by_the_providers_published_key_is_refused(client, session, oidc_provider, caplog):
    _person(session, "tamar")
    oidc_provider.set_user(sub="okta|tamar", email="tamar@example.com", groups=["govern-it"])
    oidc_provider.forge_next_id_token()
    assert client.get(_authorize(client)).status_code == 302 and not _signed_in(client)
    assert _counted(caplog, "sign_in_refused", "id_token_rejected") == 1
    assert any("bad_signature" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("claims, why", [
    ({"aud": ["someone-else"]}, "aud"), ({"iss": "https://idp.evil.example"}, "iss"), ({"exp": 1_000_000}, "expired"),
])
def test_oidc_id_token_for_another_client_issuer_or_time_is_refused(client, session, oidc_provider, caplog, claims, why):
    _person(session, "eli")
    oidc_provider.set_user(sub="okta|eli", email="eli@example.com", groups=["govern-it"])
    oidc_provider.tamper_next_id_token(**claims)
    assert client.get(_authorize(client)).status_code == 302 and not _signed_in(client)
    assert any("id token refused" in record.getMessage() and why in record.getMessage() for record in caplog.records)


def test_oidc_picks_up_a_rotated_signing_key(client, session, oidc_provider):
    _person(session, "yael")
    oidc_provider.set_user(sub="okta|yael", email="yael@example.com", groups=["govern-it"])
    assert client.get(_authorize(client)).status_code == 302
    oidc_provider.rotate_key()
    again = client.application.test_client()
    assert again.get(_authorize(again)).status_code == 302 and _signed_in(again)


def test_oidc_unmapped_claim_is_refused_with_a_clear_message(client, session, oidc_provider):
    _person(session, "fadi")
    oidc_provider.set_user(sub="okta|fadi", email="fadi@example.com", groups=["everyone", "Govern-IT"])  # case matters
    client.get(_authorize(client))
    assert not _signed_in(client)
    assert "not in any group that gives access" in _text(client.get("/login", headers={"Accept-Language": "en"}))
    refused = _events(session, "auth:session:sign_in_refused")[-1]
    assert refused.target_id == "okta|fadi" and refused.summary["reason"] == "no_role" and refused.summary["person"] == "fadi@example.com"


@pytest.mark.parametrize("case, reason", [("leaver", "leaver"), ("unknown", "unknown_person"), ("unverified", "email_unverified")])
def test_oidc_refuses_leavers_strangers_and_unverified_email(client, session, oidc_provider, case, reason):
    _person(session, "gil", PersonStatus.LEAVER if case == "leaver" else PersonStatus.ACTIVE)
    email = "stranger@example.com" if case == "unknown" else "gil@example.com"
    oidc_provider.set_user(sub=f"okta|{case}", email=email, email_verified=case != "unverified", groups=["govern-it"])
    client.get(_authorize(client))
    assert not _signed_in(client)
    assert _events(session, "auth:session:sign_in_refused")[-1].summary["reason"] == reason


# -- the break-glass link, the page, and sessions that end -----------------------------------------------------------


def test_login_link_is_refused_for_a_non_admin_at_redeem_time(client, session):
    ensure_console_user(session, SETUP, "it-glass@example.com", "IT", Role.IT)
    ensure_console_user(session, SETUP, "admin-glass@example.com", "Admin", Role.ADMIN)
    with pytest.raises(InvalidOperation, match="break-glass"):
        issue_login_link(session, SETUP, "it-glass@example.com", 900, admin_only=True)
    code = issue_login_link(session, SETUP, "it-glass@example.com", 900).reveal()  # issued before directory sign-in
    admin_code = issue_login_link(session, SETUP, "admin-glass@example.com", 900, admin_only=True).reveal()
    session.commit()

    refused = redeem_link(client, code, headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and "only for administrators" in _text(refused)
    assert not _signed_in(client)
    assert _events(session, "auth:session:sign_in_refused")[-1].summary["reason"] == "not_break_glass"
    assert redeem_link(client, admin_code).status_code == 302 and _signed_in(client)


def test_cli_refuses_a_login_link_for_a_non_admin_when_directory_sign_in_is_on(scratch_postgres, tmp_path, monkeypatch, oidc_provider):
    url = scratch_postgres.create("govern_glass")
    for name, value in {"DATABASE_URL": url, "SECRET_KEY": "g" * 40, "INSTANCE_PATH": str(tmp_path), "OIDC_ISSUER": oidc_provider.issuer,
                        "OIDC_CLIENT_ID": "govern-console", "OIDC_CLIENT_SECRET": "x"}.items():
        monkeypatch.setenv(f"GOVERN_{name}", value)
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        for email, role in (("it@example.com", "it"), ("root@example.com", "admin")):
            assert runner.invoke(main, ["console", "create-user", "--email", email, "--name", role, "--role", role]).exit_code == 0
        refused = runner.invoke(main, ["console", "login-link", "--email", "it@example.com"])
        assert refused.exit_code == 1 and "break-glass for admin users" in refused.output
        issued = runner.invoke(main, ["console", "login-link", "--email", "root@example.com"])
        assert issued.exit_code == 0 and "/login/" in issued.output
    finally:
        scratch_postgres.drop(url)


def test_a_leavers_session_ends_on_the_next_request(client, session, directory_people):
    uid = directory_people("mira", [AUDITORS])
    assert sign_in(client, uid, "correct horse").status_code == 302 and _signed_in(client)
    user = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.email == f"{uid}@example.com"))
    session.get(Person, user.person_id).status = PersonStatus.LEAVER  # departed; console user not (yet) disabled
    session.commit()
    response = client.get("/people")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert session.get(ConsoleUser, user.id).disabled_at is None


def test_the_sign_in_page_offers_what_is_configured_in_every_language(client):
    page = _text(client.get("/login", headers={"Accept-Language": "en"}))
    assert 'action="/login"' in page and 'type="password"' in page and 'autocomplete="current-password"' in page
    assert "Sign in with \u2068Okta\u2069" in page and 'href="/login/oidc"' in page
    assert "Emergency access for administrators" in page and "does not use passwords" not in page
    for locale in ("ar", "he"):
        localized = _text(client.get("/login", headers={"Accept-Language": locale}))
        assert f'lang="{locale}" dir="rtl"' in localized and 'type="password"' in localized


def test_public_sign_in_routes_answer_bad_input_without_401_or_403(client):
    assert client.post("/login", data={"csrf_token": _csrf(client)}).status_code == 400
    assert client.get("/login/oidc/callback").status_code == 302
    assert client.get("/login/oidc/callback?state=x&code=y").status_code == 302
    assert client.get("/login/oidc/callback?state=%C3%A9t%C3%A9&code=y").status_code == 302  # not ASCII: still no 500
    assert client.get("/login/not-a-code").status_code == 200  # only the page with its button
    assert redeem_link(client, "not-a-code").status_code == 400


# -- settings ---------------------------------------------------------------------------------------------------------


def test_console_roles_in_settings_match_the_role_table():
    assert set(CONSOLE_ROLES) == {role.value for role in Role} - {Role.SCIM.value}


@pytest.mark.parametrize("variable, value, message", [
    ("GOVERN_CONSOLE_ROLE_GROUPS", '{"cn=x": "scim"}', "unknown console roles scim"),
    ("GOVERN_CONSOLE_ROLE_GROUPS", "[1, 2]", "GOVERN_CONSOLE_ROLE_GROUPS"),
    ("GOVERN_OIDC_ROLE_MAP", "{not json", "must be a JSON object"),
    ("GOVERN_OIDC_ISSUER", "http://idp.example.com", "https://"),
    ("GOVERN_OIDC_SCOPES", "email profile", "must include openid"),
])
def test_bad_sign_in_settings_name_the_variable(variable, value, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load_settings(environ={variable: value})


def test_oidc_needs_its_client_credentials():
    with pytest.raises(ConfigurationError, match="GOVERN_OIDC_CLIENT_ID"):
        load_settings(environ={"GOVERN_OIDC_ISSUER": "https://idp.example.com"})
    settings = load_settings(environ={"GOVERN_OIDC_ISSUER": "https://idp.example.com/", "GOVERN_OIDC_CLIENT_ID": "c",
                                      "GOVERN_OIDC_CLIENT_SECRET_FILE": "/run/secrets/oidc"})
    assert settings.oidc_issuer == "https://idp.example.com/" and settings.login_links_admin_only  # kept as spelled
