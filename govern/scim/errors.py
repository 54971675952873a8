"""SCIM errors: domain errors that carry the RFC 7644 scimType the web layer puts in the error body."""

from __future__ import annotations

from govern.errors import DomainError


class ScimError(DomainError):
    scim_type: str | None = None
    shown_to_people = False  # only identity providers read these


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class Mutability(ScimError):
    scim_type = "mutability"


class Uniqueness(ScimError):
    status = 409
    title = "Conflict"
    scim_type = "uniqueness"


class ResourceNotFound(ScimError):
    status = 404
    title = "Not found"


class PreconditionFailed(ScimError):
    """If-Match named a version the resource no longer has (RFC 7644 3.14): someone else changed it first."""

    status = 412
    title = "Precondition failed"


class NoTarget(ScimError):
    scim_type = "noTarget"
