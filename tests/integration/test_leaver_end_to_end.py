"""A person disabled in a real OpenLDAP loses every access within a minute, with nobody touching govern."""

from __future__ import annotations

import time

import ldap3
import pytest
import sqlalchemy as sa

from govern.actor import Actor
from govern.audit.trail import verify_chain
from govern.auth.models import ApiClient
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client
from govern.directory.models import Departure
from govern.extensions import db
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.jobs import start_in_process_scheduler
from govern.people.models import Person, PersonStatus
from tests import factories

PEOPLE = "ou=people,dc=example,dc=com"


@pytest.fixture
def ldap_people(slapd):
    """Three people in the entitlement group; removed again after the test."""
    admin = slapd.connection("admin")
    dns = []
    for uid, name in (("e2e.lina", "Lina Khoury"), ("e2e.noa", "נועה כהן"), ("e2e.omar", "عمر الخطيب")):
        dn = f"uid={uid},{PEOPLE}"
        admin.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": name, "sn": "Test", "displayName": name, "mail": f"{uid}@example.com"})
        admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_ADD, [dn])]})
        dns.append(dn)
    yield dict(zip(("lina", "noa", "omar"), dns))
    for dn in dns:
        admin.modify(slapd.group_dn, {"member": [(ldap3.MODIFY_DELETE, [dn])]})
        admin.delete(dn)
    admin.unbind()


@pytest.fixture
def synced_app(make_committed_app, slapd):
    return make_committed_app(ldap_url=slapd.url, ldap_bind_dn=slapd.bind_dn, ldap_bind_password=slapd.bind_password,
                              ldap_base_dn=PEOPLE, ldap_group_dn=slapd.group_dn)


def test_disabled_in_the_directory_means_no_access_within_a_minute(synced_app, slapd, ldap_people):
    celery = synced_app.extensions["celery"]
    with synced_app.app_context():
        assert celery.tasks["govern.directory.sync_full"].apply().get() == "succeeded"
        db.session.commit()
        noa = db.session.scalar(sa.select(Person).where(Person.username == "e2e.noa"))
        account = factories.account(db.session, Actor.system("test"), handle="acme_il", display_name="אקמי ישראל", owner_id=noa.id)
        grant = create_grant(db.session, Actor.system("test"), noa.id, account.id, GrantRole.PUBLISHER, "campaign")
        _, token = create_api_client(db.session, Actor.system("test"), "noa-integration", Role.IT, noa.id)
        db.session.commit()
        noa_id, grant_id = noa.id, grant.id

    schedule = celery.conf.beat_schedule
    original = dict(schedule["directory-incremental"])
    schedule["directory-incremental"]["schedule"] = 0.5  # the default is every minute; the test cannot wait that long
    stop = start_in_process_scheduler(synced_app, interval_seconds=0.2)
    try:
        hr = slapd.connection("writer")
        hr.modify(ldap_people["noa"], {"employeeType": [(ldap3.MODIFY_REPLACE, ["terminated"])]})  # HR terminates her
        hr.unbind()
        deadline = time.monotonic() + 30
        with synced_app.app_context():
            while time.monotonic() < deadline:
                db.session.expire_all()
                if db.session.get(Person, noa_id).status == PersonStatus.LEAVER:
                    break
                db.session.rollback()
                time.sleep(0.2)
    finally:
        stop.set()
        schedule["directory-incremental"] = original

    with synced_app.app_context():
        assert db.session.get(Person, noa_id).status == PersonStatus.LEAVER
        assert db.session.get(Grant, grant_id).revoked_at is not None
        assert authenticate_token(db.session, token.reveal()) is None
        assert db.session.scalar(sa.select(ApiClient).where(ApiClient.person_id == noa_id)).revoked_at is not None
        departure = db.session.scalar(sa.select(Departure).where(Departure.person_id == noa_id))
        assert departure.signals == ["employment_terminated"]
        assert departure.time_to_revoke_seconds < 60
        assert departure.steps["grants_revoked"] == 1 and departure.steps["accounts_orphaned"] == 1
        others = db.session.scalars(sa.select(Person).where(Person.username.in_(["e2e.lina", "e2e.omar"]))).all()
        assert {p.status for p in others} == {PersonStatus.ACTIVE}
        assert verify_chain(db.session).ok


def test_sync_on_demand_runs_in_process_without_a_broker(synced_app, ldap_people):
    """The embedded default has no broker: the job runs right after the request, in its own session."""
    with synced_app.app_context():
        _, token = create_api_client(db.session, Actor.system("test"), "it-sync", Role.IT)
        db.session.commit()
    client = synced_app.test_client()
    response = client.post("/api/v1/directory/runs", json={"full": True}, headers={"Authorization": f"Bearer {token.reveal()}"})
    assert response.status_code == 202, response.get_json()
    runs = client.get("/api/v1/directory/runs", headers={"Authorization": f"Bearer {token.reveal()}"}).get_json()
    assert runs[0]["mode"] == "full" and runs[0]["status"] == "succeeded" and runs[0]["counts"]["created"] >= 3
