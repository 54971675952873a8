"""The directory watcher against a real slapd: a leaver loses every access within 5 s with nobody touching govern,
through slapd restarts and govern's own absence, and never when the directory is down, empty or mass-changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import ldap3
import pytest
import sqlalchemy as sa

from govern.actor import Actor
from govern.adapters.directory_factory import build_directory
from govern import app_services
from govern.audit.models import AuditEvent
from govern.audit.trail import verify_chain
from govern.auth.models import ApiClient
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client
from govern.directory import service
from govern.directory.models import Departure, SyncCursor, SyncMode, SyncRun, SyncStatus
from govern.directory.watch import WatchState, committed_sync, watch
from govern.extensions import db
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.jobs import start_directory_watcher
from govern.people.models import Person, PersonStatus
from tests import factories
from tests.support.slapd import Slapd, start_slapd
from tests.support.standin import start_or_require

SUFFIX = "dc=example,dc=com"
WITHIN = 5.0  # seconds from the directory write to the last access removed
ACTOR = Actor.system("test")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A slapd of this module's own: these tests stop and restart it."""
    server = start_or_require("OpenLDAP", lambda: start_slapd(tmp_path_factory.mktemp("slapd-watch")))
    yield server
    server.stop()


@pytest.fixture
def base(slapd) -> str:
    """An OU of the test's own under ou=people: the scope of its app."""
    dn = f"ou=w{uuid.uuid4().hex[:8]},ou=people,{SUFFIX}"
    admin = slapd.connection("admin")
    admin.add(dn, ["organizationalUnit"], {"ou": dn.split(",", 1)[0][3:]})
    admin.unbind()
    return dn


def add_people(slapd: Slapd, base: str, *uids: str) -> dict[str, str]:
    admin = slapd.connection("admin")
    dns = {}
    for uid in uids:
        dns[uid] = f"uid={uid},{base}"
        admin.add(dns[uid], ["inetOrgPerson"], {"uid": uid, "cn": uid.title(), "sn": "Test", "mail": f"{uid}@example.com"})
    admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_ADD, list(dns.values()))]})
    admin.unbind()
    return dns


def settings_for(slapd: Slapd, base: str) -> dict:
    return dict(ldap_url=slapd.url, ldap_bind_dn=slapd.bind_dn, ldap_bind_password=slapd.bind_password, ldap_base_dn=base,
                ldap_group_dn=slapd.group_dn, ldap_watch_interval_seconds=0.2)


@pytest.fixture
def world(make_committed_app, slapd, base):
    """Three people synced in full, each with a grant on an account and an API token; the app and its directory."""
    dns = add_people(slapd, base, "lina", "noa", "omar")
    app = make_committed_app(**settings_for(slapd, base))
    with app.app_context():
        directory = build_directory(app_services.settings())
        assert service.sync_full_from(db.session, ACTOR, directory).status == SyncStatus.SUCCEEDED
        access = {}
        for uid in dns:
            person = db.session.scalar(sa.select(Person).where(Person.username == uid))
            account = factories.account(db.session, ACTOR, owner_id=person.id)
            grant = create_grant(db.session, ACTOR, person.id, account.id, GrantRole.PUBLISHER, "campaign")
            _, token = create_api_client(db.session, ACTOR, f"{uid}-tool", Role.IT, person.id)
            access[uid] = (person.id, grant.id, token.reveal())
        db.session.commit()
    yield app, directory, dns, access
    directory.close()


