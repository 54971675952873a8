"""SCIM 2.0 wire format (RFC 7643/7644): reading User, Group, PatchOp and filter input; writing resources and lists.

Plain functions, not marshmallow schemas: SCIM attribute names are case-insensitive, PATCH paths reach
inside documents, and Entra ID sends booleans as strings ("False"); a field schema expresses none of that.
Attributes govern does not keep (phone numbers, titles, roles, ...) are accepted and ignored, so an
identity provider with a richer mapping keeps working.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from govern.limits import DB_INT_MAX
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, Mutability
from govern.scim.models import ScimUserAttributes

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_COUNT = 200
DELETED_PREFIX = "deleted:"  # a DELETEd user's external_id: the row stays for the audit trail, SCIM sees 404

_EMAIL_PATH = re.compile(r"^emails(\[[^\]]*\])?(\.value)?$", re.IGNORECASE)
_ENTERPRISE = ENTERPRISE_SCHEMA.lower()
_LIMITS = {"userName": 255, "displayName": 255, "email": 320, "department": 255, "externalId": 1024, "manager": 1024}


# ---- input ----

@dataclass(frozen=True)
class UserInput:
    """What govern keeps of a SCIM User; `active` None means "not given"."""

    user_name: str
    display_name: str
    email: str | None = None
    active: bool | None = None
    external_id: str | None = None
    department: str | None = None
    manager: str | None = None  # the manager as the client refers to them: govern id, externalId or userName
    # what the client sent that the Person row has no column for (govern.scim.models.ScimUserAttributes)
    name: dict[str, str] | None = None  # formatted, givenName, familyName; None: unassigned
    given_display_name: str | None = None  # displayName as sent; None: unassigned
    emails: tuple[dict[str, Any], ...] | None = None  # each {value, type?, primary?} as sent
    active_unassigned: bool = False  # `active` removed (RFC 7644 3.5.2.2): treated as false


def _get(document: Mapping[str, Any], name: str) -> Any:
    wanted = name.lower()
    return next((value for key, value in document.items() if key.lower() == wanted), None)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidSyntax(f"{what} must be a JSON object")
    return value


def _text(value: Any, name: str, required: bool = False) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # some clients wrap single values
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidValue(f"{name} is required and must not be empty")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidValue(f"{name} must be a string")
    text = str(value).strip()
    if len(text) > _LIMITS.get(name, 255):
        raise InvalidValue(f"{name} is longer than {_LIMITS.get(name, 255)} characters")
    return text


def boolean(value: Any, name: str = "active") -> bool:
    """A SCIM boolean; Entra ID's legacy "True"/"False" strings are accepted too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise InvalidValue(f"{name} must be true or false, not {json.dumps(value)}")


def _display_name(parts: Mapping[str, str | None]) -> str | None:
    """displayName, else name.formatted, else given and family name, from what one request gave."""
    if parts.get("displayname"):
        return parts["displayname"]
    if parts.get("formatted"):
        return parts["formatted"]
    joined = " ".join(part for part in (parts.get("givenname"), parts.get("familyname")) if part)
    return joined or None


NAME_PARTS = ("formatted", "givenName", "familyName")


def _name_parts(name: Any) -> dict[str, str | None]:
    """The parts of a name object that were given, keyed in lower case."""
    if name is None:
        return {}
    name = _object(name, "name")
    return {key.lower(): _text(_get(name, key), f"name.{key}") for key in NAME_PARTS if _get(name, key) is not None}


def _name_of(parts: Mapping[str, str | None]) -> dict[str, str] | None:
    """The name object govern keeps and returns, from lower-cased parts: None when no part has a value."""
    name = {key: parts[key.lower()] for key in NAME_PARTS if parts.get(key.lower())}
    return name or None  # type: ignore[return-value]


_EMAIL_TYPE_LIMIT = 64


