"""The LDAP directory adapter against a real slapd: paged reads, leaver signals in both flavours, changes, sign-in."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from ldap3.utils.dn import escape_rdn
from structlog.testing import capture_logs

from govern.adapters.directory import DirectoryIncomplete, DirectoryUnavailable
from govern.adapters.ldap import LdapConfig, LdapDirectory
from govern.adapters.ldap.connection import _Connection
from govern.adapters.ldap.values import filetime, format_generalized_time, parse_end_date, parse_generalized_time
from govern.config import ConfigurationError, load_settings
from govern.secret_value import SecretValue
from tests.support.standin import free_port, start_or_require
from tests.support.slapd import HIGHEST_COMMITTED_USN, Slapd, start_slapd

SUFFIX = "dc=example,dc=com"
PEOPLE = f"ou=people,{SUFFIX}"
AD_BASE = f"ou=ad,{SUFFIX}"
ALUMNI = f"ou=alumni,{SUFFIX}"
PASSWORD = "correct horse battery staple"
FILETIME_NOW = (int(datetime.now(UTC).timestamp()) + 11644473600) * 10_000_000


def _start(workdir) -> Slapd:
    return start_or_require("OpenLDAP", lambda: start_slapd(workdir))


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A fresh slapd for this module: other modules' writes never show up in its accesslog."""
    server = _start(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(slapd):
    connection = slapd.connection("admin")
    yield connection
    connection.unbind()


_opened: list[LdapDirectory] = []


@pytest.fixture(autouse=True)
def _close_directories():
    yield
    while _opened:
        _opened.pop().close()


def config(slapd: Slapd, base: str = PEOPLE, **overrides) -> LdapConfig:
    fields = dict(urls=(slapd.url,), bind_dn=slapd.bind_dn, bind_password=SecretValue(slapd.bind_password),
                  base_dn=base, group_dn=slapd.group_dn, end_date_attribute="governEndDate")
    return LdapConfig(**{**fields, **overrides})


def directory(slapd: Slapd, base: str = PEOPLE, **overrides) -> LdapDirectory:
    """An adapter that is closed when the test ends."""
    _opened.append(LdapDirectory(config(slapd, base, **overrides)))
    return _opened[-1]


def ou(admin, dn: str) -> str:
    admin.add(dn, ["organizationalUnit"], {"ou": dn.split(",", 1)[0].split("=", 1)[1]})
    return dn


def person(admin, parent: str, uid: str, *, member: bool = True, extra_classes=(), **attributes) -> str:
    dn = f"uid={escape_rdn(uid)},{parent}"
    admin.add(dn, ["inetOrgPerson", *extra_classes],
              {"uid": uid, "cn": attributes.pop("cn", uid.title()), "sn": "Test", "userPassword": PASSWORD, **attributes})
    if member:
        admin.modify(f"cn=social-media,ou=groups,{SUFFIX}", {"member": [(ldap3.MODIFY_ADD, [dn])]})
    return dn


def ad_user(admin, parent: str, name: str, *, member: bool = True, computer: bool = False, **attributes) -> tuple[str, str]:
    """An AD-style `user` entry (msuser schema) with a random objectGUID; returns (dn, the key govern should see)."""
    guid = uuid.uuid4()
    dn = f"cn={escape_rdn(name)},{parent}"
    admin.add(dn, ["computer" if computer else "user", "securityPrincipal", "governAdPerson"], {
        "cn": name, "sn": "Test", "sAMAccountName": name.lower().replace(" ", "."), "objectGUID": guid.bytes_le,
        "instanceType": 4, "nTSecurityDescriptor": "D:", "objectCategory": f"cn=Person,cn=Schema,cn=Configuration,{SUFFIX}",
        "userAccountControl": 512, "accountExpires": 0, "userPassword": PASSWORD, **attributes,
    })
    if member:
        admin.modify(f"cn=social-media,ou=groups,{SUFFIX}", {"member": [(ldap3.MODIFY_ADD, [dn])]})
    return dn, str(guid)


def key_of(admin, dn: str) -> str:
    admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["entryUUID"])
    return str(admin.entries[0].entryUUID.value).lower()


