"""Per-request plumbing: request ids, who is calling, the authorization gate and the one commit."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from flask import Flask, current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden, Unauthorized

from govern import app_services
from govern.actor import Actor
from govern.auth.roles import role_allows
from govern.auth.service import Principal, authenticate_token
from govern.auth.sessions import SessionPolicy, resume_session
from govern.extensions import db
from govern.web.authz import PUBLIC, declared_permission, identifies_caller
from govern.web.failures import commits_despite_error
from govern.web.problems import error_response, wants_problem_json

log = structlog.get_logger("govern.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_principal() -> Principal | None:
    return g.get("principal")


def current_actor() -> Actor:
    principal = current_principal()
    if principal is None:
        return Actor("anonymous", "anonymous", g.get("request_id"), request.remote_addr)
    return Actor(principal.actor_id, principal.name, g.get("request_id"), request.remote_addr)


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if wants_problem_json():
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token:
            return authenticate_token(db.session, token.strip())
        return None
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    principal = resume_session(db.session, session_id, SessionPolicy.from_settings(app_services.settings()))
    if principal is None:
        session.pop("sid", None)  # ended or expired: the browser stops presenting it
    return principal


def _begin_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id)


def _authorize():
    if request.endpoint is None:
        return None  # routing will answer 404/405
    if request.method == "OPTIONS" and getattr(request.url_rule, "provide_automatic_options", False):
        return None  # Flask answers with Allow: no more than the OpenAPI document says, and CORS is off
    needed = declared_permission(current_app, request.endpoint, request.method)
    if needed is None:
        log.error("route_without_authorization_rule", endpoint=request.endpoint, method=request.method)
        raise Forbidden("This route has no authorization rule, so it is closed.")
    if not identifies_caller(current_app, request.endpoint):
        return None  # the probes: answering must not depend on the database a credential lookup needs
    g.principal = _authenticate()
    if needed == PUBLIC:
        return None
    principal = g.principal
    if principal is None:
        if wants_problem_json():
            raise Unauthorized("A valid bearer token is required.")
        return redirect(url_for("console.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    if not role_allows(principal.role, needed):
        raise Forbidden(f"Your role ({principal.role.value}) may not do this; it needs {needed.value}.")
    return None


def _finish_request(response):
    if response.status_code < 400 or commits_despite_error():
        try:
            db.session.commit()
        except Exception as exc:  # the change is lost; tell the caller instead of pretending
            db.session.rollback()
            log.error("commit_failed", error=type(exc).__name__)
            response = current_app.make_response(
                error_response(503, "Service unavailable", "The change could not be saved; nothing was changed.", "commit-failed")
            )
    else:
        db.session.rollback()
    response.headers["X-Request-ID"] = g.get("request_id", "")
    if not wants_problem_json() and not (request.endpoint or "").endswith("static"):
        response.headers["Cache-Control"] = "no-store"  # console pages show people and access: never kept by a browser or proxy
    principal = g.get("principal")
    log.info(
        "request",
        method=request.method,
        route=request.url_rule.rule if request.url_rule else None,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        principal=principal.actor_id if principal else None,
    )
    return response


def register_request_cycle(app: Flask) -> None:
    app.before_request(_begin_request)
    app.before_request(_authorize)
    app.after_request(_finish_request)