def _emails(value: Any) -> tuple[dict[str, Any], ...] | None:
    """The emails as sent: each with its value, and its type and primary flag when given."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidValue("emails must be a list of objects with a value")
    emails = []
    for item in value:
        email: dict[str, Any] = {"value": _text(_get(item, "value"), "email", required=True)}
        if (kind := _text(_get(item, "type"), "emails.type")) is not None:
            if len(kind) > _EMAIL_TYPE_LIMIT:
                raise InvalidValue(f"an e-mail's type is longer than {_EMAIL_TYPE_LIMIT} characters")
            email["type"] = kind
        if (primary := _get(item, "primary")) is not None:
            email["primary"] = boolean(primary, "emails.primary")
        emails.append(email)
    return tuple(emails) or None


def _main_email(emails: tuple[dict[str, Any], ...] | None) -> str | None:
    """The address govern writes to: the primary one, else the first."""
    if not emails:
        return None
    chosen = next((email for email in emails if email.get("primary")), emails[0])
    return chosen["value"].lower()


def _manager(value: Any) -> str | None:
    return _text(value, "manager")


def parse_user(body: Any) -> UserInput:
    """A full User from POST or PUT."""
    body = _object(body, "a User")
    user_name = _text(_get(body, "userName"), "userName", required=True)
    parts = _name_parts(_get(body, "name"))
    parts["displayname"] = _text(_get(body, "displayName"), "displayName")
    enterprise = _get(body, ENTERPRISE_SCHEMA)
    enterprise = _object(enterprise, ENTERPRISE_SCHEMA) if enterprise is not None else {}
    active = _get(body, "active")
    emails = _emails(_get(body, "emails"))
    return UserInput(
        user_name=user_name,
        display_name=_display_name(parts) or user_name,
        email=_main_email(emails),
        active=None if active is None else boolean(active),
        external_id=_text(_get(body, "externalId"), "externalId"),
        department=_text(_get(enterprise, "department"), "department"),
        manager=_manager(_get(enterprise, "manager")),
        name=_name_of(parts),
        given_display_name=parts["displayname"],
        emails=emails,
    )


def _operations(body: Any) -> list[tuple[str, str | None, Any]]:
    body = _object(body, "a PatchOp request")
    operations = _get(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("Operations must be a non-empty list")
    parsed = []
    for operation in operations:
        operation = _object(operation, "each operation")
        op = _get(operation, "op")
        if not isinstance(op, str) or op.lower() not in {"add", "replace", "remove"}:
            raise InvalidSyntax(f"op must be add, replace or remove, not {json.dumps(op)}")
        path = _get(operation, "path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise InvalidPath("path must be a non-empty string")
        if path is None and op.lower() == "remove":
            raise InvalidPath("remove needs a path")
        value = _get(operation, "value")
        if path is None:
            _object(value, "the value of an operation without a path")
        parsed.append((op.lower(), path.strip() if path else None, value))
    return parsed


_EMAIL_FILTER = re.compile(r'^\[\s*(type|value)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$', re.IGNORECASE)


@dataclass
class _UserDraft:
    """A User being patched: each operation changes it, result() is what is stored."""

    user: UserInput
    name_parts: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name_parts = {key.lower(): value for key, value in (self.user.name or {}).items()}
        self.name_parts["displayname"] = self.user.given_display_name

    def set(self, op: str, path: str, value: Any) -> None:
        value = None if op == "remove" else value
        lowered = path.lower().removeprefix(USER_SCHEMA.lower() + ":")
        if lowered == _ENTERPRISE:
            if value is None:
                self.user = replace(self.user, department=None, manager=None)
                return
            for key, inner in _object(value, ENTERPRISE_SCHEMA).items():
                if key.lower() != "schemas":
                    self.set(op, f"{ENTERPRISE_SCHEMA}:{key}", inner)
            return
        if lowered.startswith(_ENTERPRISE + ":"):
            self._set_enterprise(lowered[len(_ENTERPRISE) + 1:], value)
            return
        if lowered == "name":
            if value is None:
                self.name_parts = {"displayname": self.name_parts.get("displayname")}
            else:  # add and replace both merge the sub-attributes given (RFC 7644 3.5.2.1, 3.5.2.3)
                self.name_parts.update(_name_parts(value))
        elif lowered in {"name.formatted", "name.givenname", "name.familyname"}:
            self.name_parts[lowered.removeprefix("name.")] = _text(value, path)
        elif lowered == "displayname":
            self.name_parts["displayname"] = _text(value, "displayName")
        elif lowered == "username":
            if value is None:
                raise Mutability("userName cannot be removed")
            self.user = replace(self.user, user_name=_text(value, "userName", required=True))
        elif lowered == "active":  # removed, it is unassigned, which govern reads as false
            self.user = replace(self.user, active=False if value is None else boolean(value), active_unassigned=value is None)
        elif lowered == "externalid":
            self.user = replace(self.user, external_id=_text(value, "externalId"))
        elif lowered == "emails":
            self._set_emails(op, value)
        elif lowered.startswith("emails") and (match := _EMAIL_PATH.match(lowered)):
            self._set_email(op, path[len("emails"):len(path) - len(match.group(2) or "")], value)
        elif lowered in {"department", "manager", "manager.value"}:  # some clients drop the extension's URN
            self._set_enterprise(lowered, value)
        # anything else is an attribute govern does not keep

    def _set_emails(self, op: str, value: Any) -> None:
        given = _emails(value)
        if op == "add" and given and self.user.emails:  # add appends to a multi-valued attribute
            kept = [dict(email) for email in self.user.emails if email["value"].lower() not in
                    {new["value"].lower() for new in given}]
            if any(email.get("primary") for email in given):
                for email in kept:
                    email.pop("primary", None)
            given = tuple(kept) + given
        self._store_emails(given)

    def _set_email(self, op: str, selector: str, value: Any) -> None:
        """emails[type eq "work"].value, emails[value eq "a@b"] or emails.value: the one address they name."""
        if isinstance(value, dict):
            value = _get(value, "value")
        address = _text(value, "email")
        emails = [dict(email) for email in self.user.emails or ()]
        match = _EMAIL_FILTER.match(selector) if selector else None
        if selector and match is None:
            raise InvalidPath(f"unsupported e-mail path emails{selector}; use emails[type eq \"work\"].value")
        if match is None:
            targets = [next((email for email in emails if email.get("primary")), emails[0])] if emails else []
        else:
            key, wanted = match.group(1).lower(), _unquote(match.group(2), InvalidPath)
            targets = [email for email in emails if str(email.get(key, "")).lower() == wanted.lower()]
        if op == "remove" or address is None:
            emails = [email for email in emails if not any(email is target for target in targets)]
        elif targets:
            for target in targets:
                target["value"] = address
        else:
            new: dict[str, Any] = {"value": address}
            if match is not None and match.group(1).lower() == "type":
                new["type"] = _unquote(match.group(2), InvalidPath)
            if not emails:
                new["primary"] = True
            emails.append(new)
        self._store_emails(tuple(emails) or None)

    def _store_emails(self, emails: tuple[dict[str, Any], ...] | None) -> None:
        self.user = replace(self.user, emails=emails, email=_main_email(emails))

    def _set_enterprise(self, attribute: str, value: Any) -> None:
        if attribute == "department":
            self.user = replace(self.user, department=_text(value, "department"))
        elif attribute in {"manager", "manager.value"}:
            self.user = replace(self.user, manager=_manager(value))

    def result(self) -> UserInput:
        parts = self.name_parts
        display_name = parts.get("displayname") or parts.get("formatted")
        if not display_name and parts.get("givenname") and parts.get("familyname"):
            display_name = _display_name(parts)  # one part alone cannot rebuild a full name
        return replace(self.user, display_name=display_name or self.user.display_name, name=_name_of(parts),
                       given_display_name=parts.get("displayname"))


def apply_user_patch(current: UserInput, body: Any) -> UserInput:
    """The User after a PatchOp request; paths and attribute names are case-insensitive."""
    draft = _UserDraft(current)
    for op, path, value in _operations(body):
        if path is None:
            for key, inner in value.items():
                draft.set(op, key, inner)
        else:
            draft.set(op, path, value)
    return draft.result()


def _unquote(raw: str, error: type[InvalidFilter] | type[InvalidPath]) -> str:
    """The string inside a filter's quotes, with its JSON escapes resolved."""
    try:
        return json.loads(f'"{raw}"')
    except json.JSONDecodeError:
        raise error(f"{raw!r} is not a valid quoted string") from None