@pytest.fixture(scope="module")
def staff(slapd, admin) -> dict[str, str]:
    """Twelve people in ou=people (two sub-OUs deep), each managed by the one before; uid -> DN."""
    ou(admin, f"ou=staff,{PEOPLE}")
    ou(admin, f"ou=london,ou=staff,{PEOPLE}")
    dns, manager = {}, None
    for number in range(12):
        parent = f"ou=london,ou=staff,{PEOPLE}" if number % 2 else PEOPLE
        extra = {"manager": manager} if manager else {}
        if number % 3 == 0:
            extra |= {"displayName": f"Person Number {number}", "departmentNumber": "Comms", "mail": f"p{number}@example.com"}
        else:
            extra |= {"ou": "Marketing"}
        dns[f"p{number:02}"] = manager = person(admin, parent, f"p{number:02}", **extra)
    return dns


# -- full reads ----------------------------------------------------------------------------------------------------


def test_full_read_pages_through_everyone_and_resolves_managers(slapd, admin, staff, monkeypatch):
    pages = []
    real_search = _Connection.search

    def counting_search(self, *args, **kwargs):
        if kwargs.get("paged_size"):
            pages.append(kwargs["paged_size"])
        return real_search(self, *args, **kwargs)

    monkeypatch.setattr(_Connection, "search", counting_search)
    entries = {entry.username: entry for entry in directory(slapd).all_entries(page_size=5)}

    assert sorted(entries) == sorted(staff) and len(pages) == 3 and set(pages) == {5}
    keys = {uid: key_of(admin, dn) for uid, dn in staff.items()}
    assert all(entries[uid].key == keys[uid] for uid in staff)
    assert entries["p00"].manager_key is None
    assert all(entries[f"p{n:02}"].manager_key == keys[f"p{n - 1:02}"] for n in range(1, 12))
    assert all(entry.active and entry.leaver_signals == () for entry in entries.values())
    p0, p1 = entries["p00"], entries["p01"]
    assert (p0.display_name, p0.department, p0.email) == ("Person Number 0", "Comms", "p0@example.com")
    assert (p1.display_name, p1.department, p1.email) == ("P01", "Marketing", None)  # cn and ou as fallbacks
    assert p1.dn == f"uid=p01,ou=london,ou=staff,{PEOPLE}" and p1.changed_at is not None


def test_a_size_limit_is_incomplete_never_a_short_list(slapd, staff):
    limited = directory(slapd, bind_dn=slapd.limited_dn, bind_password=SecretValue(slapd.limited_password))
    with pytest.raises(DirectoryIncomplete, match="size limit exceeded"):
        list(limited.all_entries(page_size=5))


def test_a_missing_entitlement_group_is_incomplete_not_everyone_leaving(slapd, staff):
    with pytest.raises(DirectoryIncomplete, match="entitlement group"):
        directory(slapd, group_dn=f"cn=no-such-group,ou=groups,{SUFFIX}").all_entries()


# -- leaver signals ------------------------------------------------------------------------------------------------


def test_openldap_leaver_signals(slapd, admin):
    base = ou(admin, f"ou=signals,{SUFFIX}")
    past, future = "20200131170000Z", (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%d%H%M%SZ")
    person(admin, base, "active", employeeType="Employee", objectClass=["inetOrgPerson", "governPerson"], governEndDate=future)
    person(admin, base, "locked")
    admin.modify(f"uid=locked,{base}", {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["000001010000Z"])]})
    person(admin, base, "terminated", employeeType="Terminated")
    person(admin, base, "ended", objectClass=["inetOrgPerson", "governPerson"], governEndDate=past)
    person(admin, base, "outsider", member=False)
    person(admin, base, "everything", member=False, employeeType="terminated",
           objectClass=["inetOrgPerson", "governPerson"], governEndDate=past)
    admin.modify(f"uid=everything,{base}", {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["20240101000000Z"])]})

    signals = {entry.username: (entry.active, entry.leaver_signals) for entry in directory(slapd, base).all_entries()}

    assert signals == {
        "active": (True, ()),
        "locked": (False, ("account_locked",)),
        "terminated": (False, ("employment_terminated",)),
        "ended": (False, ("end_date_passed",)),
        "outsider": (False, ("left_entitlement_group",)),
        "everything": (False, ("account_locked", "employment_terminated", "end_date_passed", "left_entitlement_group")),
    }
    # without an entitlement group, not being in one is no signal
    assert {e.username for e in directory(slapd, base, group_dn=None).all_entries() if e.active} == {"active", "outsider"}


