"""Directory sync on real PostgreSQL: reconciliation, departures and what they take away, and the safety holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.accounts.service import create_account
from govern.adapters.directory import ChangeBatch, DirectoryChange, DirectoryEntry, DirectoryUnavailable
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client, ensure_console_user
from govern.db import utcnow
from govern.directory import service
from govern.directory.models import Departure, SyncCursor, SyncStatus
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.people.models import Person, PersonSource, PersonStatus

SOURCE = "openldap"


def entry(key: str, name: str, manager: str | None = None, **fields) -> DirectoryEntry:
    username = fields.pop("username", key)
    return DirectoryEntry(key=key, dn=f"uid={username},ou=people,dc=example,dc=com", username=username,
                          display_name=name, email=f"{username}@example.com", manager_key=manager, **fields)


STAFF = [
    entry("u-ceo", "Maya Ben-David"),
    entry("u-lina", "لينا خوري", manager="u-ceo", department="Communications"),
    entry("u-noa", "נועה כהן", manager="u-lina", department="Marketing"),
    entry("u-tom", "Tom Reed", manager="u-lina"),
]


def person(session, key: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.source == PersonSource.OPENLDAP, Person.external_id == key))


@pytest.fixture
def synced(session, actor):
    run = service.full_sync(session, actor, SOURCE, STAFF)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    return run


def test_full_sync_creates_people_with_their_managers(session, synced):
    assert synced.counts == {"seen": 4, "created": 4, "updated": 0, "returned": 0, "departed": 0}
    assert person(session, "u-noa").manager.display_name == "لينا خوري"
    assert person(session, "u-ceo").manager is None


def test_a_second_run_with_nothing_changed_changes_nothing(session, actor, synced):
    again = service.full_sync(session, actor, SOURCE, STAFF)
    assert again.counts == {"seen": 4, "created": 0, "updated": 0, "returned": 0, "departed": 0}


def test_rename_and_move_keep_the_person(session, actor, synced):
    moved = [*STAFF[:3], entry("u-tom", "Thomas Reed", manager="u-ceo", username="treed")]
    service.full_sync(session, actor, SOURCE, moved)
    tom = person(session, "u-tom")
    assert (tom.display_name, tom.username, tom.manager.external_id, tom.status) == ("Thomas Reed", "treed", "u-ceo", PersonStatus.ACTIVE)


def test_a_leaver_loses_every_access_at_once(session, actor, synced):
    noa, lina = person(session, "u-noa"), person(session, "u-lina")
    account = create_account(session, actor, "x", handle="acme_he", display_name="אקמי", owner_id=noa.id)
    grant = create_grant(session, actor, noa.id, account.id, GrantRole.PUBLISHER, "campaign")
    _, token = create_api_client(session, actor, "noa-bot", Role.IT, noa.id)
    ensure_console_user(session, actor, "noa@example.com", "נועה", Role.IT, noa.id)
    changed_at = utcnow() - timedelta(seconds=20)
    leaving = [*STAFF[:2], entry("u-noa", "נועה כהן", manager="u-lina", active=False, leaver_signals=("account_locked",), changed_at=changed_at), STAFF[3]]
    run = service.full_sync(session, actor, SOURCE, leaving)
    assert run.counts["departed"] == 1
    assert person(session, "u-noa").status == PersonStatus.LEAVER
    assert session.get(Grant, grant.id).revoked_at is not None
    assert authenticate_token(session, token.reveal()) is None
    assert session.scalar(sa.select(ConsoleUser).where(ConsoleUser.person_id == noa.id)).disabled_at is not None
    assert account.owner_id == lina.id
    departure = session.scalar(sa.select(Departure).where(Departure.person_id == noa.id))
    assert departure.signals == ["account_locked"] and 20 <= departure.time_to_revoke_seconds < 60
    assert departure.steps["grants_revoked"] == 1 and departure.steps["api_tokens_revoked"] == 1
    assert departure.steps["accounts_moved_to_manager"] == 1


def test_missing_from_the_directory_is_a_departure(session, actor, synced):
    run = service.full_sync(session, actor, SOURCE, STAFF[:3])
    assert run.counts["departed"] == 1
    assert session.scalar(sa.select(Departure).where(Departure.person_id == person(session, "u-tom").id)).signals == ["not_in_directory"]


def test_directory_down_or_empty_revokes_nobody(session, actor, synced):
    def down():
        raise DirectoryUnavailable("connection refused")
        yield  # pragma: no cover

    failed = service.full_sync(session, actor, SOURCE, down())
    assert failed.status == SyncStatus.FAILED and "connection refused" in failed.error
    empty = service.full_sync(session, actor, SOURCE, [])
    assert empty.status == SyncStatus.FAILED and "nobody" in empty.error
    assert session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.status == PersonStatus.LEAVER)) == 0


def test_mass_departure_is_held_until_governance_decides(session, actor):
    everyone = [entry(f"u-{n}", f"Person {n}") for n in range(40)]
    service.full_sync(session, actor, SOURCE, everyone)
    someone = person(session, "u-0")
    create_grant(session, actor, someone.id, create_account(session, actor, "x", handle="held", display_name="Held").id, GrantRole.ANALYST, "x")
    survivors = everyone[:10]  # 30 would leave: more than max(25, 5%)
    held = service.full_sync(session, actor, SOURCE, survivors + [entry("u-new", "New Starter")])
    assert held.status == SyncStatus.HELD and len(held.held_departures) == 30
    assert person(session, "u-new") is not None  # joiners are not held back
    assert session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.status == PersonStatus.LEAVER)) == 0
    assert session.scalar(sa.select(Grant).where(Grant.person_id == someone.id)).revoked_at is None
    with pytest.raises(Exception):
        service.decide_held_run(session, actor, 987654, approve=True)
    service.decide_held_run(session, actor, held.id, approve=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.status == PersonStatus.LEAVER)) == 30


def test_a_single_leaver_is_never_held(session, actor):
    service.full_sync(session, actor, SOURCE, [entry("u-a", "A"), entry("u-b", "B")])
    run = service.full_sync(session, actor, SOURCE, [entry("u-a", "A")])
    assert run.status == SyncStatus.SUCCEEDED and run.counts["departed"] == 1


def test_incremental_departures_one_at_a_time_are_held_once_the_window_is_past_the_limit(session, actor):
    """The watcher syncs each second: 30 leavers in 30 runs are held past the limit, as one run of 30 would be."""
    everyone = [entry(f"u-{n}", f"Person {n}") for n in range(40)]
    service.full_sync(session, actor, SOURCE, everyone)
    limit = service.mass_departure_limit(session)
    runs = [service.incremental_sync(session, actor, SOURCE, lambda cursor, n=n: ChangeBatch([DirectoryChange(f"u-{n}", None, utcnow())], f"c{n}"),
                                     own_account=None) for n in range(30)]
    assert [run.status for run in runs] == [SyncStatus.SUCCEEDED] * limit + [SyncStatus.HELD] * (30 - limit)
    assert session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.status == PersonStatus.LEAVER)) == limit
    assert session.get(SyncCursor, SOURCE).cursor == "c29"  # held runs move on; their departures wait for a decision


def test_a_watcher_run_with_nothing_to_do_keeps_no_run_but_moves_the_cursor(session, actor, synced):
    runs_before = session.scalar(sa.select(sa.func.count()).select_from(service.SyncRun))
    run = service.incremental_sync(session, actor, SOURCE, lambda cursor: ChangeBatch([], "quiet"), own_account=None, keep_empty=False)
    assert run is None and session.get(SyncCursor, SOURCE).cursor == "quiet"
    assert session.scalar(sa.select(sa.func.count()).select_from(service.SyncRun)) == runs_before
    kept = service.incremental_sync(session, actor, SOURCE, lambda cursor: ChangeBatch([DirectoryChange("u-tom", None, utcnow())], "next"),
                                    own_account=None, keep_empty=False)
    assert kept.status == SyncStatus.SUCCEEDED and kept.counts["departed"] == 1


def test_incremental_changes_store_their_cursor_and_ignore_our_own_writes(session, actor, synced):
    batch = ChangeBatch(changes=[
        DirectoryChange("u-tom", None, utcnow(), "cn=admin,dc=example,dc=com"),
        DirectoryChange("u-noa", entry("u-noa", "Changed by govern"), utcnow(), "cn=govern,ou=services,dc=example,dc=com"),
    ], cursor="20261122003500.000001Z")
    run = service.incremental_sync(session, actor, SOURCE, lambda cursor: batch, own_account="cn=govern,ou=services,dc=example,dc=com")
    assert run.counts["departed"] == 1 and person(session, "u-tom").status == PersonStatus.LEAVER
    assert person(session, "u-noa").display_name == "נועה כהן"
    assert session.get(SyncCursor, SOURCE).cursor == "20261122003500.000001Z"


def test_returners_get_nothing_back(session, actor, synced):
    tom = person(session, "u-tom")
    grant = create_grant(session, actor, tom.id, create_account(session, actor, "x", handle="r", display_name="R").id, GrantRole.ANALYST, "x")
    service.full_sync(session, actor, SOURCE, STAFF[:3])
    back = service.full_sync(session, actor, SOURCE, STAFF)
    assert back.counts["returned"] == 1 and person(session, "u-tom").status == PersonStatus.ACTIVE
    assert session.get(Grant, grant.id).revoked_at is not None


def test_departing_twice_does_nothing_the_second_time(session, actor, synced):
    tom = person(session, "u-tom")
    assert service.depart(session, actor, tom, SOURCE, ["scim_inactive"], None) is not None
    assert service.depart(session, actor, tom, SOURCE, ["scim_inactive"], None) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Departure).where(Departure.person_id == tom.id)) == 1


def test_a_sync_that_dies_mid_offboarding_is_rerun_without_doing_anything_twice(session, actor, synced, monkeypatch):
    """Offboarding is one transaction with the cursor: a crash leaves nothing half done, the rerun does it all once."""
    from govern import signals

    tom = person(session, "u-tom")
    grant = create_grant(session, actor, tom.id, create_account(session, actor, "x", handle="crash", display_name="C").id, GrantRole.ANALYST, "x")
    session.commit()
    batch = ChangeBatch(changes=[DirectoryChange("u-tom", None, utcnow(), "cn=hr,dc=example,dc=com")], cursor="mark-1")

    def worker_killed(*_args, **_kwargs):
        raise SystemExit("worker killed")

    signals.person_departed.connect(worker_killed)
    try:
        with pytest.raises(SystemExit):
            service.incremental_sync(session, actor, SOURCE, lambda cursor: batch, own_account=None)
    finally:
        signals.person_departed.disconnect(worker_killed)
    session.rollback()  # what the task base class does when the task dies
    assert person(session, "u-tom").status == PersonStatus.ACTIVE and session.get(SyncCursor, SOURCE) is None
    run = service.incremental_sync(session, actor, SOURCE, lambda cursor: batch, own_account=None)
    assert run.counts["departed"] == 1 and session.get(Grant, grant.id).revoked_at is not None
    again = service.incremental_sync(session, actor, SOURCE, lambda cursor: batch, own_account=None)
    assert again.counts["departed"] == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Departure).where(Departure.person_id == tom.id)) == 1


def test_network_side_roles_become_a_task_list_with_exact_steps(session, actor, synced, client, auth_headers):
    from govern.directory.models import OffboardingTask

    noa = person(session, "u-noa")
    page = create_account(session, actor, "facebook", handle="acme.page", display_name="Acme Page")
    x_account = create_account(session, actor, "x", handle="acme_x", display_name="Acme X")
    for account in (page, x_account):
        create_grant(session, actor, noa.id, account.id, GrantRole.PUBLISHER, "campaign")
    session.commit()
    service.full_sync(session, actor, SOURCE, [entry for entry in STAFF if entry.key != "u-noa"])
    session.commit()
    tasks = session.scalars(sa.select(OffboardingTask).where(OffboardingTask.account_id.in_([page.id, x_account.id]))).all()
    assert [(t.network, t.account_id) for t in tasks] == [("facebook", page.id)]
    assert "acme.page" in tasks[0].steps and "noa@example.com" in tasks[0].steps
    headers = auth_headers(Role.IT)
    listed = client.get("/api/v1/directory/offboarding-tasks", headers=headers).get_json()
    assert tasks[0].id in [t["id"] for t in listed]
    done = client.post(f"/api/v1/directory/offboarding-tasks/{tasks[0].id}/done", headers=headers)
    assert done.status_code == 200 and done.get_json()["done_by"].startswith("api_client:")
    assert client.post(f"/api/v1/directory/offboarding-tasks/{tasks[0].id}/done", headers=headers).status_code == 409