def _integer(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidValue(f"{name} must be an integer") from None
    if abs(value) > DB_INT_MAX:
        raise InvalidValue(f"{name} must be between {-DB_INT_MAX} and {DB_INT_MAX}")
    return value


def parse_paging(args: Mapping[str, str]) -> tuple[int, int]:
    """startIndex (1-based; below 1 means 1) and count (0 to MAX_COUNT; negative means 0), per RFC 7644 3.4.2.4."""
    start = max(1, _integer(args, "startIndex", 1))
    count = min(MAX_COUNT, max(0, _integer(args, "count", MAX_COUNT)))
    return start, count


@dataclass(frozen=True)
class Projection:
    """`attributes` / `excludedAttributes` (RFC 7644 3.4.2.5, 3.9): which attributes a response carries."""

    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def wants_members(self) -> bool:
        if self.attributes:
            return any(path.split(".")[0] == "members" for path in map(_path_key, self.attributes))
        return "members" not in map(_path_key, self.excluded)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.attributes:
            return _keep(resource, [_path_key(path) for path in self.attributes])
        if self.excluded:
            return _drop(resource, [_path_key(path) for path in self.excluded])
        return resource


_ALWAYS_RETURNED = frozenset({"schemas", "id"})
_CORE_PREFIXES = tuple(f"{schema.lower()}:" for schema in (USER_SCHEMA, GROUP_SCHEMA))


def _path_key(path: str) -> str:
    """An attribute path in lower case without a core schema's URN: "name.givenname", "<enterprise urn>:manager"."""
    lowered = path.strip().lower()
    for prefix in _CORE_PREFIXES:
        if lowered.startswith(prefix):
            return lowered[len(prefix):]
    return lowered


def _split(key: str) -> tuple[str, str | None]:
    """("top-level key", "sub-attribute" or None), the enterprise extension's URN counting as one top-level key."""
    if key.startswith(_ENTERPRISE):
        rest = key[len(_ENTERPRISE):].lstrip(":")
        return _ENTERPRISE, (rest.split(".")[0] or None)
    top, _, sub = key.partition(".")
    return top, sub or None


def _keep(resource: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    wanted: dict[str, set[str] | None] = {}
    for key in keys:
        top, sub = _split(key)
        if sub is None or wanted.get(top, set()) is None:
            wanted[top] = None
        else:
            wanted.setdefault(top, set()).add(sub)  # type: ignore[union-attr]
    kept: dict[str, Any] = {}
    for name, value in resource.items():
        lowered = name.lower()
        if lowered in _ALWAYS_RETURNED:
            kept[name] = value
        elif lowered in wanted:
            subs = wanted[lowered]
            kept[name] = value if subs is None else _only(value, subs)
    return kept


def _only(value: Any, subs: set[str]) -> Any:
    if isinstance(value, dict):
        return {key: inner for key, inner in value.items() if key.lower() in subs}
    if isinstance(value, list):
        return [_only(item, subs) for item in value]
    return value


def _drop(resource: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    dropped = dict(resource)
    for key in keys:
        top, sub = _split(key)
        for name in list(dropped):
            if name.lower() != top or top in _ALWAYS_RETURNED:
                continue
            if sub is None:
                del dropped[name]
            elif isinstance(dropped[name], dict):
                dropped[name] = {k: v for k, v in dropped[name].items() if k.lower() != sub}
            elif isinstance(dropped[name], list):
                dropped[name] = [{k: v for k, v in item.items() if k.lower() != sub} if isinstance(item, dict) else item
                                 for item in dropped[name]]
    return dropped


def _names(value: Any, name: str) -> tuple[str, ...]:
    """A comma-separated string (query string) or a list of strings (a SearchRequest body)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    raise InvalidValue(f"{name} must be a list of attribute names")


def parse_projection(attributes: Any, excluded: Any) -> Projection:
    projection = Projection(_names(attributes, "attributes"), _names(excluded, "excludedAttributes"))
    if projection.attributes and projection.excluded:
        raise InvalidValue("attributes and excludedAttributes cannot be given together")
    return projection


@dataclass(frozen=True)
class SearchRequest:
    """A query: from GET's query string or a POST /.search body (RFC 7644 3.4.3)."""

    filter: str | None
    start: int
    count: int
    projection: Projection
    sort_by: str | None = None
    descending: bool = False


SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _sorting(sort_by: Any, sort_order: Any) -> tuple[str | None, bool]:
    """sortBy (an attribute path) and sortOrder ("ascending", the default, or "descending"), RFC 7644 3.4.2.3."""
    if sort_by is not None and (not isinstance(sort_by, str) or len(sort_by) > 255):
        raise InvalidValue("sortBy must be an attribute name")
    if sort_order is not None and (not isinstance(sort_order, str) or sort_order.lower() not in {"ascending", "descending"}):
        raise InvalidValue("sortOrder must be ascending or descending")
    return (sort_by.strip() or None) if sort_by else None, bool(sort_order) and sort_order.lower() == "descending"


def query_of_args(args: Mapping[str, str]) -> SearchRequest:
    start, count = parse_paging(args)
    return SearchRequest(args.get("filter"), start, count,
                         parse_projection(args.get("attributes"), args.get("excludedAttributes")),
                         *_sorting(args.get("sortBy"), args.get("sortOrder")))


def query_of_body(body: Any) -> SearchRequest:
    body = _object(body, "a SearchRequest")
    paging = {key: str(_get(body, key)) for key in ("startIndex", "count") if _get(body, key) is not None}
    start, count = parse_paging(paging)
    text = _get(body, "filter")
    if text is not None and not isinstance(text, str):
        raise InvalidFilter("filter must be a string")
    return SearchRequest(text, start, count, parse_projection(_get(body, "attributes"), _get(body, "excludedAttributes")),
                         *_sorting(_get(body, "sortBy"), _get(body, "sortOrder")))


# ---- output ----

def _timestamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def scim_id(person: Person) -> str | None:
    """A person's SCIM id, if they were provisioned over SCIM and not deleted."""
    if person.source != PersonSource.SCIM or person.external_id.startswith(DELETED_PREFIX):
        return None
    return person.external_id


def user_input_of(person: Person, kept: ScimUserAttributes | None = None) -> UserInput:
    """The person as a User, the starting point of a PATCH; `kept` is what the client sent that Person lacks
    (a person provisioned before it was kept reads as govern always showed them)."""
    manager = scim_id(person.manager) if person.manager else None
    user = UserInput(user_name=person.username, display_name=person.display_name, email=person.email,
                     active=person.status == PersonStatus.ACTIVE, external_id=None,
                     department=person.department, manager=manager)
    if kept is None:
        return replace(user, name={"formatted": person.display_name}, given_display_name=person.display_name,
                       emails=({"value": person.email, "type": "work", "primary": True},) if person.email else None)
    return replace(user, manager=manager or kept.manager_ref, external_id=kept.external_id,
                   name=dict(kept.name) if kept.name else None,
                   given_display_name=kept.display_name,
                   emails=tuple(dict(email) for email in kept.emails) if kept.emails else None,
                   active_unassigned=kept.active_unassigned and person.status != PersonStatus.ACTIVE)


def user_resource(person: Person, base: str, kept: ScimUserAttributes | None = None) -> dict[str, Any]:
    location = f"{base}/Users/{person.external_id}"
    user = user_input_of(person, kept)
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": person.external_id,
        "userName": person.username,
        "meta": {"resourceType": "User", "created": _timestamp(person.created_at),
                 "lastModified": _timestamp(person.updated_at), "location": location},
    }
    if user.given_display_name:
        resource["displayName"] = user.given_display_name
    if user.name:
        resource["name"] = user.name
    if not user.active_unassigned:
        resource["active"] = person.status == PersonStatus.ACTIVE
    resource["emails"] = [dict(email) for email in user.emails or ()]
    if user.external_id:
        resource["externalId"] = user.external_id
    enterprise: dict[str, Any] = {}
    if person.department:
        enterprise["department"] = person.department
    if person.manager and (manager_id := scim_id(person.manager)):
        enterprise["manager"] = {"value": manager_id, "displayName": person.manager.display_name,
                                 "$ref": f"{base}/Users/{manager_id}"}
    elif user.manager:  # a manager the identity provider has not provisioned (yet): kept as it referred to them
        enterprise["manager"] = {"value": user.manager}
    if enterprise:
        resource["schemas"].append(ENTERPRISE_SCHEMA)
        resource[ENTERPRISE_SCHEMA] = enterprise
    resource["meta"]["version"] = version_of(resource)
    return resource


def version_of(resource: dict[str, Any]) -> str:
    """A weak ETag (RFC 7644 3.14) of what a resource says: equal for equal content, whatever the server's URL."""
    def without_urls(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: without_urls(inner) for key, inner in value.items() if key not in {"meta", "$ref"}}
        if isinstance(value, list):
            return [without_urls(item) for item in value]
        return value
    canonical = json.dumps(without_urls(resource), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def entity_tags(header: str | None) -> frozenset[str] | None:
    """The opaque tags of an If-Match or If-None-Match header ("*" kept as is), compared weakly: W/ is dropped."""
    if header is None or not header.strip():
        return None
    tags = set()
    for part in re.findall(r'\s*(\*|(?:W/)?"[^"]*")\s*(?:,|$)', header):
        tags.add(part if part == "*" else part.removeprefix("W/"))
    if not tags:
        raise InvalidValue(f'{header!r} is not a list of entity tags such as W/"..."')
    return frozenset(tags)


def version_matches(version: str, tags: frozenset[str]) -> bool:
    return "*" in tags or version.removeprefix("W/") in tags


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
            "itemsPerPage": len(resources), "Resources": resources}