def test_ad_leaver_signals_with_object_guid_keys(slapd, admin):
    base = ou(admin, f"ou=corp,{AD_BASE}")
    boss, boss_key = ad_user(admin, base, "Dana Boss", displayName="Dana Boss", department="Board", mail="dana@example.com")
    _, active_key = ad_user(admin, base, "Active Person", manager=boss, accountExpires=0x7FFFFFFFFFFFFFFF)
    ad_user(admin, base, "Disabled Person", userAccountControl=514)
    ad_user(admin, base, "Expired Person", accountExpires=FILETIME_NOW - 10**10)
    ad_user(admin, base, "Expiring Person", accountExpires=FILETIME_NOW + 10**13)
    ad_user(admin, base, "Outside Person", member=False)
    ad_user(admin, base, "Terminated Person", employeeType="terminated")
    ad_user(admin, base, "Build Server", computer=True)

    ad = directory(slapd, base, flavor="ad", end_date_attribute=None)
    entries = {entry.username: entry for entry in ad.all_entries(page_size=3)}

    assert {name: (e.active, e.leaver_signals) for name, e in entries.items()} == {
        "dana.boss": (True, ()),
        "active.person": (True, ()),
        "disabled.person": (False, ("account_disabled",)),
        "expired.person": (False, ("account_expired",)),
        "expiring.person": (True, ()),
        "outside.person": (False, ("left_entitlement_group",)),
        "terminated.person": (False, ("employment_terminated",)),
    }  # the computer account is a `user` too, and is left out
    assert entries["dana.boss"].key == boss_key and entries["active.person"].key == active_key
    assert entries["active.person"].manager_key == boss_key
    assert (entries["dana.boss"].department, entries["dana.boss"].email) == ("Board", "dana@example.com")


def test_end_dates_and_filetimes_are_read_in_every_usual_spelling():
    assert parse_end_date("20250131120000Z") == datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert parse_end_date("20250131120000.0Z") == datetime(2025, 1, 31, 12, tzinfo=UTC)  # AD
    assert parse_end_date("20250131120000+0200") == datetime(2025, 1, 31, 10, tzinfo=UTC)
    assert parse_end_date("2025-01-31") == datetime(2025, 2, 1, tzinfo=UTC)  # the last day is still theirs
    assert parse_end_date("20250131") == datetime(2025, 2, 1, tzinfo=UTC)
    assert parse_end_date("2025-01-31T09:00:00+01:00") == datetime(2025, 1, 31, 8, tzinfo=UTC)
    assert parse_end_date("20089") == datetime(2025, 1, 1, tzinfo=UTC)  # shadowExpire: days since 1970
    assert parse_end_date("-1") is None and parse_end_date("0") is None and parse_end_date("soon") is None
    assert parse_end_date("133801632000000000") == datetime(2025, 1, 1, tzinfo=UTC)
    assert filetime(0) is None and filetime(0x7FFFFFFFFFFFFFFF) is None


# -- renames, moves and changes ----------------------------------------------------------------------------------


@pytest.fixture
def scope(admin, request) -> str:
    """A fresh OU to run a change test in, so tests do not see each other's writes."""
    return ou(admin, f"ou={request.node.name[:40]},{SUFFIX}")