class Watcher:
    """The watcher on a thread of the test, stopped at the end."""

    def __init__(self, app, directory) -> None:
        self.stop, self.state = threading.Event(), WatchState()
        self.thread = threading.Thread(target=watch, args=(directory, committed_sync(app, directory), self.stop),
                                       kwargs={"interval": 0.2, "ceiling": 2.0, "state": self.state}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def watcher(world):
    app, directory, _, _ = world
    running = Watcher(app, directory)
    yield running
    running.close()


def wait_for_leaver(app, person_id: int, within: float) -> float:
    """Seconds until the person's departure has removed their access; fails after `within`."""
    started = time.monotonic()
    with app.app_context():
        while time.monotonic() - started < within + 5:
            db.session.rollback()
            departure = db.session.scalar(sa.select(Departure).where(Departure.person_id == person_id))
            if departure is not None and departure.access_removed_at is not None:
                return time.monotonic() - started
            time.sleep(0.05)
    raise AssertionError(f"person {person_id} still has access after {within + 5} s")


def assert_no_access(app, access: tuple[int, int, str]) -> None:
    person_id, grant_id, token = access
    with app.app_context():
        db.session.rollback()
        assert db.session.get(Person, person_id).status == PersonStatus.LEAVER
        assert db.session.get(Grant, grant_id).revoked_at is not None
        assert authenticate_token(db.session, token) is None
        assert db.session.scalar(sa.select(ApiClient).where(ApiClient.person_id == person_id)).revoked_at is not None


def assert_has_access(app, access: tuple[int, int, str]) -> None:
    person_id, grant_id, token = access
    with app.app_context():
        db.session.rollback()
        assert db.session.get(Person, person_id).status == PersonStatus.ACTIVE
        assert db.session.get(Grant, grant_id).revoked_at is None
        assert authenticate_token(db.session, token) is not None


def cli_environment(app, slapd: Slapd, base: str, **extra: str) -> dict[str, str]:
    """The environment of a `govern` subprocess on the app's database and directory."""
    with app.app_context():
        return {**os.environ, "GOVERN_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                "GOVERN_SECRET_KEY": app.config["SECRET_KEY"],
                "GOVERN_INSTANCE_PATH": str(app_services.settings().instance_path), "GOVERN_LOG_LEVEL": "WARNING",
                **{f"GOVERN_{key.upper()}": str(value) for key, value in settings_for(slapd, base).items()}, **extra}


def test_disabled_deleted_or_out_of_the_group_loses_every_access_within_5_seconds(slapd, world):
    """`govern directory watch` in a subprocess; HR writes to the directory; nobody touches govern."""
    app, _, dns, access = world
    environment = cli_environment(app, slapd, dns["lina"].split(",", 1)[1])
    process = subprocess.Popen([sys.executable, "-c", "from govern.cli import main; main()", "directory", "watch"],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = process.stdout.readline()  # after its first look, which catches up (here: nothing to do)
        assert ready.startswith("caught up; watching the openldap directory every 0.2 s"), ready + process.communicate()[0]
        hr, admin = slapd.connection("writer"), slapd.connection("admin")
        hr.modify(dns["noa"], {"employeeType": [(ldap3.MODIFY_REPLACE, ["terminated"])]})  # disabled by HR
        assert wait_for_leaver(app, access["noa"][0], WITHIN) < WITHIN
        admin.delete(dns["lina"])  # deleted
        assert wait_for_leaver(app, access["lina"][0], WITHIN) < WITHIN
        admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_DELETE, [dns["omar"]])]})  # out of the entitlement group
        assert wait_for_leaver(app, access["omar"][0], WITHIN) < WITHIN
        hr.unbind(), admin.unbind()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output
    for uid in ("noa", "lina", "omar"):
        assert_no_access(app, access[uid])
    with app.app_context():
        signals = {d.person_id: d.signals for d in db.session.scalars(sa.select(Departure))}
        assert signals == {access["noa"][0]: ["employment_terminated"], access["lina"][0]: ["removed_from_directory"],
                           access["omar"][0]: ["left_entitlement_group"]}
        revoked = {d.signals[0]: (d.time_to_revoke_seconds, d.directory_changed_at, d.first_seen_at) for d in db.session.scalars(sa.select(Departure))}
        assert all(seconds < WITHIN + 1 for seconds, _, _ in revoked.values()), revoked  # reqStart is whole seconds
        runs = db.session.scalars(sa.select(SyncRun).where(SyncRun.mode == SyncMode.INCREMENTAL)).all()
        assert runs and all(run.counts["departed"] == 1 for run in runs)  # the catch-up found nothing and kept no run
        actors = set(db.session.scalars(sa.select(AuditEvent.actor).where(AuditEvent.action == "directory:person:depart")))
        assert actors == {"system:directory-watch"}
        assert verify_chain(db.session).ok


def test_slapd_restarted_mid_stream_loses_no_change(slapd, world, watcher):
    app, _, dns, access = world
    hr = slapd.connection("writer")
    hr.modify(dns["noa"], {"employeeType": [(ldap3.MODIFY_REPLACE, ["terminated"])]})
    hr.unbind()
    slapd.stop()  # at once: the watcher may or may not have seen the write
    time.sleep(1.5)
    assert watcher.state.failures or watcher.state.syncs
    slapd.start()
    assert wait_for_leaver(app, access["noa"][0], 10)
    hr = slapd.connection("writer")
    hr.modify(dns["omar"], {"employeeType": [(ldap3.MODIFY_REPLACE, ["terminated"])]})  # after the restart
    hr.unbind()
    assert wait_for_leaver(app, access["omar"][0], WITHIN) < WITHIN
    assert_no_access(app, access["noa"])
    assert_no_access(app, access["omar"])
    assert_has_access(app, access["lina"])


def test_a_change_made_while_the_watcher_was_down_is_applied_on_its_return(slapd, world):
    app, directory, dns, access = world
    first = Watcher(app, directory)
    time.sleep(0.5)
    first.close()
    admin = slapd.connection("admin")
    admin.delete(dns["lina"])  # nobody is watching
    admin.unbind()
    time.sleep(0.5)
    with app.app_context():
        assert db.session.get(Person, access["lina"][0]).status == PersonStatus.ACTIVE
        assert db.session.get(SyncCursor, "openldap") is not None  # where it resumes from
    again = start_directory_watcher(app)  # as embedded mode's `govern jobs run` starts it
    try:
        assert wait_for_leaver(app, access["lina"][0], WITHIN) < WITHIN
    finally:
        again.set()
    assert_no_access(app, access["lina"])
    assert_has_access(app, access["noa"])


