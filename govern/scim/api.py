"""/scim/v2: the SCIM 2.0 endpoints Okta and Entra ID provision through; thin views over govern.scim.service.

A plain Flask blueprint, not flask-smorest: SCIM publishes its own discovery documents instead of
OpenAPI, and its bodies are read by govern.scim.schemas (case-insensitive names, string booleans).
Errors under /scim/ are SCIM error documents (govern.web.problems); every route needs scim:provision.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, json, request

from govern import app_services
from govern.auth.roles import Permission
from govern.extensions import db
from govern.scim import discovery, group_schemas, groups, schemas, search, service
from govern.scim.errors import InvalidSyntax, InvalidValue, ResourceNotFound
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
SCIM_JSON = "application/scim+json"


def _base() -> str:
    """Where SCIM lives: GOVERN_BASE_URL when it is set, else the URL this request came in on (meta.location, $ref)."""
    settings = app_services.settings()
    root = settings.base_url if "base_url" in settings.model_fields_set else request.url_root
    return root.rstrip("/") + bp.url_prefix


def _meanings() -> groups.GroupMeanings:
    settings = app_services.settings()
    return groups.GroupMeanings.of(settings.scim_entitlement_group, settings.scim_role_groups)


def _body() -> Any:
    """The request's JSON whatever its content type (application/scim+json or application/json)."""
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise InvalidSyntax("the request body must be a JSON document")
    return body


def _reply(document: Any, status: int = 200, version: str | None = None) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), status=status, mimetype=SCIM_JSON)
    if status == 201:
        response.headers["Location"] = document["meta"]["location"]
    if version:
        response.headers["ETag"] = version
    return response


def _if_match() -> frozenset[str] | None:
    return schemas.entity_tags(request.headers.get("If-Match"))


def _projection() -> schemas.Projection:
    return schemas.parse_projection(request.args.get("attributes"), request.args.get("excludedAttributes"))


def _user(person, status: int = 200) -> Response:
    kept = service.kept_attributes(db.session, [person]).get(person.id)
    resource = schemas.user_resource(person, _base(), kept)
    version = resource["meta"]["version"]
    if status == 200 and request.method == "GET" and (unchanged := schemas.entity_tags(request.headers.get("If-None-Match"))):
        if schemas.version_matches(version, unchanged):
            return Response(status=304, headers={"ETag": version})
    return _reply(_projection().apply(resource), status, version)


def _group_document(view: groups.GroupView, base: str) -> dict[str, Any]:
    members = None if view.members is None else [
        group_schemas.member_resource(m.value, m.type, m.person.external_id if m.person else None,
                                      m.person.display_name if m.person else None, base) for m in view.members]
    return group_schemas.group_resource(view.group, members, base)


def _group(view: groups.GroupView, status: int = 200) -> Response:
    version = group_schemas.group_version(view.group)
    if status == 200 and request.method == "GET" and (unchanged := schemas.entity_tags(request.headers.get("If-None-Match"))):
        if schemas.version_matches(version, unchanged):
            return Response(status=304, headers={"ETag": version})
    return _reply(_projection().apply(_group_document(view, _base())), status, version)


def _users(query: schemas.SearchRequest, across_types: bool = False) -> tuple[int, list[dict[str, Any]]]:
    found = search.parse_search_filter(query.filter) if across_types else service.parse_user_filter(query.filter)
    total, people = service.list_users(db.session, found, query.start, query.count, query.sort_by, query.descending,
                                       across_types)
    kept = service.kept_attributes(db.session, people)
    return total, [query.projection.apply(schemas.user_resource(p, _base(), kept.get(p.id))) for p in people]


def _groups(query: schemas.SearchRequest, across_types: bool = False) -> tuple[int, list[dict[str, Any]]]:
    found = search.parse_search_filter(query.filter) if across_types else groups.parse_group_filter(query.filter)
    total, views = groups.list_groups(db.session, found, query.start, query.count, query.projection.wants_members,
                                      query.sort_by, query.descending, across_types)
    return total, [query.projection.apply(_group_document(view, _base())) for view in views]


def _listed(query: schemas.SearchRequest, found: tuple[int, list[dict[str, Any]]]) -> Response:
    total, resources = found
    return _reply(schemas.list_response(resources, total, query.start))


@bp.get("/Users")
@requires(Permission.SCIM_PROVISION)
def list_users():
    query = schemas.query_of_args(request.args)
    return _listed(query, _users(query))


@bp.post("/Users/.search")
@requires(Permission.SCIM_PROVISION)
def search_users():
    query = schemas.query_of_body(_body())
    return _listed(query, _users(query))


