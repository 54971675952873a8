"""SCIM Group wire format: reading a Group (POST, PUT) and a Group PatchOp into plain values; writing a Group resource.

Names and ops are case-insensitive (Entra ID sends "Replace"); members are kept as the client referred to them
(`value`, and `type` when given). A PatchOp is applied to a GroupDraft, which the service then stores whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from govern.scim.errors import InvalidPath, InvalidValue, Mutability, NoTarget
from govern.scim.schemas import GROUP_SCHEMA, _get, _object, _operations, _text, _timestamp, _unquote, version_of

_MEMBER_FILTER = re.compile(r'^members\s*\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$', re.IGNORECASE)
_TYPE_LIMIT = 64
_READ_ONLY = {"id", "meta", "schemas"}
_PREFIX = GROUP_SCHEMA.lower() + ":"


@dataclass
class GroupDraft:
    """A Group as it will be stored: members by value, each with the `type` the client gave (or None)."""

    display_name: str
    external_id: str | None = None
    members: dict[str, str | None] = field(default_factory=dict)


def _members(value: Any) -> dict[str, str | None]:
    """members as sent: a list of objects (one object alone is accepted), each with a value and an optional type."""
    if value is None:
        return {}
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InvalidValue("members must be a list of objects with a value")
    members: dict[str, str | None] = {}
    for member in value:
        if not isinstance(member, dict):
            raise InvalidValue("each member must be an object with a value")
        member_id = _text(_get(member, "value"), "members.value", required=True)
        kind = _text(_get(member, "type"), "members.type")
        if kind is not None and len(kind) > _TYPE_LIMIT:
            raise InvalidValue(f"a member's type is longer than {_TYPE_LIMIT} characters")
        members[member_id] = kind  # type: ignore[index]
    return members


def parse_group(body: Any) -> tuple[GroupDraft, bool]:
    """A full Group from POST or PUT, and whether it named its members (a PUT without `members` keeps them)."""
    body = _object(body, "a Group")
    display_name = _text(_get(body, "displayName"), "displayName", required=True)
    members = _get(body, "members")
    draft = GroupDraft(display_name, _text(_get(body, "externalId"), "externalId"), _members(members))  # type: ignore[arg-type]
    return draft, members is not None


def _attribute(path: str) -> str:
    lowered = path.strip().lower()
    return lowered[len(_PREFIX):] if lowered.startswith(_PREFIX) else lowered


def _set(draft: GroupDraft, op: str, path: str, value: Any) -> None:
    name = _attribute(path)
    if name == "displayname":
        if op == "remove":
            raise Mutability("displayName is required; it can be replaced, not removed")
        draft.display_name = _text(value, "displayName", required=True)  # type: ignore[assignment]
    elif name == "externalid":
        draft.external_id = None if op == "remove" else _text(value, "externalId")
    elif name == "members":
        if op == "remove":
            if value is None:
                draft.members = {}
            else:  # Entra ID names the members to remove in the value
                for member in _members(value):
                    draft.members.pop(member, None)
        elif op == "add":
            draft.members.update(_members(value))
        else:
            draft.members = _members(value)
    elif match := _MEMBER_FILTER.match(path.strip()):
        _set_member(draft, op, _unquote(match.group(1), InvalidPath), value)
    elif name in _READ_ONLY:
        raise Mutability(f"{path} is set by govern and cannot be changed")
    else:
        raise InvalidPath(f"a Group has no attribute {path!r}; govern keeps displayName, externalId and members")


def _set_member(draft: GroupDraft, op: str, member: str, value: Any) -> None:
    """members[value eq "…"]: remove is idempotent (a retry of a removal succeeds); replace needs the member there."""
    if op == "remove":
        draft.members.pop(member, None)
        return
    if op == "replace" and member not in draft.members:
        raise NoTarget(f"{member!r} is not a member of the group")
    replacement = _members(value) if value is not None else {member: draft.members.get(member)}
    draft.members.pop(member, None)
    draft.members.update(replacement)


def apply_group_patch(current: GroupDraft, body: Any) -> GroupDraft:
    """The Group after a PatchOp request (RFC 7644 3.5.2), applied operation by operation."""
    draft = GroupDraft(current.display_name, current.external_id, dict(current.members))
    for op, path, value in _operations(body):
        if path is None:
            for key, inner in value.items():
                if _attribute(key) not in _READ_ONLY:  # a full resource echoed back carries its id and schemas
                    _set(draft, op, key, inner)
        else:
            _set(draft, op, path, value)
    return draft


def member_resource(value: str, kind: str | None, person_id: str | None, display: str | None, base: str) -> dict[str, Any]:
    """A member as returned: a SCIM user with its name and location; anything else exactly as the client sent it."""
    if person_id is not None:
        return {"value": person_id, "display": display, "$ref": f"{base}/Users/{person_id}", "type": "User"}
    member: dict[str, Any] = {"value": value}
    if kind is not None:
        member["type"] = kind
    return member


def group_version(group) -> str:
    """A group's meta.version, a weak ETag like a User's: the group's change counter (one more on every change to its
    name, externalId or members, including a member user deleted or renamed) hashed with its id and creation time, so
    a group deleted and pushed again under its old id never repeats a version. Counted, not hashed from the members,
    so a list that leaves members out need not read them to give each group its version."""
    return version_of({"id": group.id, "created": _timestamp(group.created_at), "version": group.version})


def group_resource(group, members: list[dict[str, Any]] | None, base: str) -> dict[str, Any]:
    location = f"{base}/Groups/{group.id}"
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.display_name,
        "meta": {"resourceType": "Group", "created": _timestamp(group.created_at),
                 "lastModified": _timestamp(group.updated_at), "location": location, "version": group_version(group)},
    }
    if group.external_id:
        resource["externalId"] = group.external_id
    if members is not None:
        resource["members"] = members
    return resource