def test_a_directory_that_is_down_revokes_nobody(slapd, world, watcher):
    app, _, _, access = world
    slapd.stop()
    try:
        time.sleep(3)
        assert watcher.state.failures >= 2  # retrying with backoff, not revoking
        for person in access.values():
            assert_has_access(app, person)
    finally:
        slapd.start()
    deadline = time.monotonic() + 10
    while watcher.state.failures and time.monotonic() < deadline:
        time.sleep(0.1)
    assert watcher.state.failures == 0  # back on its own
    for person in access.values():
        assert_has_access(app, person)


def test_an_entitlement_group_that_reads_empty_revokes_nobody(slapd, world, watcher):
    """The group is deleted (everyone would look like a leaver): the run fails, and nobody is revoked."""
    app, _, dns, access = world
    admin = slapd.connection("admin")
    admin.search(slapd.group_dn, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    members = [str(m) for m in admin.entries[0].member.values]
    admin.delete(slapd.group_dn)
    try:
        with app.app_context():
            deadline = time.monotonic() + 10
            while not db.session.scalar(sa.select(sa.func.count(SyncRun.id)).where(SyncRun.status == SyncStatus.FAILED)):
                assert time.monotonic() < deadline, "the watcher never tried"
                time.sleep(0.1)
                db.session.rollback()
            failed = db.session.scalars(sa.select(SyncRun).where(SyncRun.status == SyncStatus.FAILED)).first()
            assert "entitlement group" in failed.error
        for person in access.values():
            assert_has_access(app, person)
    finally:
        admin.add(slapd.group_dn, ["groupOfNames"], {"cn": "social-media", "member": members})
        admin.unbind()
    time.sleep(1.5)
    for person in access.values():
        assert_has_access(app, person)


def test_a_mass_change_is_held_even_one_person_at_a_time(slapd, base, make_committed_app):
    """30 people leave the group one write at a time, faster than the schedule but slower than the watcher: the
    departures of the last minutes count together, so once past the threshold the rest are held, not revoked."""
    uids = [f"mass{n:02}" for n in range(30)]
    dns = add_people(slapd, base, *uids)
    app = make_committed_app(**settings_for(slapd, base))
    with app.app_context():
        directory = build_directory(app_services.settings())
        assert service.sync_full_from(db.session, ACTOR, directory).status == SyncStatus.SUCCEEDED
        db.session.commit()
        limit = service.mass_departure_limit(db.session)
    running = Watcher(app, directory)
    try:
        admin = slapd.connection("admin")
        for dn in dns.values():
            admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_DELETE, [dn])]})
            time.sleep(0.15)
        admin.unbind()
        with app.app_context():
            deadline = time.monotonic() + 15
            while True:
                db.session.rollback()
                departed = db.session.scalar(sa.select(sa.func.count(Departure.id))) or 0
                held = [h for run in db.session.scalars(sa.select(SyncRun).where(SyncRun.status == SyncStatus.HELD))
                        for h in run.held_departures]
                if departed + len(held) >= len(uids) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        running.close()
        directory.close()
    assert departed <= limit < len(uids)
    assert held and departed + len(held) == len(uids)


def test_active_directory_is_not_watched_and_says_so(slapd, base, make_committed_app):
    app = make_committed_app(**settings_for(slapd, base), ldap_flavor="ad")
    assert start_directory_watcher(app) is None  # embedded mode leaves AD to the schedule
    done = subprocess.run([sys.executable, "-c", "from govern.cli import main; main()", "directory", "watch"],
                          env=cli_environment(app, slapd, base, GOVERN_LDAP_FLAVOR="ad"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Active Directory stays on the schedule" in done.stderr and "Traceback" not in done.stderr


def test_watch_help_and_a_missing_directory_are_readable(make_committed_app):
    app = make_committed_app()
    help_text = subprocess.run([sys.executable, "-c", "from govern.cli import main; main()", "directory", "watch", "--help"],
                               capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "within seconds" in help_text.stdout and "--once" in help_text.stdout
    with app.app_context():
        environment = {**os.environ, "GOVERN_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                       "GOVERN_SECRET_KEY": app.config["SECRET_KEY"], "GOVERN_LDAP_URL": "",
                       "GOVERN_INSTANCE_PATH": str(app_services.settings().instance_path)}
    done = subprocess.run([sys.executable, "-c", "from govern.cli import main; main()", "directory", "watch", "--once"],
                          env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no directory is configured" in done.stderr and "Traceback" not in done.stderr