def test_rename_and_move_within_scope_keep_the_key(slapd, admin, scope):
    ou(admin, f"ou=a,{scope}")
    ou(admin, f"ou=b,{scope}")
    dn = person(admin, f"ou=a,{scope}", "mover")
    ldap = directory(slapd, scope)
    before = next(iter(ldap.all_entries()))
    mark = ldap.changes_since(None)

    admin.modify_dn(dn, "uid=moved", new_superior=f"ou=b,{scope}")
    after = next(iter(ldap.all_entries()))
    batch = ldap.changes_since(mark.cursor)

    assert after.key == before.key and (after.dn, after.username) == (f"uid=moved,ou=b,{scope}", "moved")
    assert [(c.key, c.entry.dn, c.changed_by) for c in batch.changes] == [(before.key, after.dn, slapd.admin_dn)]


def test_changes_since_sees_deletes_moves_out_and_edits_with_their_authors(slapd, admin, scope):
    gone, leaving, edited = (person(admin, scope, uid) for uid in ("gone", "leaving", "edited"))
    keys = {dn: key_of(admin, dn) for dn in (gone, leaving, edited)}
    ldap = directory(slapd, scope)
    first = ldap.changes_since(None)
    assert first.changes == [] and first.cursor

    hr = slapd.connection("writer")
    hr.delete(gone)
    admin.modify_dn(leaving, "uid=leaving", new_superior=ALUMNI)
    hr.modify(edited, {"mail": [(ldap3.MODIFY_REPLACE, ["edited@example.com"])]})
    admin.add(f"ou=not-a-person,{scope}", ["organizationalUnit"], {"ou": "not-a-person"})  # no person: no change
    batch = ldap.changes_since(first.cursor)

    changes = {c.key: c for c in batch.changes}
    assert set(changes) == set(keys.values())
    assert (changes[keys[gone]].entry, changes[keys[gone]].changed_by) == (None, slapd.writer_dn)
    assert (changes[keys[leaving]].entry, changes[keys[leaving]].changed_by) == (None, slapd.admin_dn)
    assert changes[keys[edited]].entry.email == "edited@example.com" and changes[keys[edited]].changed_by == slapd.writer_dn
    assert all(abs(c.changed_at - datetime.now(UTC)) < timedelta(minutes=1) for c in batch.changes)

    # the cursor round-trips: what it covered does not come again, and a later write does
    assert ldap.changes_since(batch.cursor).changes == []
    assert json.loads(batch.cursor)["kind"] == "accesslog"
    hr.modify(edited, {"mail": [(ldap3.MODIFY_REPLACE, ["again@example.com"])]})
    again = ldap.changes_since(batch.cursor)
    assert [(c.key, c.entry.email) for c in again.changes] == [(keys[edited], "again@example.com")]
    assert ldap.changes_since(again.cursor).changes == []
    hr.unbind()


def test_a_write_logged_after_a_later_one_is_not_lost(slapd, admin, scope):
    """Writes run concurrently: one that started first can reach the log after a later one was read."""
    late = person(admin, scope, "late")
    ldap = directory(slapd, scope)
    mark = json.loads(ldap.changes_since(None).cursor)
    admin.modify(late, {"mail": [(ldap3.MODIFY_REPLACE, ["late@example.com"])]})
    admin.search("cn=accesslog", f"(reqDN={late})", ldap3.LEVEL, attributes=["reqStart"])
    logged = max(entry.entry_dn.split(",")[0].split("=")[1] for entry in admin.entries)
    # a cursor as if a write that started a moment after this one had already been read
    later = format_generalized_time(parse_generalized_time(logged) + timedelta(microseconds=1))
    cursor = json.dumps({**mark, "last": later, "seen": [*mark["seen"], later]})
    batch = ldap.changes_since(cursor)
    assert [(c.entry.username, c.entry.email) for c in batch.changes] == [("late", "late@example.com")]
    assert ldap.changes_since(batch.cursor).changes == []


