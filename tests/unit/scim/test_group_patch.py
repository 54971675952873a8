"""SCIM Group PatchOp and body parsing (govern.scim.group_schemas), and the role-group setting: pure functions, no database."""

from __future__ import annotations

import pytest

from govern.auth.roles import Role
from govern.config import Settings
from govern.scim.errors import InvalidPath, InvalidValue, Mutability, NoTarget
from govern.scim.group_schemas import GroupDraft, apply_group_patch, parse_group
from govern.scim.groups import GroupMeanings


def patched(draft: GroupDraft, *operations: dict) -> GroupDraft:
    return apply_group_patch(draft, {"Operations": list(operations)})


def test_members_add_remove_replace_with_and_without_a_path():
    draft = GroupDraft("Editors", None, {"a": None})
    assert set(patched(draft, {"op": "Add", "path": "members", "value": [{"value": "b"}]}).members) == {"a", "b"}
    assert patched(draft, {"op": "REPLACE", "path": "members", "value": [{"value": "c", "type": "Group"}]}).members == {"c": "Group"}
    assert patched(draft, {"op": "remove", "path": "members"}).members == {}
    assert patched(draft, {"op": "remove", "path": 'members[value eq "a"]'}).members == {}
    assert patched(draft, {"op": "remove", "path": 'members[value eq "gone"]'}).members == {"a": None}  # idempotent
    assert set(patched(draft, {"op": "add", "value": {"members": [{"value": "b"}], "displayName": "New"}}).members) == {"a", "b"}
    renamed = patched(draft, {"op": "replace", "value": {"id": "ignored", "displayName": "New", "externalId": "x"}})
    assert (renamed.display_name, renamed.external_id) == ("New", "x")
    assert draft.members == {"a": None} and draft.display_name == "Editors"  # the current draft is not changed


@pytest.mark.parametrize("operation, error", [
    ({"op": "remove", "path": "displayName"}, Mutability),
    ({"op": "replace", "path": "meta", "value": {}}, Mutability),
    ({"op": "add", "path": "owners", "value": "x"}, InvalidPath),
    ({"op": "replace", "path": 'members[value eq "nobody"]', "value": [{"value": "b"}]}, NoTarget),
    ({"op": "add", "path": "members", "value": [{"display": "no value"}]}, InvalidValue),
    ({"op": "add", "path": "members", "value": "a"}, InvalidValue),
])
def test_bad_operations_name_their_rfc_7644_error(operation, error):
    with pytest.raises(error):
        patched(GroupDraft("Editors", None, {"a": None}), operation)


def test_a_group_body_says_whether_it_named_its_members():
    draft, named = parse_group({"DisplayName": "Editors", "externalId": "okta-1"})
    assert (draft.display_name, draft.external_id, draft.members, named) == ("Editors", "okta-1", {}, False)
    assert parse_group({"displayName": "Editors", "members": []})[1] is True
    with pytest.raises(InvalidValue):
        parse_group({"members": []})


def test_group_meanings_are_case_insensitive_and_the_first_role_group_wins():
    meanings = GroupMeanings.of("social-media", {"social-governance": "governance", "social-it": "it"})
    assert meanings.is_entitlement("Social-Media") and not meanings.is_entitlement("social")
    assert meanings.role_for({"SOCIAL-IT", "social-governance"}) == Role.GOVERNANCE
    assert meanings.role_for({"social-it"}) == Role.IT and meanings.role_for({"other"}) is None


def test_the_role_group_setting():
    parsed = Settings(scim_role_groups="social-governance=governance, social-team = reviewer").scim_role_groups
    assert parsed == {"social-governance": "governance", "social-team": "reviewer"}
    assert Settings(scim_role_groups='{"a": "auditor"}').scim_role_groups == {"a": "auditor"}
    for wrong in ("a=scim", "a", "a=it,A=auditor"):
        with pytest.raises(ValueError):
            Settings(scim_role_groups=wrong)