@bp.post("/.search")
@requires(Permission.SCIM_PROVISION)
def search_all():
    """Users, then groups, matching the query (RFC 7644 3.4.3): an attribute one type lacks reads as unassigned on it
    (govern.scim.search); startIndex and count page through the two as one list. sortBy orders each type that has
    the attribute; the other keeps its own order, as if none of it had a value (RFC 7644 3.4.2.3)."""
    query = schemas.query_of_body(_body())
    search.parse_search_filter(query.filter)  # a bad filter is refused before any query runs
    sorts = (service.sorts_users_by(query.sort_by), groups.sorts_groups_by(query.sort_by)) if query.sort_by else (True, True)
    if not any(sorts):
        raise InvalidValue(f"neither Users nor Groups can be sorted by {query.sort_by!r}")
    found: list[dict[str, Any]] = []
    total, offset = 0, query.start - 1  # offset: how many matches to skip, across users then groups
    for lister, sorted_by_it in zip((_users, _groups), sorts):
        typed = query if sorted_by_it else replace(query, sort_by=None, descending=False)
        wanted = query.count - len(found)
        matched, _ = lister(replace(typed, start=1, count=0), True)
        if wanted and offset < matched:
            found.extend(lister(replace(typed, start=offset + 1, count=wanted), True)[1])
        offset = max(0, offset - matched)
        total += matched
    return _reply(schemas.list_response(found, total, query.start))


@bp.post("/Users")
@requires(Permission.SCIM_PROVISION)
def create_user():
    return _user(service.create_user(db.session, current_actor(), schemas.parse_user(_body())), 201)


@bp.get("/Users/<user_id>")
@requires(Permission.SCIM_PROVISION)
def get_user(user_id: str):
    return _user(service.get_user(db.session, user_id))


@bp.put("/Users/<user_id>")
@requires(Permission.SCIM_PROVISION)
def replace_user(user_id: str):
    service.get_user(db.session, user_id, _if_match())  # an unknown id is 404, a stale If-Match 412, whatever the body
    return _user(service.replace_user(db.session, current_actor(), user_id, schemas.parse_user(_body()), _if_match()))


@bp.patch("/Users/<user_id>")
@requires(Permission.SCIM_PROVISION)
def patch_user(user_id: str):
    service.get_user(db.session, user_id, _if_match())
    return _user(service.patch_user(db.session, current_actor(), user_id, _body(), _if_match()))


@bp.delete("/Users/<user_id>")
@requires(Permission.SCIM_PROVISION)
def delete_user(user_id: str):
    service.delete_user(db.session, current_actor(), user_id, _if_match())
    return Response(status=204)


@bp.get("/Groups")
@requires(Permission.SCIM_PROVISION)
def list_groups():
    query = schemas.query_of_args(request.args)
    return _listed(query, _groups(query))


@bp.post("/Groups/.search")
@requires(Permission.SCIM_PROVISION)
def search_groups():
    query = schemas.query_of_body(_body())
    return _listed(query, _groups(query))


@bp.post("/Groups")
@requires(Permission.SCIM_PROVISION)
def create_group():
    draft, _ = group_schemas.parse_group(_body())
    return _group(groups.create_group(db.session, current_actor(), _meanings(), draft), 201)


@bp.get("/Groups/<group_id>")
@requires(Permission.SCIM_PROVISION)
def get_group(group_id: str):
    return _group(groups.get_group(db.session, group_id, _projection().wants_members))


@bp.put("/Groups/<group_id>")
@requires(Permission.SCIM_PROVISION)
def replace_group(group_id: str):
    groups.get_group(db.session, group_id, False, _if_match())  # an unknown id is 404, a stale If-Match 412, whatever the body
    draft, names_members = group_schemas.parse_group(_body())
    return _group(groups.replace_group(db.session, current_actor(), _meanings(), group_id, draft, names_members, _if_match()))


@bp.patch("/Groups/<group_id>")
@requires(Permission.SCIM_PROVISION)
def patch_group(group_id: str):
    groups.get_group(db.session, group_id, False, _if_match())
    return _group(groups.patch_group(db.session, current_actor(), _meanings(), group_id, _body(), _if_match()))


@bp.delete("/Groups/<group_id>")
@requires(Permission.SCIM_PROVISION)
def delete_group(group_id: str):
    groups.delete_group(db.session, current_actor(), _meanings(), group_id, _if_match())
    return Response(status=204)


@bp.get("/ServiceProviderConfig")
@requires(Permission.SCIM_PROVISION)
def service_provider_config():
    return _reply(discovery.service_provider_config(_base()))


@bp.get("/ResourceTypes")
@requires(Permission.SCIM_PROVISION)
def resource_types():
    documents = discovery.resource_types(_base())
    return _reply(schemas.list_response(documents, len(documents), 1))


@bp.get("/ResourceTypes/<name>")
@requires(Permission.SCIM_PROVISION)
def resource_type(name: str):
    return _reply(_one(discovery.resource_types(_base()), name, "resource type"))


@bp.get("/Schemas")
@requires(Permission.SCIM_PROVISION)
def schema_list():
    documents = discovery.schemas(_base())
    return _reply(schemas.list_response(documents, len(documents), 1))


@bp.get("/Schemas/<schema_id>")
@requires(Permission.SCIM_PROVISION)
def schema(schema_id: str):
    return _reply(_one(discovery.schemas(_base()), schema_id, "schema"))


def _one(documents: list[dict[str, Any]], wanted: str, what: str) -> dict[str, Any]:
    for document in documents:
        if document["id"] == wanted:
            return document
    raise ResourceNotFound(f"there is no {what} {wanted!r}")
