"""SCIM discovery documents (RFC 7643 sections 5-7): what govern's SCIM service supports, for clients that ask."""

from __future__ import annotations

from typing import Any

from govern.scim.schemas import ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_COUNT, USER_SCHEMA

SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "A token minted with `govern scim token create --name NAME`, sent as Authorization: Bearer.",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
         "description": "A person govern governs access for", "schema": USER_SCHEMA,
         "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
         "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}},
        {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
         "description": "A group pushed by the identity provider; configuration maps groups to govern meanings (the entitlement group, console roles)", "schema": GROUP_SCHEMA,
         "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"}},
    ]


def _attribute(name: str, kind: str = "string", *, required: bool = False, multi: bool = False, unique: str = "none",
               mutability: str = "readWrite", sub: list[dict[str, Any]] | None = None,
               references: list[str] | None = None, case_exact: bool = False) -> dict[str, Any]:
    attribute = {"name": name, "type": kind, "multiValued": multi, "required": required, "caseExact": case_exact,
                 "mutability": mutability, "returned": "default", "uniqueness": unique}
    if sub:
        attribute["subAttributes"] = sub
    if references:
        attribute["referenceTypes"] = references
    return attribute


def _user_reference() -> dict[str, Any]:
    """The `$ref` govern adds to a manager or a member: the User's location, never written by a client."""
    return _attribute("$ref", "reference", mutability="readOnly", references=["User"])


def schemas(base: str) -> list[dict[str, Any]]:
    documents = [
        (USER_SCHEMA, "User", [
            _attribute("userName", required=True, unique="server"),
            _attribute("name", "complex", sub=[_attribute("formatted"), _attribute("givenName"), _attribute("familyName")]),
            _attribute("displayName"),
            _attribute("emails", "complex", multi=True, sub=[_attribute("value"), _attribute("type"), _attribute("primary", "boolean")]),
            _attribute("active", "boolean"),
        ]),
        (ENTERPRISE_SCHEMA, "EnterpriseUser", [
            _attribute("department"),
            _attribute("manager", "complex", sub=[_attribute("value"), _attribute("displayName", mutability="readOnly"),
                                                  _user_reference()]),
        ]),
        (GROUP_SCHEMA, "Group", [
            _attribute("displayName", required=True, unique="server"),  # unique whatever its case
            _attribute("members", "complex", multi=True, sub=[
                # a member's value is an id, compared exactly by filters (govern.scim.group_query)
                _attribute("value", mutability="immutable", case_exact=True), _attribute("display", mutability="readOnly"),
                _user_reference(), _attribute("type", mutability="immutable")]),
        ]),
    ]
    return [{"schemas": [SCHEMA_SCHEMA], "id": schema_id, "name": name, "attributes": attributes,
             "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{schema_id}"}}
            for schema_id, name, attributes in documents]