def test_leaving_the_entitlement_group_is_a_change(slapd, admin, scope):
    stays, leaves = person(admin, scope, "stays"), person(admin, scope, "leaves")
    ldap = directory(slapd, scope)
    mark = ldap.changes_since(None)

    admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_DELETE, [leaves])]})
    batch = ldap.changes_since(mark.cursor)
    assert [(c.entry.username, c.entry.leaver_signals) for c in batch.changes] == [("leaves", ("left_entitlement_group",))]

    # a replace does not say who left: everyone in scope is reported as they now are
    admin.search(slapd.group_dn, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    members = [dn for dn in admin.entries[0].member.values if dn.lower() != stays.lower()]
    admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_REPLACE, members)]})
    batch = ldap.changes_since(batch.cursor)
    assert sorted((c.entry.username, c.entry.active) for c in batch.changes) == [("leaves", False), ("stays", False)]
    admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_ADD, [stays, leaves])]})


def test_without_a_readable_accesslog_changes_come_from_modify_timestamp(slapd, admin, scope):
    edited, deleted = person(admin, scope, "edited"), person(admin, scope, "deleted")
    # the HR account may read people but not cn=accesslog
    ldap = directory(slapd, scope, bind_dn=slapd.writer_dn, bind_password=SecretValue(slapd.writer_password))
    mark = ldap.changes_since(None)
    assert mark.changes == [] and json.loads(mark.cursor)["kind"] == "modified"

    admin.modify(edited, {"departmentNumber": [(ldap3.MODIFY_REPLACE, ["Legal"])]})
    admin.delete(deleted)
    batch = ldap.changes_since(mark.cursor)

    # the edit is seen (same second as the mark or not); the delete only by a full reconciliation
    assert [(c.entry.username, c.entry.department, c.changed_by) for c in batch.changes] == [("edited", "Legal", slapd.admin_dn)]
    assert ldap.changes_since(batch.cursor).changes == []


def test_ad_changes_by_usn_on_the_pinned_controller(slapd, admin):
    base = ou(admin, f"ou=usn,{AD_BASE}")
    old, _ = ad_user(admin, base, "Old Change", uSNChanged=100)
    _, edited_key = ad_user(admin, base, "Edited", uSNChanged=HIGHEST_COMMITTED_USN + 1, userAccountControl=514)
    moved, moved_key = ad_user(admin, base, "Moved Out", uSNChanged=HIGHEST_COMMITTED_USN + 2)
    admin.modify_dn(moved, "cn=Moved Out", new_superior=ALUMNI)
    ldap = directory(slapd, base, flavor="ad", end_date_attribute=None)

    mark = ldap.changes_since(None)
    assert json.loads(mark.cursor) == {"kind": "usn", "server": slapd.url.rstrip("/"), "usn": HIGHEST_COMMITTED_USN}
    batch = ldap.changes_since(mark.cursor)

    assert [(c.key, c.entry and c.entry.leaver_signals) for c in batch.changes] == [
        (edited_key, ("account_disabled",)), (moved_key, None)]
    pinned_elsewhere = json.dumps({"kind": "usn", "server": "ldap://dc9.example.com:389", "usn": 1})
    with pytest.raises(DirectoryIncomplete, match="no longer configured"):
        ldap.changes_since(pinned_elsewhere)
    with pytest.raises(DirectoryIncomplete, match="not one this adapter wrote"):
        ldap.changes_since("20250101000000Z")


# -- sign-in -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sign_in(slapd, admin):
    base = ou(admin, f"ou=sign-in,{SUFFIX}")
    person(admin, base, "alice", mail="alice@example.com")
    person(admin, base, "admin")
    person(admin, base, "bob")
    admin.modify(f"uid=bob,{base}", {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["000001010000Z"])]})
    person(admin, base, "carol", member=False)
    ldap = LdapDirectory(config(slapd, base))
    yield ldap
    ldap.close()


def test_authenticate_with_the_right_wrong_and_empty_password(sign_in):
    alice = sign_in.authenticate("alice", PASSWORD)
    assert alice is not None and (alice.username, alice.email, alice.active) == ("alice", "alice@example.com", True)
    assert sign_in.authenticate("ALICE", PASSWORD).key == alice.key  # uid matches case-insensitively
    assert sign_in.authenticate("alice", PASSWORD + "x") is None
    assert sign_in.authenticate("alice", "") is None  # an unauthenticated bind would "succeed"
    assert sign_in.authenticate("", PASSWORD) is None
    assert sign_in.authenticate("nobody", PASSWORD) is None


