"""SCIM 2.0 provisioning on real PostgreSQL: Okta- and Entra-style request sets, departures, errors and tokens."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.directory.models import Departure, SyncMode, SyncRun, SyncStatus
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim import service
from govern.scim.models import ScimUserAttributes
from govern.scim.schemas import UserInput
from tests import factories

SCIM_JSON = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def scim(client, session, actor):
    """A SCIM client for Okta or Entra: call(method, path, body) with its bearer token and SCIM content type."""
    _, token = create_api_client(session, actor, f"idp-{uuid.uuid4().hex[:6]}", Role.SCIM)
    session.commit()
    common = {"Authorization": f"Bearer {token.reveal()}", "Accept": SCIM_JSON}

    def call(method: str, path: str, body=None, raw: str | None = None, headers: dict[str, str] | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        extra = {"Content-Type": SCIM_JSON} if data is not None else {}
        response = client.open(f"/scim/v2{path}", method=method, data=data, headers={**common, **extra, **(headers or {})})
        session.expire_all()  # the request committed through its own unit of work
        return response

    return call


def where(expression: str) -> str:
    return "filter=" + quote(expression)


def scim_person(session, scim_id: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.source == PersonSource.SCIM, Person.external_id == scim_id))


def departure_of(session, person: Person) -> Departure:
    return session.scalar(sa.select(Departure).where(Departure.person_id == person.id))


def assert_scim_error_response(response, status: int, scim_type: str | None = None):
    assert_scim_error(response, status, scim_type)
    return response


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def okta_user(user_name: str = "dana.levi@example.com", **overrides) -> dict:
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Dana", "familyName": "Levi"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Dana Levi",
        "locale": "en-US",
        "externalId": "00u1dana",
        "groups": [],
        "password": "never-stored-1!",
        "active": True,
    }
    return {**body, **overrides}


def create(scim, body: dict) -> dict:
    response = scim("POST", "/Users", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)


# ---- recorded request sets ----

def test_okta_create_find_update_deactivate_and_return(scim, session, actor):
    search = "/Users?" + where('userName eq "dana.levi@example.com"') + "&startIndex=1&count=100"
    empty = scim("GET", search).get_json(force=True)
    assert empty["totalResults"] == 0 and empty["Resources"] == []

    created = scim("POST", "/Users", okta_user())
    assert created.status_code == 201 and created.mimetype == SCIM_JSON
    user = created.get_json(force=True)
    assert created.headers["Location"].endswith(f"/scim/v2/Users/{user['id']}")
    assert (user["userName"], user["displayName"], user["active"], user["externalId"]) == ("dana.levi@example.com", "Dana Levi", True, "00u1dana")
    dana = scim_person(session, user["id"])
    assert (dana.username, dana.email, dana.status) == ("dana.levi@example.com", "dana.levi@example.com", PersonStatus.ACTIVE)
    # the client's externalId has a column of its own; people.dn stays the directory's name, which SCIM has none of
    assert (session.get(ScimUserAttributes, dana.id).external_id, dana.dn) == ("00u1dana", "")

    found = scim("GET", search).get_json(force=True)
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]
    assert scim("GET", f"/Users/{user['id']}").get_json(force=True)["userName"] == "dana.levi@example.com"

    profile = okta_user(displayName="Dana Levi-Cohen", **{ENTERPRISE: {"department": "Communications"}})
    updated = scim("PUT", f"/Users/{user['id']}", {**profile, "id": user["id"]}).get_json(force=True)
    assert updated["displayName"] == "Dana Levi-Cohen" and updated[ENTERPRISE]["department"] == "Communications"

    grant = create_grant(session, actor, dana.id, factories.account(session, actor).id, GrantRole.PUBLISHER, "campaign")
    session.commit()
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    response = scim("PATCH", f"/Users/{user['id']}", deactivate)
    assert response.status_code == 200 and response.get_json(force=True)["active"] is False
    dana = scim_person(session, user["id"])
    assert dana.status == PersonStatus.LEAVER and session.get(Grant, grant.id).revoked_at is not None
    assert departure_of(session, dana).signals == ["scim_deactivated"]

    back = scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert back.get_json(force=True)["active"] is True
    assert scim_person(session, user["id"]).status == PersonStatus.ACTIVE
    assert session.get(Grant, grant.id).revoked_at is not None  # a returner gets nothing back
    runs = session.scalars(sa.select(SyncRun).where(SyncRun.source == "scim").order_by(SyncRun.id)).all()
    assert [run.mode for run in runs] == [SyncMode.SCIM] * 4 and all(run.status == SyncStatus.SUCCEEDED for run in runs)
    assert [run.counts["departed"] for run in runs] == [0, 0, 1, 0] and runs[3].counts["returned"] == 1
    trail = " ".join(json.dumps(event.summary) for event in session.scalars(sa.select(AuditEvent)))
    assert "directory:person:depart" in {e.action for e in session.scalars(sa.select(AuditEvent))}
    assert "never-stored-1!" not in trail  # Okta sends a password; govern ignores it


def entra_user(user_name: str, object_id: str, **overrides) -> dict:
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": object_id,
        "userName": user_name,
        "active": True,
        "displayName": "نور حداد",
        "emails": [{"primary": True, "type": "work", "value": user_name.upper()}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "نور حداد", "familyName": "حداد", "givenName": "نور"},
        "roles": [],
        ENTERPRISE: {"department": "Marketing"},
    }
    return {**body, **overrides}


def test_entra_replace_ops_string_booleans_and_group_member_removal(scim, session, actor):
    noor = create(scim, entra_user("noor@contoso.com", "7d3b-noor"))
    sam = create(scim, entra_user("sam@contoso.com", "7d3b-sam", displayName="Sam Ito", name={"formatted": "Sam Ito"}))
    by_external = scim("GET", "/Users?" + where('externalId eq "7d3b-noor"')).get_json(force=True)
    assert [r["id"] for r in by_external["Resources"]] == [noor["id"]]
    assert scim_person(session, noor["id"]).email == "noor@contoso.com"

    replace_ops = {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "noor.haddad@contoso.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Haddad"},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": sam["id"]},
        {"op": "Add", "path": "title", "value": "Editor"},  # not kept by govern, and not an error
    ]}
    patched = scim("PATCH", f"/Users/{noor['id']}", replace_ops)
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json(force=True)[ENTERPRISE]["manager"]["value"] == sam["id"]
    person = scim_person(session, noor["id"])
    assert (person.email, person.display_name, person.manager.username) == ("noor.haddad@contoso.com", "نور حداد", "sam@contoso.com")

    report = create(scim, entra_user("kai@contoso.com", "7d3b-kai", **{ENTERPRISE: {"manager": {"value": "7d3b-noor"}}}))
    assert report[ENTERPRISE]["manager"]["value"] == noor["id"]  # Entra may name the manager by its own id

    groups = scim("GET", "/Groups?excludedAttributes=members&" + where('displayName eq "social-media"')).get_json(force=True)
    assert groups["totalResults"] == 0  # Entra looks the group up first, then creates it
    pushed = scim("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "grp-1",
                                      "displayName": "social-media", "meta": {"resourceType": "Group"}, "members": []})
    assert pushed.status_code == 201
    group_id = pushed.get_json(force=True)["id"]
    found = scim("GET", "/Groups?excludedAttributes=members&" + where('displayName eq "Social-Media"')).get_json(force=True)
    assert [g["id"] for g in found["Resources"]] == [group_id] and "members" not in found["Resources"][0]
    added = scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": noor["id"]}, {"$ref": None, "value": sam["id"]}]}]})
    assert {m["value"] for m in added.get_json(force=True)["members"]} == {noor["id"], sam["id"]}

    removed = scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": noor["id"]}]}]})
    assert removed.status_code == 200 and [m["value"] for m in removed.get_json(force=True)["members"]] == [sam["id"]]
    assert departure_of(session, scim_person(session, noor["id"])).signals == ["scim_removed_from_entitlement_group"]

    disabled = scim("PATCH", f"/Users/{sam['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert disabled.status_code == 200 and disabled.get_json(force=True)["active"] is False
    assert scim_person(session, sam["id"]).status == PersonStatus.LEAVER
    # membership is the identity provider's to change: a deactivated user stays a member until it removes them
    assert [m["value"] for m in scim("GET", f"/Groups/{group_id}").get_json(force=True)["members"]] == [sam["id"]]


def test_okta_removes_one_member_by_filter_path(scim, session):
    user = create(scim, okta_user("tom@example.com", externalId="00u1tom"))
    group = create_group(scim, [user["id"]])
    path = f'members[value eq "{user["id"]}"]'
    response = scim("PATCH", f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]})
    assert response.status_code == 200 and response.get_json(force=True)["members"] == []
    assert scim_person(session, user["id"]).status == PersonStatus.LEAVER
    again = scim("PATCH", f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]})
    assert again.status_code == 200  # a retried removal is not an error


def create_group(scim, members: list[str] = (), name: str = "Social-Media") -> str:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
            "members": [{"value": member} for member in members]}
    response = scim("POST", "/Groups", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)["id"]


# ---- departures ----

def test_a_deactivated_user_loses_their_grant_at_once(scim, session, actor):
    user = create(scim, okta_user("lina@example.com", externalId="00u1lina"))
    lina = scim_person(session, user["id"])
    grant = create_grant(session, actor, lina.id, factories.account(session, actor).id, GrantRole.ANALYST, "reports")
    session.commit()
    response = scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert response.status_code == 200
    assert session.get(Grant, grant.id).revoked_at is not None
    departure = departure_of(session, scim_person(session, user["id"]))
    assert departure.source == "scim" and departure.steps["grants_revoked"] == 1
    assert departure.access_removed_at is not None and 0 <= departure.time_to_revoke_seconds < 5
    again = scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert again.status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(Departure).where(Departure.person_id == lina.id)) == 1


def test_delete_departs_and_the_user_is_gone_for_scim(scim, session):
    user = create(scim, okta_user("omar@example.com", externalId="00u1omar"))
    person_id = scim_person(session, user["id"]).id
    assert scim("DELETE", f"/Users/{user['id']}").status_code == 204
    gone = session.get(Person, person_id)
    assert gone.status == PersonStatus.LEAVER and departure_of(session, gone).signals == ["scim_deleted"]
    assert_scim_error(scim("GET", f"/Users/{user['id']}"), 404)
    assert_scim_error(scim("DELETE", f"/Users/{user['id']}"), 404)
    listed = scim("GET", "/Users?" + where('userName eq "omar@example.com"')).get_json(force=True)
    assert listed["totalResults"] == 0
    again = create(scim, okta_user("omar@example.com", externalId="00u1omar"))  # a new resource, not the old person
    assert again["id"] != user["id"] and scim_person(session, again["id"]).id != person_id


def test_a_user_provisioned_inactive_is_never_active(scim, session):
    user = create(scim, entra_user("late@contoso.com", "7d3b-late", active="False"))
    assert user["active"] is False and scim_person(session, user["id"]).status == PersonStatus.LEAVER


def test_removing_many_members_at_once_is_held_for_a_decision(scim, session, actor):
    people = [service.create_user(session, actor, UserInput(f"bulk{n}@example.com", f"Bulk {n}")) for n in range(30)]
    session.commit()
    group = create_group(scim, [p.external_id for p in people])
    response = scim("PATCH", f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]})
    assert response.status_code == 200
    held = session.scalars(sa.select(SyncRun).where(SyncRun.source == "scim").order_by(SyncRun.id.desc())).first()
    assert held.status == SyncStatus.HELD and len(held.held_departures) == 30
    assert all(session.get(Person, p.id).status == PersonStatus.ACTIVE for p in people)


# ---- errors ----

def test_a_duplicate_user_name_is_a_uniqueness_conflict(scim):
    create(scim, okta_user("dup@example.com"))
    body = assert_scim_error(scim("POST", "/Users", okta_user("DUP@example.com")), 409, "uniqueness")
    assert "dup@example.com" in body["detail"].lower()
    other = create(scim, okta_user("other@example.com"))
    renamed = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "dup@example.com"}]}
    assert_scim_error(scim("PATCH", f"/Users/{other['id']}", renamed), 409, "uniqueness")


@pytest.mark.parametrize(("method", "path", "raw", "scim_type"), [
    ("POST", "/Users", "{not json", "invalidSyntax"),
    ("POST", "/Users", "", "invalidSyntax"),
    ("POST", "/Users", "[1, 2]", "invalidSyntax"),
    ("POST", "/Users", json.dumps({"userName": ""}), "invalidValue"),
    ("POST", "/Users", json.dumps({"userName": "x@example.com", "active": "maybe"}), "invalidValue"),
    ("POST", "/Users", json.dumps({"userName": "x@example.com", "emails": "x@example.com"}), "invalidValue"),
    ("POST", "/Users", json.dumps({"userName": "x" * 300}), "invalidValue"),
    ("POST", "/Groups", json.dumps({"members": []}), "invalidValue"),
])
def test_bad_input_is_a_scim_400(scim, method, path, raw, scim_type):
    assert_scim_error(scim(method, path, raw=raw), 400, scim_type)


def test_bad_patches_and_filters_are_scim_400s(scim):
    user = create(scim, okta_user("pat@example.com"))
    url = f"/Users/{user['id']}"
    assert_scim_error(scim("PATCH", url, {"Operations": [{"op": "move", "path": "active"}]}), 400, "invalidSyntax")
    assert_scim_error(scim("PATCH", url, {"Operations": []}), 400, "invalidSyntax")
    assert_scim_error(scim("PATCH", url, {"Operations": [{"op": "remove"}]}), 400, "invalidPath")
    assert_scim_error(scim("PATCH", url, {"Operations": [{"op": "replace", "path": "active", "value": "yes"}]}), 400, "invalidValue")
    assert_scim_error(scim("PATCH", url, {"Operations": [{"op": "remove", "path": "userName"}]}), 400, "mutability")
    assert_scim_error(scim("PATCH", url, raw="{"), 400, "invalidSyntax")
    assert_scim_error(scim("GET", "/Users?" + where('userName xx "pat"')), 400, "invalidFilter")
    assert_scim_error(scim("GET", "/Users?" + where('title eq "x"')), 400, "invalidFilter")
    assert_scim_error(scim("GET", "/Users?count=many"), 400, "invalidValue")
    assert_scim_error(scim("PUT", "/Users/no-such-user", okta_user("pat@example.com")), 404)
    assert_scim_error(scim("GET", "/Nowhere"), 404)
    assert_scim_error(scim("PUT", "/Groups/any", {"displayName": "social-media"}), 404)
    assert scim_person_count(scim) == 1


def scim_person_count(scim) -> int:
    return scim("GET", "/Users").get_json(force=True)["totalResults"]


def test_paging_follows_start_index_and_count(scim):
    ids = [create(scim, okta_user(f"page{n}@example.com", externalId=f"00u{n}"))["id"] for n in range(3)]
    page = scim("GET", "/Users?startIndex=2&count=1").get_json(force=True)
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert [r["id"] for r in page["Resources"]] == [ids[1]]
    assert scim("GET", "/Users?count=0").get_json(force=True)["Resources"] == []


# ---- authentication and discovery ----

def test_missing_or_wrong_tokens_get_a_scim_401(client):
    for headers in ({}, {"Authorization": "Bearer gov_not-a-real-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/scim/v2/Users", headers=headers)
        assert_scim_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.IT, Role.GOVERNANCE, Role.AUDITOR])
def test_only_scim_tokens_may_provision(client, auth_headers, role):
    """Admin included: people come from the identity provider alone (see govern/auth/roles.py)."""
    headers = auth_headers(role)
    assert_scim_error(client.get("/scim/v2/Users", headers=headers), 403)
    assert_scim_error(client.post("/scim/v2/Users", json=okta_user("x@example.com"), headers=headers), 403)


def test_a_scim_token_opens_nothing_else(client, scim, session, actor):
    _, token = create_api_client(session, actor, "okta-only", Role.SCIM)
    session.commit()
    response = client.get("/api/v1/people", headers={"Authorization": f"Bearer {token.reveal()}"})
    assert response.status_code == 403


def test_discovery_documents(scim):
    config = scim("GET", "/ServiceProviderConfig")
    assert config.mimetype == SCIM_JSON and config.get_json(force=True)["patch"]["supported"] is True
    types = scim("GET", "/ResourceTypes").get_json(force=True)
    assert {r["id"] for r in types["Resources"]} == {"User", "Group"}
    schemas = scim("GET", "/Schemas").get_json(force=True)
    assert USER_SCHEMA in {s["id"] for s in schemas["Resources"]}
    assert scim("GET", f"/Schemas/{USER_SCHEMA}").status_code == 200
    assert_scim_error(scim("GET", "/ResourceTypes/Printer"), 404)


def test_json_content_type_is_accepted_too(client, session, actor):
    _, token = create_api_client(session, actor, "plain-json", Role.SCIM)
    session.commit()
    response = client.post("/scim/v2/Users", json=okta_user("json@example.com"), headers={"Authorization": f"Bearer {token.reveal()}"})
    assert response.status_code == 201 and response.mimetype == SCIM_JSON


# ---- the CLI ----

def test_scim_token_create_mints_a_provisioning_only_token(scratch_postgres, tmp_path, monkeypatch):
    from govern.cli import main

    url = scratch_postgres.create("govern_scim_cli")
    try:
        monkeypatch.setenv("GOVERN_DATABASE_URL", url)
        monkeypatch.setenv("GOVERN_SECRET_KEY", "cli-secret-" + "k" * 32)
        monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path))
        runner = CliRunner()
        assert runner.invoke(main, ["db", "upgrade"], catch_exceptions=False).exit_code == 0
        result = runner.invoke(main, ["scim", "token", "create", "--name", "okta"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        token = result.stdout.strip().splitlines()[-1]
        assert token.startswith("gov_")
        ending = runner.invoke(main, ["scim", "token", "create", "--name", "entra", "--expires-in-days", "365"])
        assert ending.exit_code == 0, ending.output
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT role, token_hash, expires_at FROM api_clients WHERE name = 'okta'")).one()
            ends = connection.execute(sa.text("SELECT expires_at FROM api_clients WHERE name = 'entra'")).scalar_one()
        engine.dispose()
        assert row.role == "scim" and token not in row.token_hash and row.expires_at is None and ends is not None
        console = runner.invoke(main, ["console", "create-user", "--email", "a@b.c", "--name", "A", "--role", "scim"])
        assert console.exit_code != 0 and "scim" in console.output
    finally:
        scratch_postgres.drop(url)


# ---- issue 11: hostile input is a SCIM 400, never a 5xx ----

@pytest.mark.parametrize("query", ["startIndex=99999999999999999999", "count=99999999999999999999",
                                   "startIndex=2147483648", "startIndex=-99999999999999999999"])
@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
def test_paging_beyond_the_database_range_is_a_scim_400(scim, resource, query):
    assert "must be between" in assert_scim_error(scim("GET", f"{resource}?{query}"), 400, "invalidValue")["detail"]


@pytest.mark.parametrize("raw, words", [
    ('{"userName": "\\ud800@example.com"}', "surrogate"),
    ('{"userName": "a@example.com", "name": {"givenName": "\\udfff"}}', "surrogate"),
    ('{"userName": "a\\u0000b@example.com"}', "NUL"),
    ('{"userName": "a@example.com", "x": ' + "[" * 65 + "]" * 65 + "}", "nested more than 64"),
    ('{"userName": "a@example.com", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 64"),
])
@pytest.mark.parametrize("method, path", [("POST", "/Users"), ("POST", "/Groups")])
def test_hostile_json_is_refused_before_any_scim_view(scim, method, path, raw, words):
    assert words in assert_scim_error(scim(method, path, raw=raw), 400, "invalidSyntax")["detail"]


def test_a_nul_in_a_scim_id_is_a_400(scim):
    assert "NUL" in assert_scim_error(scim("GET", "/Users/abc%00def"), 400, "invalidSyntax")["detail"]


# ---- projection, search, and what the client sent kept (decision 0076) ----

def patch(scim, user_id: str, *operations: dict):
    return scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def test_attributes_and_excluded_attributes_shape_every_read(scim):
    dana = create(scim, okta_user(**{ENTERPRISE: {"department": "Communications"}}))
    only = scim("GET", f"/Users/{dana['id']}?attributes=userName,name.givenName").get_json(force=True)
    assert set(only) == {"schemas", "id", "userName", "name"} and only["name"] == {"givenName": "Dana"}
    without = scim("GET", f"/Users/{dana['id']}?excludedAttributes=emails,{ENTERPRISE}:department").get_json(force=True)
    assert "emails" not in without and "department" not in without.get(ENTERPRISE, {}) and without["id"] == dana["id"]
    listed = scim("GET", "/Users?attributes=urn:ietf:params:scim:schemas:core:2.0:User:userName").get_json(force=True)
    assert [set(r) for r in listed["Resources"]] == [{"schemas", "id", "userName"}]
    assert_scim_error(scim("GET", "/Users?attributes=userName&excludedAttributes=emails"), 400, "invalidValue")


def test_search_by_post_at_the_root_and_per_resource_type(scim):
    dana = create(scim, okta_user())
    create_group(scim, [dana["id"]], name="social-media")
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "dana.levi@example.com"', "attributes": ["userName"], "startIndex": 1, "count": 10}
    users = scim("POST", "/Users/.search", body)
    assert users.status_code == 200, users.get_data(as_text=True)
    assert [(r["id"], set(r)) for r in users.get_json(force=True)["Resources"]] == [(dana["id"], {"schemas", "id", "userName"})]
    everything = scim("POST", "/.search", {"excludedAttributes": ["members"]}).get_json(force=True)
    kinds = [r["schemas"][0].rsplit(":", 1)[1] for r in everything["Resources"]]
    assert kinds == ["User", "Group"] and everything["totalResults"] == 2 and "members" not in everything["Resources"][1]
    by_name = scim("POST", "/.search", {"filter": 'displayName eq "social-media"'}).get_json(force=True)
    assert [r["displayName"] for r in by_name["Resources"]] == ["social-media"]  # users cannot match a group filter
    groups = scim("POST", "/Groups/.search", {"filter": 'displayName eq "social-media"', "count": 0}).get_json(force=True)
    assert groups["totalResults"] == 1 and groups["Resources"] == []
    assert_scim_error(scim("POST", "/.search", {"filter": "title co x"}), 400, "invalidFilter")
    assert_scim_error(scim("POST", "/Users/.search", {"attributes": "userName", "excludedAttributes": "emails"}), 400, "invalidValue")


def test_patch_keeps_name_parts_email_types_and_the_enterprise_extension(scim, session):
    dana = create(scim, okta_user(emails=[{"value": "dana@example.com", "type": "work", "primary": True},
                                          {"value": "dana@home.example", "type": "home", "primary": False}]))
    assert dana["emails"][1] == {"value": "dana@home.example", "type": "home", "primary": False}
    given = patch(scim, dana["id"], {"op": "replace", "path": "name.givenName", "value": "Dani"}).get_json(force=True)
    assert given["name"] == {"givenName": "Dani", "familyName": "Levi"} and given["displayName"] == "Dana Levi"
    added = patch(scim, dana["id"], {"op": "add", "path": "name", "value": {"formatted": "Dani Levi"}}).get_json(force=True)
    assert added["name"] == {"formatted": "Dani Levi", "givenName": "Dani", "familyName": "Levi"}
    home = patch(scim, dana["id"], {"op": "replace", "path": 'emails[type eq "home"].value', "value": "d@home.example"})
    assert [(e["value"], e["type"]) for e in home.get_json(force=True)["emails"]] == [("dana@example.com", "work"), ("d@home.example", "home")]
    assert scim_person(session, dana["id"]).email == "dana@example.com"  # the primary one is the one govern writes to
    removed = patch(scim, dana["id"], {"op": "remove", "path": "name"}, {"op": "remove", "path": "displayName"}).get_json(force=True)
    assert "name" not in removed and "displayName" not in removed
    assert scim_person(session, dana["id"]).display_name == "Dana Levi"  # govern still needs a name to show
    extension = {"department": "Comms", "manager": {"value": "00u-not-yet"}}
    with_extension = patch(scim, dana["id"], {"op": "add", "path": ENTERPRISE, "value": extension}).get_json(force=True)
    assert with_extension[ENTERPRISE] == extension and ENTERPRISE in with_extension["schemas"]
    gone = patch(scim, dana["id"], {"op": "remove", "path": ENTERPRISE}).get_json(force=True)
    assert ENTERPRISE not in gone and gone["schemas"] == [USER_SCHEMA]
    actions = [e.action for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "scim:user:attributes"))]
    assert len(actions) >= 5  # each change to what is kept is on the trail


def test_a_manager_not_yet_provisioned_is_kept_and_linked_when_they_arrive(scim, session):
    kai = create(scim, okta_user("kai@example.com", externalId="00u-kai", **{ENTERPRISE: {"manager": {"value": "00u-boss"}}}))
    assert kai[ENTERPRISE]["manager"] == {"value": "00u-boss"} and scim_person(session, kai["id"]).manager_id is None
    boss = create(scim, okta_user("boss@example.com", externalId="00u-boss"))
    linked = scim("GET", f"/Users/{kai['id']}").get_json(force=True)
    assert linked[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert scim_person(session, kai["id"]).manager.username == "boss@example.com"


def test_removing_active_means_false_and_departs(scim, session, actor):
    dana = create(scim, okta_user())
    removed = patch(scim, dana["id"], {"op": "remove", "path": "active"})
    assert removed.status_code == 200 and "active" not in removed.get_json(force=True)
    person = scim_person(session, dana["id"])
    assert person.status == PersonStatus.LEAVER and departure_of(session, person).signals == ["scim_deactivated"]
    back = patch(scim, dana["id"], {"op": "replace", "path": "active", "value": "True"}).get_json(force=True)
    assert back["active"] is True and scim_person(session, dana["id"]).status == PersonStatus.ACTIVE


def test_the_root_search_pages_through_users_then_groups(scim):
    ids = [create(scim, okta_user(f"p{n}@example.com"))["id"] for n in range(3)]
    create_group(scim, ids)
    pages = [scim("POST", "/.search", {"startIndex": start, "count": 2, "attributes": ["id"]}).get_json(force=True)
             for start in (1, 3, 5)]
    assert [page["totalResults"] for page in pages] == [4, 4, 4]
    assert [[r["id"] for r in page["Resources"]] for page in pages][:1] == [ids[:2]]
    assert [r["id"] for r in pages[1]["Resources"]][0] == ids[2] and len(pages[1]["Resources"]) == 2
    assert pages[1]["Resources"][1]["schemas"][0].endswith(":Group") and pages[2]["Resources"] == []
