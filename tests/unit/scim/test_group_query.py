"""SCIM filters and sortBy on Groups, read as SQL over scim_groups and their members on PostgreSQL: what must match,
and what must not (decision 0078, its update)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from govern.scim import groups, search, service
from govern.scim.errors import InvalidFilter, InvalidValue
from govern.scim.group_models import ScimGroup
from govern.scim.group_schemas import GroupDraft, group_version
from govern.scim.schemas import parse_user

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MEANINGS = groups.GroupMeanings("no-group-here-means-anything")


def _user(session, actor, user_name: str, display_name: str) -> str:
    return service.create_user(session, actor, parse_user({"userName": user_name, "displayName": display_name})).external_id


@pytest.fixture
def catalogue(session, actor) -> dict[str, str]:
    """Three groups unlike each other in every attribute a filter reads, and the SCIM ids of their members:
    editors (EXT-E): alice and a reference kept as sent ("ghost-1", type "Group"), created now;
    writers (no externalId): bob, and carol who is then deleted, created now;
    empty (ext-x): nobody, created in 2020."""
    ids = {name: _user(session, actor, f"{name}@example.com", f"{name.title()} Example") for name in ("alice", "bob", "carol")}
    editors = groups.create_group(session, actor, MEANINGS, GroupDraft("Editors", "EXT-E", {ids["alice"]: None, "ghost-1": "Group"}))
    writers = groups.create_group(session, actor, MEANINGS, GroupDraft("Writers", None, {ids["bob"]: None, ids["carol"]: None}))
    empty = groups.create_group(session, actor, MEANINGS, GroupDraft("Empty Room", "ext-x", {}))
    empty.group.created_at = empty.group.updated_at = datetime(2020, 6, 1, tzinfo=timezone.utc)
    service.delete_user(session, actor, ids["carol"])
    session.flush()
    return {"editors": editors.group.id, "writers": writers.group.id, "empty": empty.group.id, **ids}


def matching(session, catalogue: dict[str, str], text: str) -> set[str]:
    names = {catalogue[name]: name for name in ("editors", "writers", "empty")}
    _, found = groups.list_groups(session, groups.parse_group_filter(text), 1, 200, with_members=False)
    return {names[view.group.id] for view in found if view.group.id in names}


ALL = {"editors", "writers", "empty"}
MATCHES = [
    ('displayName eq "editors"', {"editors"}),  # displayName is caseExact false
    ('DISPLAYNAME Eq "EMPTY ROOM"', {"empty"}),
    ('displayName eq "Edit"', set()),
    ('displayName ne "Editors"', {"writers", "empty"}),
    ('displayName co "R"', ALL),
    ('displayName sw "w"', {"writers"}),
    ('displayName ew "ROOM"', {"empty"}),
    ('displayName co "%"', set()),  # LIKE's wildcards are the client's characters, not patterns
    ('displayName gt "F"', {"writers"}),
    ('displayName pr', ALL),
    (f'{GROUP}:displayName eq "Writers"', {"writers"}),
    ('externalId eq "EXT-E"', {"editors"}),
    ('externalId eq "ext-e"', set()),  # externalId is caseExact
    ('externalId pr', {"editors", "empty"}),
    ('not (externalId pr)', {"writers"}),
    ('externalId eq null', {"writers"}),
    ('externalId ne "EXT-E"', {"writers", "empty"}),  # an absent externalId is not "EXT-E"
    ('members pr', {"editors", "writers"}),
    ('not (members pr)', {"empty"}),
    ('members.value eq "ghost-1"', {"editors"}),
    ('members.value eq "GHOST-1"', set()),  # a member's value is an id: caseExact
    ('members eq "ghost-1"', {"editors"}),
    ('members[value eq "ghost-1"]', {"editors"}),
    ('members[type eq "group"]', {"editors"}),  # the type as sent, compared without case
    ('members.type eq "User"', {"editors", "writers"}),
    # editors has a User member and a member "ghost-1", but not one member that is both
    ('members[type eq "User" and value eq "ghost-1"]', set()),
    ('members[type eq "User"] and members[value eq "ghost-1"]', {"editors"}),
    ('members[not (type eq "User")]', {"editors"}),
    ('members[type eq "Group" or display sw "bob"]', {"editors", "writers"}),
    ('members.display eq "ALICE EXAMPLE"', {"editors"}),  # a linked member shows the user's name
    ('members.display pr', {"editors", "writers"}),
    ('members.display eq "Carol Example"', set()),  # a deleted user is no member of any group
    ('meta.created lt "2021-01-01T00:00:00Z"', {"empty"}),
    ('meta.created ge "2021-01-01T00:00:00Z"', {"editors", "writers"}),
    ('meta.lastModified gt "2000-01-01T00:00:00"', ALL),  # no offset: UTC
    ('meta.lastModified le "2020-06-01T00:00:00Z"', {"empty"}),
    ('meta.resourceType eq "Group"', ALL),
    ('meta.resourceType eq "User"', set()),
    ('displayName eq "Editors" or (members pr and not (externalId pr))', {"editors", "writers"}),
    ('(displayName sw "e" and members pr) or externalId eq "ext-x"', {"editors", "empty"}),
    ('not (displayName sw "e" or members.type eq "User")', set()),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES, ids=[text for text, _ in MATCHES])
def test_filter_matches_exactly(session, catalogue, text, expected):
    assert matching(session, catalogue, text) == expected


def test_ids_and_member_ids_compare_with_scim_ids(session, catalogue):
    assert matching(session, catalogue, f'id eq "{catalogue["writers"]}"') == {"writers"}
    assert matching(session, catalogue, f'id eq "{catalogue["writers"].upper()}"') == set()
    assert matching(session, catalogue, f'members.value eq "{catalogue["alice"]}"') == {"editors"}
    assert matching(session, catalogue, f'members[value eq "{catalogue["bob"]}"]') == {"writers"}
    assert matching(session, catalogue, f'members[value eq "{catalogue["carol"]}"]') == set()  # deleted
    assert matching(session, catalogue, f'members.value eq "{catalogue["writers"]}"') == set()


@pytest.mark.parametrize("text", [
    'userName eq "x"', 'owner eq "x"', 'members.$ref eq "x"', 'members.nope eq "x"', 'displayName[value eq "x"]',
    'meta.created co "2020"', 'meta.created eq "last week"', 'displayName eq true', f'{ENTERPRISE}:department eq "x"',
    'meta.version eq "x"', 'displayName gt null', 'urn:ietf:params:scim:schemas:core:2.0:User:displayName eq "x"',
    'members[display gt null]', 'displayName eq "x" and', 'members[type eq "User"',
])
def test_attributes_and_comparisons_a_group_lacks_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        groups.parse_group_filter(text)


def test_sort_orders_groups_with_absent_values_last_and_pages_stably(session, catalogue):
    names = {catalogue[name]: name for name in ("editors", "writers", "empty")}

    def order(sort_by: str | None, descending: bool = False, start: int = 1, count: int = 200) -> list[str]:
        _, found = groups.list_groups(session, None, start, count, False, sort_by, descending)
        return [names[view.group.id] for view in found if view.group.id in names]

    assert order(None) == ["empty", "editors", "writers"]  # as created (empty back-dated to 2020)
    assert order("displayName") == ["editors", "empty", "writers"]
    assert order("DISPLAYNAME", descending=True) == ["writers", "empty", "editors"]
    assert order("externalId") == ["editors", "empty", "writers"]  # writers has none: last
    assert order("externalId", descending=True) == ["writers", "empty", "editors"]  # and first descending
    assert order("meta.created") == ["empty", "editors", "writers"]
    assert order(f"{GROUP}:meta.lastModified", descending=True)[-1] == "empty"

    same = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for group_id in names:
        session.get(ScimGroup, group_id).updated_at = same
    session.flush()
    for descending in (False, True):  # three groups share lastModified: id breaks the tie, so pages never overlap
        pages = [name for start in (1, 2, 3) for name in order("meta.lastModified", descending, start, 1)]
        assert sorted(pages) == sorted(names.values())
    for bad in ("members", "members.value", "userName", "meta.version", "nosuch"):
        with pytest.raises(InvalidValue):
            order(bad)
    assert groups.sorts_groups_by("displayName") and not groups.sorts_groups_by("userName")


def test_a_version_moves_with_every_change_a_group_shows(session, actor, catalogue):
    editors = session.get(ScimGroup, catalogue["editors"])
    writers = session.get(ScimGroup, catalogue["writers"])
    seen = {group_version(editors), group_version(writers)}
    assert len(seen) == 2

    groups.patch_group(session, actor, MEANINGS, editors.id, {"Operations": [  # only a kept reference's type changes
        {"op": "add", "path": "members", "value": [{"value": "ghost-1", "type": "User"}]}]})
    assert group_version(editors) not in seen
    seen.add(group_version(editors))
    service.patch_user(session, actor, catalogue["bob"], {"Operations": [  # a member renamed: the group shows it
        {"op": "replace", "path": "displayName", "value": "Robert Example"}]})
    session.refresh(writers)
    assert group_version(writers) not in seen
    seen.add(group_version(writers))
    unchanged = group_version(editors)
    groups.patch_group(session, actor, MEANINGS, editors.id, {"Operations": [
        {"op": "replace", "path": "displayName", "value": "Editors"}]})
    assert group_version(editors) == unchanged  # a change that changes nothing moves nothing


# ---- the root /.search: one filter over both types ----

ACROSS = [
    ('userName eq "alice@example.com" or members pr', {"editors", "writers"}, {"alice"}),
    ('userName eq null', ALL, set()),  # Groups have no userName: unassigned on every group
    ('userName ne "x"', ALL, {"alice", "bob"}),
    ('not (userName pr) and displayName sw "e"', {"editors", "empty"}, set()),
    ('emails[type eq "work"]', set(), set()),
    ('not (members pr)', {"empty"}, {"alice", "bob"}),
    ('members[value eq "ghost-1"] or displayName eq "Bob Example"', {"editors"}, {"bob"}),
    ('meta.resourceType eq "Group" and externalId pr', {"editors", "empty"}, set()),
]


@pytest.mark.parametrize(("text", "found_groups", "found_users"), ACROSS, ids=[text for text, _, _ in ACROSS])
def test_a_root_search_filter_reads_an_attribute_a_type_lacks_as_unassigned(session, catalogue, text, found_groups, found_users):
    node = search.parse_search_filter(text)
    _, views = groups.list_groups(session, node, 1, 200, False, across_types=True)
    group_names = {catalogue[name]: name for name in ("editors", "writers", "empty")}
    assert {group_names[v.group.id] for v in views if v.group.id in group_names} == found_groups
    user_names = {catalogue[name]: name for name in ("alice", "bob", "carol")}
    _, people = service.list_users(session, node, 1, 200, across_types=True)
    assert {user_names[p.external_id] for p in people if p.external_id in user_names} == found_users


@pytest.mark.parametrize("text", ['nosuch eq "x"', 'members pr or nosuch pr', 'meta.created co "2020"',
                                  'members[nosuch eq "x"]', 'active gt true', 'userName eq "a" and'])
def test_a_root_search_filter_must_be_readable_by_one_type_comparison_by_comparison(text):
    with pytest.raises(InvalidFilter):
        search.parse_search_filter(text)
