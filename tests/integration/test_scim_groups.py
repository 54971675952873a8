"""SCIM groups on real PostgreSQL (decision 0078): Okta's group push replayed, the entitlement group's departures
(held when many, always when the group is deleted or renamed), role groups giving console roles, and group errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern import app_services
from govern.audit.models import AuditEvent
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.directory.models import SyncRun, SyncStatus
from govern.directory.service import decide_held_run
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.people.models import Person, PersonStatus
from govern.scim import service
from govern.scim.group_models import ScimGroup, ScimGroupMember
from govern.scim.schemas import UserInput
from tests import factories
from tests.integration.test_scim import PATCH_OP, assert_scim_error, create, departure_of, okta_user, scim_person, where
from tests.integration.test_scim import scim  # noqa: F401  (the SCIM client fixture)

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def patch_group(scim, group_id: str, *operations: dict):
    return scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def members_of(response) -> list[str]:
    return sorted(member["value"] for member in response.get_json(force=True)["members"])


def last_run(session) -> SyncRun:
    return session.scalars(sa.select(SyncRun).where(SyncRun.source == "scim").order_by(SyncRun.id.desc())).first()


@pytest.fixture
def role_groups(app, monkeypatch):
    """GOVERN_SCIM_ROLE_GROUPS for one test: social-governance gives governance, social-it gives it."""
    settings = app_services.settings(app).model_copy(
        update={"scim_role_groups": {"social-governance": "governance", "social-it": "it"}})
    monkeypatch.setitem(app.extensions, "govern.settings", settings)


# ---- Okta's group push, as recorded ----

def test_okta_group_push_create_add_remove_rename(scim, session, actor):
    """Okta's Push Groups: look the group up, POST it with its members, PATCH members in and out, rename it (PATCH
    without a path carrying id and displayName, then PUT with the displayName only)."""
    dana = create(scim, okta_user("dana@example.com", externalId="00u1dana"))
    omer = create(scim, okta_user("omer@example.com", externalId="00u1omer"))
    lior = create(scim, okta_user("lior@example.com", externalId="00u1lior"))
    lookup = scim("GET", "/Groups?" + where('displayName eq "social-media"') + "&startIndex=1&count=100")
    assert lookup.get_json(force=True)["totalResults"] == 0

    created = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "social-media", "members": [
        {"value": dana["id"], "display": "dana@example.com"}, {"value": omer["id"], "display": "omer@example.com"}]})
    assert created.status_code == 201, created.get_data(as_text=True)
    group = created.get_json(force=True)
    assert created.headers["Location"].endswith(f"/scim/v2/Groups/{group['id']}")
    assert group["meta"]["resourceType"] == "Group" and group["meta"]["created"] and group["meta"]["lastModified"]
    assert members_of(created) == sorted([dana["id"], omer["id"]])
    member = next(m for m in group["members"] if m["value"] == dana["id"])
    assert (member["display"], member["type"]) == ("Dana Levi", "User") and member["$ref"].endswith(f"/scim/v2/Users/{dana['id']}")

    added = patch_group(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": lior["id"], "display": "lior@example.com"}]})
    assert added.status_code == 200 and members_of(added) == sorted([dana["id"], omer["id"], lior["id"]])

    omer_person = scim_person(session, omer["id"])
    grant = create_grant(session, actor, omer_person.id, factories.account(session, actor).id, GrantRole.PUBLISHER, "campaign")
    session.commit()
    removed = patch_group(scim, group["id"], {"op": "remove", "path": f'members[value eq "{omer["id"]}"]'})
    assert removed.status_code == 200 and members_of(removed) == sorted([dana["id"], lior["id"]])
    omer_person = scim_person(session, omer["id"])
    assert omer_person.status == PersonStatus.LEAVER and session.get(Grant, grant.id).revoked_at is not None  # same request
    assert departure_of(session, omer_person).signals == ["scim_removed_from_entitlement_group"]
    assert last_run(session).status == SyncStatus.SUCCEEDED

    renamed = patch_group(scim, group["id"], {"op": "replace", "value": {"id": group["id"], "displayName": "social-media"}})
    assert renamed.status_code == 200 and renamed.get_json(force=True)["displayName"] == "social-media"
    put = scim("PUT", f"/Groups/{group['id']}", {"schemas": [GROUP], "id": group["id"], "displayName": "Social-Media"})
    assert put.status_code == 200, put.get_data(as_text=True)
    assert put.get_json(force=True)["displayName"] == "Social-Media" and members_of(put) == sorted([dana["id"], lior["id"]])
    assert scim_person(session, dana["id"]).status == PersonStatus.ACTIVE  # the same group, renamed in case only
    versions = [response.get_json(force=True)["meta"]["version"] for response in (created, added, removed, renamed, put)]
    assert versions[3] == versions[2]  # the PATCH that changed nothing moved no version
    assert len({versions[0], versions[1], versions[2], versions[4]}) == 4 and all(v.startswith('W/"') for v in versions)
    assert [response.headers["ETag"] for response in (created, added, removed, renamed, put)] == versions

    actions = [e.action for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.target_id == group["id"])
                                                 .order_by(AuditEvent.seq))]
    assert actions == ["scim:group:create", "scim:group:update", "scim:group:update", "scim:group:update"]


def test_any_group_is_stored_and_its_unknown_members_are_kept_as_sent(scim, session):
    dana = create(scim, okta_user())
    created = scim("POST", "/Groups", {"displayName": "Marketing EMEA", "externalId": "okta-00g1",
                                       "members": [{"value": dana["id"]}, {"value": "00u-not-provisioned", "type": "User"}]})
    assert created.status_code == 201
    group = created.get_json(force=True)
    assert group["externalId"] == "okta-00g1"
    assert {"value": "00u-not-provisioned", "type": "User"} in group["members"]
    row = session.scalar(sa.select(ScimGroupMember).where(ScimGroupMember.value == "00u-not-provisioned"))
    assert row.person_id is None  # a reference, with no meaning in govern
    only = scim("GET", f"/Groups/{group['id']}?attributes=displayName").get_json(force=True)
    assert set(only) == {"schemas", "id", "displayName"}
    listed = scim("GET", "/Groups?excludedAttributes=members&startIndex=1&count=1").get_json(force=True)
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim("GET", f"/Groups/{group['id']}"), 404)
    assert scim_person(session, dana["id"]).status == PersonStatus.ACTIVE  # not the entitlement group: nobody departs


def test_patch_paths_and_entra_replace(scim, session):
    a, b, c = (create(scim, okta_user(f"{n}@example.com"))["id"] for n in "abc")
    group = scim("POST", "/Groups", {"displayName": "Editors", "members": [{"value": a}]}).get_json(force=True)["id"]
    replaced = patch_group(scim, group, {"op": "Replace", "path": "members", "value": [{"value": b}, {"value": c}]})
    assert members_of(replaced) == sorted([b, c])
    swapped = patch_group(scim, group, {"op": "replace", "path": f'members[value eq "{b}"]', "value": [{"value": a}]})
    assert members_of(swapped) == sorted([a, c])
    renamed = patch_group(scim, group, {"op": "Replace", "path": "displayName", "value": "Editors EMEA"},
                          {"op": "Add", "path": "externalId", "value": "aad-1"})
    assert (renamed.get_json(force=True)["displayName"], renamed.get_json(force=True)["externalId"]) == ("Editors EMEA", "aad-1")
    no_path = patch_group(scim, group, {"op": "add", "value": {"members": [{"value": b}]}})
    assert members_of(no_path) == sorted([a, b, c])
    emptied = patch_group(scim, group, {"op": "remove", "path": "members"}, {"op": "remove", "path": "externalId"})
    assert emptied.get_json(force=True)["members"] == [] and "externalId" not in emptied.get_json(force=True)


def test_group_errors_are_scim_errors(scim):
    scim("POST", "/Groups", {"displayName": "Editors"})
    group = scim("POST", "/Groups", {"displayName": "Writers"}).get_json(force=True)["id"]
    assert_scim_error(scim("POST", "/Groups", {"displayName": "EDITORS"}), 409, "uniqueness")
    assert_scim_error(patch_group(scim, group, {"op": "replace", "path": "displayName", "value": "editors"}), 409, "uniqueness")
    assert_scim_error(patch_group(scim, group, {"op": "remove", "path": "displayName"}), 400, "mutability")
    assert_scim_error(patch_group(scim, group, {"op": "replace", "path": "id", "value": "x"}), 400, "mutability")
    assert_scim_error(patch_group(scim, group, {"op": "add", "path": "owner", "value": "x"}), 400, "invalidPath")
    assert_scim_error(patch_group(scim, group, {"op": "replace", "path": 'members[value eq "nobody"]', "value": [{"value": "x"}]}),
                      400, "noTarget")
    assert_scim_error(patch_group(scim, group, {"op": "add", "path": "members", "value": "x"}), 400, "invalidValue")
    assert_scim_error(scim("PUT", f"/Groups/{group}", {"members": []}), 400, "invalidValue")
    assert_scim_error(scim("PATCH", "/Groups/no-such-group", {"Operations": [{"op": "remove", "path": "members"}]}), 404)
    assert_scim_error(scim("DELETE", "/Groups/no-such-group"), 404)
    assert_scim_error(scim("GET", "/Groups?" + where('owner eq "x"')), 400, "invalidFilter")
    assert_scim_error(scim("GET", "/Groups?" + where('userName eq "x"')), 400, "invalidFilter")


# ---- the entitlement group: never revoking anybody by surprise ----

def _entitlement_group_of(scim, session, actor, count: int) -> tuple[str, list[Person]]:
    people = [service.create_user(session, actor, UserInput(f"e{n}@example.com", f"E {n}")) for n in range(count)]
    session.commit()
    body = {"displayName": "social-media", "members": [{"value": p.external_id} for p in people]}
    response = scim("POST", "/Groups", body)
    assert response.status_code == 201
    return response.get_json(force=True)["id"], people


def test_removing_a_few_members_departs_them_and_many_are_held(scim, session, actor):
    group, people = _entitlement_group_of(scim, session, actor, 30)
    few = patch_group(scim, group, {"op": "remove", "path": "members", "value": [{"value": p.external_id} for p in people[:2]]})
    assert few.status_code == 200
    assert [session.get(Person, p.id).status for p in people[:3]] == [PersonStatus.LEAVER, PersonStatus.LEAVER, PersonStatus.ACTIVE]
    many = patch_group(scim, group, {"op": "replace", "path": "members", "value": [{"value": people[2].external_id}]})
    assert many.status_code == 200 and members_of(many) == [people[2].external_id]
    held = last_run(session)
    assert held.status == SyncStatus.HELD and len(held.held_departures) == 27
    assert all(session.get(Person, p.id).status == PersonStatus.ACTIVE for p in people[2:])
    decide_held_run(session, actor, held.id, approve=True)
    session.commit()
    assert [session.get(Person, p.id).status for p in people[2:4]] == [PersonStatus.ACTIVE, PersonStatus.LEAVER]


@pytest.mark.parametrize("how", ["delete", "rename"])
def test_deleting_or_renaming_the_entitlement_group_holds_every_departure(scim, session, actor, how):
    group, people = _entitlement_group_of(scim, session, actor, 2)
    if how == "delete":
        assert scim("DELETE", f"/Groups/{group}").status_code == 204
        assert session.get(ScimGroup, group) is None
    else:
        renamed = patch_group(scim, group, {"op": "replace", "path": "displayName", "value": "social-media-old"})
        assert renamed.status_code == 200 and len(renamed.get_json(force=True)["members"]) == 2
    held = last_run(session)
    assert held.status == SyncStatus.HELD and sorted(d["person_id"] for d in held.held_departures) == sorted(p.id for p in people)
    assert all(session.get(Person, p.id).status == PersonStatus.ACTIVE for p in people)  # nobody revoked by surprise


def test_the_entitlement_group_keeps_the_id_it_had_before_groups_were_stored(scim, session, actor):
    from govern.scim.groups import legacy_id

    group, _ = _entitlement_group_of(scim, session, actor, 1)
    assert group == legacy_id("social-media")


# ---- role groups: console roles from membership ----

def _console_user(session, person_id: int) -> ConsoleUser | None:
    return session.scalar(sa.select(ConsoleUser).where(ConsoleUser.person_id == person_id))


def test_role_group_membership_gives_and_removes_the_console_role(scim, session, role_groups):
    dana = create(scim, okta_user("dana@example.com"))
    person_id = scim_person(session, dana["id"]).id
    governance = scim("POST", "/Groups", {"displayName": "Social-Governance", "members": [{"value": dana["id"]}]})
    assert governance.status_code == 201
    user = _console_user(session, person_id)
    assert (user.role, user.email, user.disabled_at) == (Role.GOVERNANCE, "dana@example.com", None)

    it = scim("POST", "/Groups", {"displayName": "social-it", "members": [{"value": dana["id"]}]}).get_json(force=True)
    assert _console_user(session, person_id).role == Role.GOVERNANCE  # the first configured group decides
    left = patch_group(scim, governance.get_json(force=True)["id"], {"op": "remove", "path": f'members[value eq "{dana["id"]}"]'})
    assert left.status_code == 200 and _console_user(session, person_id).role == Role.IT
    assert scim("DELETE", f"/Groups/{it['id']}").status_code == 204
    user = _console_user(session, person_id)
    assert user.disabled_at is not None and scim_person(session, dana["id"]).status == PersonStatus.ACTIVE

    back = patch_group(scim, governance.get_json(force=True)["id"], {"op": "add", "path": "members", "value": [{"value": dana["id"]}]})
    assert back.status_code == 200
    user = _console_user(session, person_id)
    assert (user.role, user.disabled_at) == (Role.GOVERNANCE, None)  # SCIM switched it off, so SCIM switches it on
    trail = [(e.action, e.summary) for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(
        ["scim:person:console_role", "auth:console_user:update", "auth:console_user:disable", "auth:console_user:enable"]))
        .order_by(AuditEvent.seq))]
    assert [action for action, _ in trail].count("scim:person:console_role") == 4


def test_a_console_user_an_administrator_switched_off_stays_off(scim, session, actor, role_groups):
    from govern.auth.users import disable

    dana = create(scim, okta_user("dana@example.com"))
    group = scim("POST", "/Groups", {"displayName": "social-it", "members": [{"value": dana["id"]}]}).get_json(force=True)["id"]
    user = _console_user(session, scim_person(session, dana["id"]).id)
    disable(session, actor, user.id, "on leave")
    session.commit()
    patch_group(scim, group, {"op": "replace", "path": "displayName", "value": "social-governance"})
    user = _console_user(session, scim_person(session, dana["id"]).id)
    assert user.role == Role.GOVERNANCE and user.disabled_at is not None



def test_the_last_administrator_is_never_switched_off_by_a_group_change(scim, session, app, monkeypatch):
    settings = app_services.settings(app).model_copy(update={"scim_role_groups": {"social-admins": "admin"}})
    monkeypatch.setitem(app.extensions, "govern.settings", settings)
    session.execute(sa.update(ConsoleUser).where(ConsoleUser.role == Role.ADMIN).values(disabled_at=sa.func.now()))
    session.commit()
    dana = create(scim, okta_user("dana@example.com"))
    group = scim("POST", "/Groups", {"displayName": "social-admins", "members": [{"value": dana["id"]}]}).get_json(force=True)["id"]
    person_id = scim_person(session, dana["id"]).id
    assert _console_user(session, person_id).role == Role.ADMIN
    left = patch_group(scim, group, {"op": "remove", "path": "members"})
    assert left.status_code == 200 and left.get_json(force=True)["members"] == []  # the group change itself stands
    user = _console_user(session, person_id)
    assert user.disabled_at is None and user.role == Role.ADMIN
    refused = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "scim:person:console_role_refused")).all()
    assert [event.summary.get("code") for event in refused] == ["last_admin"]
    from govern.audit.trail import verify_chain

    assert verify_chain(session).ok  # the refused change's events were undone with it, and the chain is whole


def test_a_deleted_user_is_gone_from_every_group_and_a_deactivated_one_stays(scim, session):
    dana, omer = create(scim, okta_user("dana@example.com")), create(scim, okta_user("omer@example.com"))
    group = scim("POST", "/Groups", {"displayName": "Editors", "members": [{"value": dana["id"]}, {"value": omer["id"]}]})
    group_id = group.get_json(force=True)["id"]
    assert scim("DELETE", f"/Users/{dana['id']}").status_code == 204
    assert scim("PATCH", f"/Users/{omer['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "active", "value": False}]}).status_code == 200
    assert members_of(scim("GET", f"/Groups/{group_id}")) == [omer["id"]]
