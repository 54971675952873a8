"""SCIM Groups queried and versioned through the API on real PostgreSQL: filters, sortBy and paging on /Groups and
/Groups/.search, the root /.search sorting both types, and ETags (If-None-Match 304, If-Match 412) on groups,
including two writers racing with one If-Match (decision 0078, its update)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.extensions import db
from govern.scim import groups
from govern.scim.errors import PreconditionFailed
from govern.scim.group_models import ScimGroup
from govern.scim.group_schemas import GroupDraft, group_version
from tests.integration.test_scim import assert_scim_error, create, okta_user, where
from tests.integration.test_scim import scim  # noqa: F401  (the SCIM client fixture)
from tests.integration.test_scim_groups import GROUP, PATCH_OP, patch_group

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [resource["displayName"] for resource in response.get_json(force=True)["Resources"]]


def new_group(scim, display_name: str, members: list[str] = (), **more) -> dict:
    response = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": display_name,
                                        "members": [{"value": value} for value in members], **more})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)


@pytest.fixture
def teams(scim) -> dict[str, dict]:
    """Two users (Ann, Zed) and three groups: Beta (Ann, and a reference kept as sent), Alpha (externalId g-alpha,
    nobody), Gamma (Zed); created in that order."""
    ann = create(scim, okta_user("ann@example.com", displayName="Ann", externalId="u-ann"))
    zed = create(scim, okta_user("zed@example.com", displayName="Zed", externalId="u-zed"))
    beta = new_group(scim, "Beta", [ann["id"], "00g-unknown"])
    alpha = new_group(scim, "Alpha", externalId="g-alpha")
    gamma = new_group(scim, "gamma", [zed["id"]])
    return {"ann": ann, "zed": zed, "beta": beta, "alpha": alpha, "gamma": gamma}


def test_group_filters_through_the_api_match_and_do_not_match(scim, teams):
    def found(expression: str) -> list[str]:
        return sorted(names(scim("GET", "/Groups?" + where(expression) + "&excludedAttributes=members")))

    ann, zed = teams["ann"]["id"], teams["zed"]["id"]
    assert found('displayName eq "BETA"') == ["Beta"]
    assert found('displayName eq "Bet"') == []
    assert found(f'members[value eq "{ann}"]') == ["Beta"]
    assert found(f'members.value eq "{ann.upper()}"') == []  # ids are caseExact
    assert found(f'members[value eq "{ann}" or value eq "{zed}"]') == ["Beta", "gamma"]
    assert found('members[value eq "00g-unknown" and type eq "User"]') == []  # not one member that is both
    assert found('not (members pr)') == ["Alpha"]
    assert found('externalId eq "g-alpha"') == ["Alpha"]
    assert found('externalId eq "G-ALPHA"') == []
    assert found('meta.created gt "2000-01-01T00:00:00Z" and displayName sw "g"') == ["gamma"]
    assert found('meta.lastModified lt "2000-01-01T00:00:00Z"') == []
    assert found(f'id eq "{teams["alpha"]["id"]}" or (displayName co "amm" and members.display eq "zed")') == ["Alpha", "gamma"]
    for bad in ('userName eq "ann@example.com"', 'displayName eq', 'members[value eq "x"', 'owner pr',
                'meta.created co "20"', 'members.$ref pr'):
        assert_scim_error(scim("GET", "/Groups?" + where(bad)), 400, "invalidFilter")


def test_group_sort_and_paging(scim, teams):
    assert names(scim("GET", "/Groups?sortBy=displayName")) == ["Alpha", "Beta", "gamma"]  # without case
    assert names(scim("GET", "/Groups?sortBy=displayName&sortOrder=descending")) == ["gamma", "Beta", "Alpha"]
    assert names(scim("GET", "/Groups?sortBy=externalId")) [0] == "Alpha"  # the others have none: after it
    assert names(scim("GET", "/Groups?sortBy=meta.created&sortOrder=descending")) == ["gamma", "Alpha", "Beta"]
    assert names(scim("GET", "/Groups")) == ["Beta", "Alpha", "gamma"]  # no sortBy: as created
    pages = [names(scim("GET", f"/Groups?sortBy=externalId&startIndex={start}&count=1")) for start in (1, 2, 3, 4)]
    assert pages[3] == [] and sorted(name for page in pages for name in page) == ["Alpha", "Beta", "gamma"]
    listing = scim("GET", "/Groups?sortBy=displayName&startIndex=2&count=1").get_json(force=True)
    assert (listing["totalResults"], listing["startIndex"], listing["itemsPerPage"]) == (3, 2, 1)
    assert_scim_error(scim("GET", "/Groups?sortBy=members"), 400, "invalidValue")
    assert_scim_error(scim("GET", "/Groups?sortBy=userName"), 400, "invalidValue")
    assert_scim_error(scim("GET", "/Groups?sortBy=displayName&sortOrder=up"), 400, "invalidValue")


def test_groups_search_by_post(scim, teams):
    body = {"schemas": [SEARCH], "filter": 'members pr and not (displayName eq "Alpha")', "sortBy": "displayName",
            "sortOrder": "descending", "attributes": ["displayName"], "startIndex": 1, "count": 10}
    found = scim("POST", "/Groups/.search", body).get_json(force=True)
    assert [r["displayName"] for r in found["Resources"]] == ["gamma", "Beta"]
    assert set(found["Resources"][0]) == {"schemas", "id", "displayName"}
    assert_scim_error(scim("POST", "/Groups/.search", {"filter": 'emails pr'}), 400, "invalidFilter")


def test_the_root_search_filters_and_sorts_both_types(scim, teams):
    def root(**body) -> list[str]:
        response = scim("POST", "/.search", {"schemas": [SEARCH], **body})
        return names(response)

    assert root(filter="displayName pr", sortBy="displayName") == ["Ann", "Zed", "Alpha", "Beta", "gamma"]
    assert root(filter="displayName pr", sortBy="displayName", sortOrder="descending") == ["Zed", "Ann", "gamma", "Beta", "Alpha"]
    assert root(filter="displayName pr", sortBy="displayName", startIndex=2, count=2) == ["Zed", "Alpha"]
    # userName is no Group attribute: users in its order, then the groups as if none had a value (their own order)
    assert root(sortBy="userName", sortOrder="descending") == ["Zed", "Ann", "Beta", "Alpha", "gamma"]
    assert root(filter=f'members[value eq "{teams["ann"]["id"]}"]') == ["Beta"]  # users have no members
    assert root(filter='externalId sw "g-" or userName eq "zed@example.com"') == ["Zed", "Alpha"]
    total = scim("POST", "/.search", {"filter": "meta.resourceType eq \"Group\"", "count": 1}).get_json(force=True)
    assert total["totalResults"] == 3 and total["itemsPerPage"] == 1
    assert_scim_error(scim("POST", "/.search", {"sortBy": "members"}), 400, "invalidValue")
    assert_scim_error(scim("POST", "/.search", {"filter": 'members[nosuch eq "x"]'}), 400, "invalidFilter")


def test_group_versions_etags_and_if_match(scim, teams):
    url = f"/Groups/{teams['beta']['id']}"
    created = teams["beta"]["meta"]["version"]
    read = scim("GET", url)
    version = read.get_json(force=True)["meta"]["version"]
    assert version.startswith('W/"') and read.headers["ETag"] == version == created
    assert scim("GET", url + "?excludedAttributes=members").headers["ETag"] == version  # whatever the projection
    unchanged = scim("GET", url, headers={"If-None-Match": version})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == version and not unchanged.get_data()
    assert scim("GET", url, headers={"If-None-Match": 'W/"other"'}).status_code == 200

    renamed = scim("PATCH", url, {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Beta 2"}]},
                   headers={"If-Match": version})
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    newer = renamed.get_json(force=True)["meta"]["version"]
    assert newer != version and renamed.headers["ETag"] == newer
    assert scim("GET", url, headers={"If-None-Match": version}).status_code == 200  # the old version is stale now

    stale = {"If-Match": version}
    assert_scim_error(scim("PATCH", url, {"Operations": [{"op": "remove", "path": "members"}]}, headers=stale), 412)
    assert_scim_error(scim("PUT", url, {"schemas": [GROUP], "displayName": "X"}, headers=stale), 412)
    assert_scim_error(scim("PUT", url, {"not": "a group"}, headers=stale), 412)  # the version is checked before the body
    assert_scim_error(scim("DELETE", url, headers=stale), 412)
    kept = scim("GET", url).get_json(force=True)
    assert kept["displayName"] == "Beta 2" and len(kept["members"]) == 2  # the stale writes changed nothing

    replaced = scim("PUT", url, {"schemas": [GROUP], "displayName": "Beta"}, headers={"If-Match": f'W/"x", "{newer[3:-1]}"'})
    assert replaced.status_code == 200 and replaced.headers["ETag"] not in {version, newer}
    assert_scim_error(scim("PATCH", "/Groups/no-such-group", {"Operations": []}, headers={"If-Match": "*"}), 404)
    assert_scim_error(scim("GET", url, headers={"If-None-Match": "not a tag"}), 400, "invalidValue")
    assert scim("DELETE", url, headers={"If-Match": "*"}).status_code == 204
    assert_scim_error(scim("GET", url), 404)


def test_a_members_change_seen_through_another_resource_moves_the_group_version(scim, teams):
    url = f"/Groups/{teams['gamma']['id']}"
    before = scim("GET", url).headers["ETag"]
    zed = teams["zed"]["id"]
    assert scim("PATCH", f"/Users/{zed}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Zed Z."}]}).status_code == 200
    renamed = scim("GET", url, headers={"If-None-Match": before})
    assert renamed.status_code == 200 and renamed.get_json(force=True)["members"][0]["display"] == "Zed Z."
    assert scim("DELETE", f"/Users/{zed}").status_code == 204
    emptied = scim("GET", url, headers={"If-None-Match": renamed.headers["ETag"]})
    assert emptied.status_code == 200 and emptied.get_json(force=True)["members"] == []
    alpha = scim("GET", f"/Groups/{teams['alpha']['id']}")  # a group the user was never in keeps its version
    assert alpha.headers["ETag"] == teams["alpha"]["meta"]["version"]


def test_two_writers_with_one_if_match_give_one_change_and_one_412(make_committed_app):
    """The group row is locked before its version is compared: the second writer waits for the first to commit,
    then reads the new version and is refused, instead of both passing the check and the second overwriting."""
    app = make_committed_app()
    with app.app_context():
        engine = db.engine
    actor = Actor("test:race", "race", "race-0003", "127.0.0.1")
    meanings = groups.GroupMeanings("not-this-group")
    setup, first, second = Session(engine), Session(engine), Session(engine)
    try:
        group = groups.create_group(setup, actor, meanings, GroupDraft("Racers", None, {})).group
        setup.commit()
        group_id, tags = group.id, frozenset({group_version(group).removeprefix("W/")})
        rename = {"Operations": [{"op": "replace", "path": "displayName", "value": "Racers (first)"}]}
        groups.patch_group(first, actor, meanings, group_id, rename, tags)  # holds the row, not committed
        outcome: list[BaseException | str] = []

        def patch_second() -> None:
            try:
                groups.patch_group(second, actor, meanings, group_id,
                                   {"Operations": [{"op": "replace", "path": "displayName", "value": "Racers (second)"}]}, tags)
                outcome.append("patched")
            except BaseException as error:  # noqa: BLE001 - the outcome is what the test asserts
                outcome.append(error)

        thread = threading.Thread(target=patch_second)
        thread.start()
        thread.join(2)
        assert thread.is_alive() and not outcome  # waiting on the row lock
        first.commit()
        thread.join(30)
        assert len(outcome) == 1 and isinstance(outcome[0], PreconditionFailed), outcome
        second.rollback()
        assert setup.get(ScimGroup, group_id, populate_existing=True).display_name == "Racers (first)"
    finally:
        for session in (setup, first, second):
            session.close()


def test_filter_values_are_data_not_sql(scim, teams):
    for hostile in ('x" or "1"="1', "'; drop table scim_groups; --", "%", "_", "\\", "a'b"):
        for op in ("eq", "co", "sw"):
            assert names(scim("GET", "/Groups?" + where(f"displayName {op} {json.dumps(hostile)}"))) == [], hostile
    assert sorted(names(scim("GET", "/Groups"))) == ["Alpha", "Beta", "gamma"]
