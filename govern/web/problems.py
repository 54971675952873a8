"""RFC 9457 problem+json for the API, SCIM error documents under /scim/, and readable error pages for the console."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, g, json, make_response, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from govern.audit.chain import UnauditableValue
from govern.audit.service import AuditUnavailable
from govern.errors import DomainError
from govern.web.failures import answered

log = structlog.get_logger(__name__)

PROBLEM_BASE = "https://govern.example/problems/"
MACHINE_PREFIXES = ("/api/", "/scim/", "/healthz", "/readyz")
SCIM_PREFIX = "/scim/"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def wants_problem_json() -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def wants_scim_error() -> bool:
    return request.path.startswith(SCIM_PREFIX)


def scim_error(status: int, detail: str, scim_type: str | None = None) -> Response:
    """An RFC 7644 section 3.12 error: what Okta and Entra ID read and show to the administrator."""
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/scim+json")


def problem(status: int, title: str, detail: str, kind: str | None = None, **extensions: Any) -> Response:
    body = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": g.get("request_id"),
        **extensions,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    return response


def error_response(status: int, title: str, detail: str, kind: str | None = None, **extensions: Any):
    if wants_scim_error():
        return scim_error(status, detail)
    if wants_problem_json():
        return problem(status, title, detail, kind, **extensions)
    page = render_template("console/error.html", status=status, title=title, detail=detail, errors=extensions.get("errors"))
    return page, status


def _validation_messages(exc: HTTPException) -> dict[str, Any] | None:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return None
    # webargs nests by location ("json", "query"); a single location is flattened for readability, unless
    # what it holds is not per field (["Invalid JSON body."]): `errors` is always an object, as documented
    if len(messages) == 1 and isinstance(next(iter(messages.values())), dict):
        return next(iter(messages.values()))
    return messages


def handle_http_exception(exc: HTTPException):
    errors = _validation_messages(exc)
    if errors is not None:
        return error_response(exc.code or 422, "Invalid input", "The request has invalid fields; see errors.", "validation-error", errors=errors)
    detail = exc.description or exc.name
    if wants_scim_error() and getattr(exc, "scim_type", None):
        return scim_error(exc.code or 400, detail, exc.scim_type)
    response = error_response(exc.code or 500, exc.name, detail, None)
    if exc.code == 405 and wants_problem_json():
        response.headers["Allow"] = ", ".join(getattr(exc, "valid_methods", None) or [])
    if exc.code == 401 and wants_problem_json():
        response.headers["WWW-Authenticate"] = 'Bearer realm="govern"'
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        answered(exc)  # the request cycle decides from it whether the refusal's audit event is kept
        if wants_scim_error():
            return scim_error(exc.status, exc.detail, getattr(exc, "scim_type", None))
        kind = getattr(exc, "problem_type", None) or type(exc).__name__.lower()
        detail = exc.detail if wants_problem_json() else exc.worded(gettext)
        response = make_response(error_response(exc.status, exc.title, detail, kind, code=exc.code, **exc.problem_members()))
        if getattr(exc, "retry_after", None):  # a rate limit says when to come back (RFC 9110, 10.2.3)
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(AuditUnavailable)
    @app.errorhandler(UnauditableValue)
    def _audit_unavailable(exc: Exception):
        log.error("audit_write_failed", error=str(exc))
        return error_response(503, "Audit trail unavailable", "The change was not made because its audit event could not be written.", "audit-unavailable")

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.error("database_unavailable", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_response(503, "Service unavailable", "The database is not answering; nothing was changed. Try again shortly.", "database-unavailable")

    @app.errorhandler(PoolTimeout)
    def _pool_exhausted(_exc: PoolTimeout):
        log.error("database_pool_exhausted")
        return error_response(503, "Service unavailable", "Every database connection is busy; nothing was changed. Try again shortly.", "database-busy")

    @app.errorhandler(IntegrityError)
    def _integrity_error(exc: IntegrityError):
        log.warning("integrity_error", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_response(409, "Conflict", "The change conflicts with existing data (a duplicate or a missing reference); nothing was changed.", "conflict")

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # The database refused a value (a number beyond a column's range, a NUL in text): the input was
        # wrong, not the service. Schemas bound their fields; this is the net for whatever they missed.
        log.warning("database_refused_value", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_response(400, "Invalid value", "A value in the request is out of the range govern can store; nothing was changed.", "invalid-value")

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        log.error("database_error", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return error_response(503, "Service unavailable", "The database refused the change; nothing was changed.", "database-error")

    @app.errorhandler(InternalServerError)
    def _internal(exc: InternalServerError):
        original = getattr(exc, "original_exception", None)
        log.error("unhandled_exception", exc_info=original)
        return error_response(500, "Internal error", "Something went wrong on our side; quote the request id when reporting it.")
