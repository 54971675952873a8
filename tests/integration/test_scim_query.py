"""SCIM Users on real PostgreSQL: filters, sorting and search through the API, versions (ETag, If-Match), the
database's one-userName rule under concurrent creates, and Entra ID's recorded provisioning requests replayed."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.extensions import db
from govern.people.models import Person, PersonSource
from govern.scim import service
from govern.scim.errors import Uniqueness
from govern.scim.schemas import parse_user
from tests.integration.test_scim import (  # noqa: F401  (scim is a fixture)
    ENTERPRISE,
    PATCH_OP,
    SCIM_JSON,
    assert_scim_error,
    create,
    okta_user,
    scim,
    where,
)
from tests.support.postgres import migration_database

ENTRA_REQUESTS = Path(__file__).parents[1] / "data" / "scim" / "entra_provisioning.json"


def listed(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [resource["userName"] for resource in response.get_json(force=True)["Resources"]]


@pytest.fixture
def staff(scim) -> dict[str, dict]:
    people = {
        "ana": okta_user("Ana.Cohen@Example.com", externalId="00u-ana", name={"givenName": "Ana", "familyName": "Cohen"},
                         emails=[{"value": "ana@example.com", "type": "work", "primary": True},
                                 {"value": "ana@home.example.net", "type": "home"}],
                         **{ENTERPRISE: {"department": "Communications"}}),
        "ben": okta_user("ben@example.org", externalId="00u-ben", name={"givenName": "Ben", "familyName": "Adler"},
                         emails=[{"value": "ben@example.org", "type": "home"}], active=False,
                         **{ENTERPRISE: {"department": "Marketing"}}),
        "dov": okta_user("dov@example.com", externalId="00u-dov", name={"givenName": "Dov", "familyName": "Mizrahi"},
                         emails=[{"value": "dov@example.com", "type": "work", "primary": True}]),
    }
    return {key: create(scim, body) for key, body in people.items()}


def test_filters_through_the_api_match_and_do_not_match(scim, staff):
    def users(expression: str) -> set[str]:
        return set(listed(scim("GET", "/Users?" + where(expression))))

    assert users('userName eq "ana.cohen@EXAMPLE.com"') == {"Ana.Cohen@Example.com"}
    assert users('emails[type eq "work" and value co "@example.com"]') == {"Ana.Cohen@Example.com", "dov@example.com"}
    assert users('emails[type eq "home" and value co "@example.com"]') == set()  # ana's home address is elsewhere
    assert users('name.familyName sw "c" or name.familyName sw "a"') == {"Ana.Cohen@Example.com", "ben@example.org"}
    assert users(f'{ENTERPRISE}:department eq "marketing"') == {"ben@example.org"}
    assert users('active eq true and not (userName co "ana")') == {"dov@example.com"}
    assert users('externalId eq "00U-BEN"') == set()  # externalId is caseExact
    assert users(f'id eq "{staff["ben"]["id"]}"') == {"ben@example.org"}
    assert users('meta.lastModified ge "2000-01-01T00:00:00Z" and userName ew ".org"') == {"ben@example.org"}
    for bad in ('title eq "x"', 'userName eq', 'emails[type eq "work"', 'name eq "x"', 'active gt true'):
        assert_scim_error(scim("GET", "/Users?" + where(bad)), 400, "invalidFilter")


def test_sort_and_paging(scim, staff):
    assert listed(scim("GET", "/Users?sortBy=name.familyName")) == ["ben@example.org", "Ana.Cohen@Example.com", "dov@example.com"]
    assert listed(scim("GET", "/Users?sortBy=userName&sortOrder=descending")) == [
        "dov@example.com", "ben@example.org", "Ana.Cohen@Example.com"]
    pages = [listed(scim("GET", f"/Users?sortBy=active&startIndex={start}&count=1")) for start in (1, 2, 3)]
    assert sorted(name for page in pages for name in page) == sorted(["Ana.Cohen@Example.com", "ben@example.org", "dov@example.com"])
    assert pages[0] == ["ben@example.org"]  # false before true
    assert_scim_error(scim("GET", "/Users?sortBy=title"), 400, "invalidValue")
    assert_scim_error(scim("GET", "/Users?sortBy=userName&sortOrder=sideways"), 400, "invalidValue")


def test_search_by_post_per_type_and_at_the_root(scim, staff):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'emails[type eq "work"] and active eq true', "sortBy": "userName", "sortOrder": "descending",
            "attributes": ["userName"], "startIndex": 1, "count": 10}
    found = scim("POST", "/Users/.search", body).get_json(force=True)
    assert [r["userName"] for r in found["Resources"]] == ["dov@example.com", "Ana.Cohen@Example.com"]
    assert set(found["Resources"][0]) == {"schemas", "id", "userName"}
    root = scim("POST", "/.search", body).get_json(force=True)  # Groups have no emails: only users match
    assert root["totalResults"] == 2 and {r["userName"] for r in root["Resources"]} == {"dov@example.com", "Ana.Cohen@Example.com"}
    assert_scim_error(scim("POST", "/.search", {"filter": "nosuch eq \"x\""}), 400, "invalidFilter")


def test_versions_etags_and_if_match(scim, staff):
    url = f"/Users/{staff['ana']['id']}"
    read = scim("GET", url)
    version = read.get_json(force=True)["meta"]["version"]
    assert version.startswith('W/"') and read.headers["ETag"] == version
    assert staff["ana"]["meta"]["version"] == version  # the create's answer carries the same version
    assert scim_with(scim, "GET", url, {"If-None-Match": version}).status_code == 304

    renamed = scim_with(scim, "PATCH", url, {"If-Match": version},
                        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ana C."}]})
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    newer = renamed.get_json(force=True)["meta"]["version"]
    assert newer != version and renamed.headers["ETag"] == newer

    stale = {"If-Match": version}
    assert_scim_error(scim_with(scim, "PATCH", url, stale, {"Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}), 412)
    assert_scim_error(scim_with(scim, "PUT", url, stale, okta_user("Ana.Cohen@Example.com", displayName="Y")), 412)
    assert_scim_error(scim_with(scim, "DELETE", url, stale), 412)
    assert scim("GET", url).get_json(force=True)["displayName"] == "Ana C."  # the stale writes changed nothing

    assert scim_with(scim, "PUT", url, {"If-Match": f'"{newer[3:-1]}", W/"other"'},  # a strong form of the tag matches too
                     okta_user("Ana.Cohen@Example.com", displayName="Ana Cohen")).status_code == 200
    assert scim_with(scim, "DELETE", url, {"If-Match": "*"}).status_code == 204
    assert_scim_error(scim_with(scim, "GET", f"/Users/{staff['ben']['id']}", {"If-None-Match": "not a tag"}), 400, "invalidValue")


def scim_with(scim, method: str, path: str, headers: dict[str, str], body=None):
    """A SCIM call with extra headers, through the same client and token as `scim`."""
    return scim(method, path, body, headers=headers)


def test_meta_location_follows_the_request_when_no_base_url_is_set(client, session, actor, scim, staff):
    resource = scim("GET", f"/Users/{staff['dov']['id']}").get_json(force=True)
    assert resource["meta"]["location"] == f"http://localhost/scim/v2/Users/{staff['dov']['id']}"
    _, token = create_api_client(session, actor, f"idp-{uuid.uuid4().hex[:6]}", Role.SCIM)
    session.commit()
    elsewhere = client.get(f"/scim/v2/Users/{staff['dov']['id']}", base_url="https://scim.example.test",
                           headers={"Authorization": f"Bearer {token.reveal()}"}).get_json(force=True)
    assert elsewhere["meta"]["location"] == f"https://scim.example.test/scim/v2/Users/{staff['dov']['id']}"


def test_discovery_tells_what_is_supported(scim):
    config = scim("GET", "/ServiceProviderConfig").get_json(force=True)
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert (config["sort"]["supported"], config["etag"]["supported"], config["patch"]["supported"]) == (True, True, True)
    assert (config["bulk"]["supported"], config["changePassword"]["supported"]) == (False, False)


# ---- one userName, even when two creates race ----

def _scim_token(app) -> str:
    with app.app_context():
        _, token = create_api_client(db.session, Actor("test:race", "race", "race-0001", "127.0.0.1"), "race-idp", Role.SCIM)
        db.session.commit()
        return token.reveal()


def test_two_concurrent_creates_of_one_username_give_one_201_and_one_409(make_committed_app):
    app = make_committed_app(base_url="https://govern.example.com")
    token = _scim_token(app)
    barrier, answers = threading.Barrier(2), []

    def create_as(user_name: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/scim/v2/Users", data=json.dumps(okta_user(user_name)),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON})
        answers.append((response.status_code, response.get_json(force=True)))

    threads = [threading.Thread(target=create_as, args=(name,)) for name in ("Race.Winner@Example.com", "race.winner@example.com")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(status for status, _ in answers) == [201, 409], answers
    refused = next(body for status, body in answers if status == 409)
    assert refused["scimType"] == "uniqueness"
    created = next(body for status, body in answers if status == 201)
    assert created["meta"]["location"].startswith("https://govern.example.com/scim/v2/Users/")  # GOVERN_BASE_URL wins
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(
            Person.source == PersonSource.SCIM, sa.func.lower(Person.username) == "race.winner@example.com")) == 1


def test_the_database_refuses_the_second_create_that_passed_the_check(make_committed_app):
    """The race the service's own check cannot see: both look before either writes. The second writer waits on the
    unique index until the first commits, and is then refused with Uniqueness, not an IntegrityError (a 500)."""
    app = make_committed_app()
    with app.app_context():
        engine = db.engine
    actor = Actor("test:race", "race", "race-0002", "127.0.0.1")
    first, second = Session(engine), Session(engine)
    try:
        service.create_user(first, actor, parse_user(okta_user("Same.Name@example.com")))  # written, not committed
        outcome: list[BaseException | str] = []

        def create_second() -> None:
            try:
                service.create_user(second, actor, parse_user(okta_user("SAME.NAME@EXAMPLE.COM")))
                outcome.append("created")
            except BaseException as error:  # noqa: BLE001 - the outcome is what the test asserts
                outcome.append(error)

        thread = threading.Thread(target=create_second)
        thread.start()
        thread.join(2)
        assert thread.is_alive() and not outcome  # waiting on the index, not refused by the check (it saw nothing)
        first.commit()
        thread.join(30)
        assert len(outcome) == 1 and isinstance(outcome[0], Uniqueness), outcome
        second.rollback()
    finally:
        first.close()
        second.close()


# ---- Entra ID's provisioning requests, replayed ----

def _fill(value, saved: dict[str, str]):
    text = json.dumps(value)
    for name, saved_value in saved.items():
        text = text.replace("{" + name + "}", saved_value)
    return json.loads(text)


def test_entra_provisioning_request_set_replays(scim, session):
    steps = json.loads(ENTRA_REQUESTS.read_text())["steps"]
    saved: dict[str, str] = {}
    for step in steps:
        path = _fill(step["path"], {key: quote(value) for key, value in saved.items()})
        response = scim(step["method"], path, _fill(step.get("body"), saved) if "body" in step else None)
        expect = _fill(step["expect"], saved)
        assert response.status_code == expect["status"], (step["name"], response.get_data(as_text=True))
        if response.status_code == 204:
            continue
        body = response.get_json(force=True)
        if "save_id_as" in expect:
            saved[expect["save_id_as"]] = body["id"]
        if "totalResults" in expect:
            assert body["totalResults"] == expect["totalResults"], step["name"]
        if "scimType" in expect:
            assert body["scimType"] == expect["scimType"], step["name"]
        for key in ("userName", "externalId", "active", "displayName"):
            if key in expect:
                assert body[key] == expect[key], (step["name"], key, body)
        if "email" in expect:
            assert [e["value"] for e in body["emails"] if e.get("type") == "work"] == [expect["email"]], step["name"]
        if "familyName" in expect:
            assert body["name"]["familyName"] == expect["familyName"], step["name"]
        if "department" in expect:
            assert body[ENTERPRISE]["department"] == expect["department"], step["name"]
        if "manager" in expect:
            assert body[ENTERPRISE]["manager"]["value"] == expect["manager"], step["name"]


# ---- the migration that moved externalId and added the index ----

BEFORE = "a1b2c3d4e5f6"
MIGRATION = "b7c8d9e0f1a2"


def _people_before_the_migration(engine) -> None:
    with engine.begin() as connection:
        for n, (user_name, dn) in enumerate((("kept@example.com", "00u-kept"), ("old@example.com", "00u-old"),
                                             ("none@example.com", ""))):
            connection.execute(sa.text(
                "INSERT INTO people (id, source, external_id, dn, username, email, display_name, status, search_text, "
                "created_at, updated_at) VALUES (:id, 'scim', :key, :dn, :name, :name, :display, 'active', '', "
                ":now, :now)"), {"id": 100 + n, "key": f"key-{n}", "dn": dn, "name": user_name, "display": f"Person {n}",
                                 "now": "2026-01-01 00:00:00+00:00"})
        connection.execute(sa.text(
            "INSERT INTO scim_user_attributes (person_id, name, display_name, emails, active_unassigned, updated_at) "
            "VALUES (100, '{\"givenName\": \"Kept\"}', 'Kept', NULL, false, '2026-01-01 00:00:00+00:00')"))


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_the_migration_moves_external_ids_and_back(database, scratch_postgres, tmp_path):
    from alembic import command as alembic_command

    from govern.cli import alembic_config

    with migration_database(database, scratch_postgres, tmp_path, "govern_scim_migration") as (url, engine):
        alembic_command.upgrade(alembic_config(url), BEFORE)
        _people_before_the_migration(engine)
        alembic_command.upgrade(alembic_config(url), MIGRATION)
        with engine.connect() as connection:
            kept = dict(connection.execute(sa.text("SELECT person_id, external_id FROM scim_user_attributes")).all())
            assert kept == {100: "00u-kept", 101: "00u-old", 102: None}
            assert set(connection.execute(sa.text("SELECT dn FROM people")).scalars()) == {""}
            name, emails = connection.execute(sa.text("SELECT name, emails FROM scim_user_attributes WHERE person_id = 101")).one()
            as_json = (lambda value: json.loads(value) if isinstance(value, str) else value)
            assert as_json(name) == {"formatted": "Person 1"}  # as govern showed them before their attributes were kept
            assert as_json(emails) == [{"value": "old@example.com", "type": "work", "primary": True}]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO people (source, external_id, dn, username, display_name, status, search_text, created_at, "
                "updated_at) VALUES ('scim', 'key-9', '', 'KEPT@example.com', 'Again', 'active', '', :now, :now)"),
                {"now": "2026-01-01 00:00:00+00:00"})
        alembic_command.downgrade(alembic_config(url), BEFORE)
        with engine.connect() as connection:
            assert dict(connection.execute(sa.text("SELECT username, dn FROM people")).all()) == {
                "kept@example.com": "00u-kept", "old@example.com": "00u-old", "none@example.com": ""}