def test_authenticate_refuses_leavers_even_with_the_right_password(sign_in):
    with capture_logs() as logs:
        assert sign_in.authenticate("bob", PASSWORD) is None  # locked: ppolicy refuses the bind itself
    assert [(e["event"], e["code"]) for e in logs] == [("directory refused a sign-in", 49)]
    assert sign_in.authenticate("carol", PASSWORD) is None  # not in the entitlement group


@pytest.mark.parametrize("username", ["*", "*)(uid=*", "admin)(|(uid=*", "a*", "alice)(uid=*)(|(uid=x", "*)(objectClass=*", "\\2a"])
def test_ldap_injection_in_the_username_finds_nobody(sign_in, username):
    assert sign_in.authenticate(username, PASSWORD) is None


def test_authenticate_in_ad_flavour_by_sam_account_name(slapd, admin):
    base = ou(admin, f"ou=ad-sign-in,{AD_BASE}")
    _, key = ad_user(admin, base, "Erin Example")
    ad_user(admin, base, "Frank Disabled", userAccountControl=514)
    ad = directory(slapd, base, flavor="ad", end_date_attribute=None)
    assert ad.authenticate("erin.example", PASSWORD).key == key
    assert ad.authenticate("erin.example", "wrong") is None
    assert ad.authenticate("frank.disabled", PASSWORD) is None
    assert ad.authenticate("erin*", PASSWORD) is None


# -- failures ------------------------------------------------------------------------------------------------------


def test_a_stopped_server_is_unavailable_and_a_restarted_one_is_used_again(tmp_path):
    server = _start(tmp_path)
    try:
        connection = server.connection("admin")
        ou(connection, f"ou=x,{PEOPLE}")
        person(connection, f"ou=x,{PEOPLE}", "solo")
        person(connection, f"ou=x,{PEOPLE}", "duo")
        connection.unbind()
        ldap = directory(server)
        ldap.check()
        assert sorted(e.username for e in ldap.all_entries()) == ["duo", "solo"]

        pages = []
        real_search = _Connection.search

        def search_then_die(self, *args, **kwargs):
            result = real_search(self, *args, **kwargs)
            if kwargs.get("paged_size") and not pages:
                pages.append(1)
                server.stop()  # after the first page of the read
            return result

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_Connection, "search", search_then_die)
            with pytest.raises(DirectoryUnavailable):
                list(ldap.all_entries(page_size=1))
        assert pages == [1]

        for call in (ldap.check, lambda: ldap.all_entries(), lambda: ldap.changes_since(None),
                     lambda: ldap.authenticate("solo", PASSWORD)):
            with pytest.raises(DirectoryUnavailable):
                call()

        server.start()
        assert sorted(e.username for e in ldap.all_entries()) == ["duo", "solo"]
    finally:
        server.stop()


def test_a_refused_service_account_is_unavailable_and_its_password_never_shows(slapd):
    canary = f"canary-{uuid.uuid4().hex}"
    ldap = directory(slapd, bind_password=SecretValue(canary))
    with capture_logs() as logs, pytest.raises(DirectoryUnavailable) as raised:
        ldap.check()
    assert "invalidCredentials" in str(raised.value)
    shown = " ".join([str(raised.value), repr(ldap), repr(ldap.config), repr(logs)])
    assert canary not in shown
    good = directory(slapd)
    good.check()
    assert slapd.bind_password not in repr(good._service)  # ldap3's own repr would print it


def test_tls_checks_the_certificate_and_its_name(slapd, sign_in):
    base = f"ou=sign-in,{SUFFIX}"
    for url, start_tls in ((slapd.ldaps_url, False), (slapd.url, True)):
        ldap = directory(slapd, base, urls=(url,), start_tls=start_tls, ca_file=slapd.ca_file)
        ldap.check()
        assert ldap.authenticate("alice", PASSWORD).username == "alice"
    for url, ca_file in ((slapd.ldaps_url, None), (slapd.wrong_name_url, slapd.ca_file)):  # unknown CA; wrong name
        with pytest.raises(DirectoryUnavailable):
            directory(slapd, base, urls=(url,), ca_file=ca_file).check()
    with pytest.raises(DirectoryUnavailable):  # StartTLS never falls back to clear text
        directory(slapd, base, urls=(slapd.url,), start_tls=True).check()


def test_a_pool_moves_on_from_a_dead_server(slapd, sign_in):
    dead = f"ldap://127.0.0.1:{free_port()}"
    ldap = directory(slapd, f"ou=sign-in,{SUFFIX}", urls=(dead, slapd.url))
    ldap.check()
    assert ldap.authenticate("alice", PASSWORD).username == "alice"


def test_check_names_a_missing_base(slapd):
    with pytest.raises(DirectoryUnavailable, match="does not exist"):
        directory(slapd, f"ou=nowhere,{SUFFIX}").check()


# -- configuration -------------------------------------------------------------------------------------------------


def test_config_from_settings(tmp_path):
    password_file = tmp_path / "bind-password"
    password_file.write_text("s3cret-from-file\n")
    settings = load_settings(environ={
        "GOVERN_LDAP_URL": "ldaps://dc1.example.com, ldaps://dc2.example.com:3269",
        "GOVERN_LDAP_BIND_DN": "CN=govern,OU=Service,DC=corp,DC=example",
        "GOVERN_LDAP_BIND_PASSWORD_FILE": str(password_file),
        "GOVERN_LDAP_BASE_DN": "OU=Staff,DC=corp,DC=example",
        "GOVERN_LDAP_FLAVOR": "ad",
        "GOVERN_LDAP_ATTRIBUTES": '{"email": "userPrincipalName,mail", "department": ""}',
        "GOVERN_LDAP_TERMINATED_VALUES": "Terminated, Left",
    })
    config = LdapConfig.from_settings(settings)
    assert config.urls == ("ldaps://dc1.example.com", "ldaps://dc2.example.com:3269")
    assert config.bind_password.reveal() == "s3cret-from-file" and "s3cret" not in repr(config)
    assert config.attributes["email"] == ("userPrincipalName", "mail") and config.attributes["department"] == ()
    assert config.attributes["key"] == ("objectGUID",) and config.terminated_values == {"terminated", "left"}
    assert config.user_filter == "(&(objectClass=user)(!(objectClass=computer)))"
    ldap = LdapDirectory(config)
    assert ldap.source == "ad" and ldap.service_account == "cn=govern,ou=service,dc=corp,dc=example"


@pytest.mark.parametrize(("environ", "problem"), [
    ({"GOVERN_LDAP_URL": "ldap://dc1.example.com"}, "in clear"),
    ({"GOVERN_LDAP_BIND_PASSWORD": ""}, "required"),
    ({"GOVERN_LDAP_ATTRIBUTES": '{"key": "a,b"}'}, "exactly one"),
    ({"GOVERN_LDAP_USER_FILTER": "objectClass=person"}, "parenthesised"),
])
def test_config_refuses(environ, problem):
    base = {"GOVERN_LDAP_URL": "ldap://127.0.0.1:389", "GOVERN_LDAP_BIND_DN": "cn=govern,dc=example,dc=com",
            "GOVERN_LDAP_BIND_PASSWORD": "pw", "GOVERN_LDAP_BASE_DN": "dc=example,dc=com"}
    with pytest.raises(ConfigurationError, match=problem):
        LdapConfig.from_settings(load_settings(environ={**base, **environ}))


def test_config_accepts_start_tls_for_remote_plain_urls():
    settings = load_settings(environ={
        "GOVERN_LDAP_URL": "ldap://dc1.example.com", "GOVERN_LDAP_START_TLS": "true", "GOVERN_LDAP_BIND_DN": "cn=g",
        "GOVERN_LDAP_BIND_PASSWORD": "pw", "GOVERN_LDAP_BASE_DN": "dc=example,dc=com",
    })
    assert LdapConfig.from_settings(settings).start_tls is True
