"""Route authorization: every endpoint declares a permission (or PUBLIC); undeclared routes are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

from govern.auth.roles import Permission

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
_ATTRIBUTE = "_govern_permission"
_ANONYMOUS = "_govern_anonymous"
PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json"}


def requires(permission: Permission) -> Callable[[F], F]:
    def mark(view: F) -> F:
        setattr(view, _ATTRIBUTE, permission)
        return view

    return mark


def public(view: F) -> F:
    setattr(view, _ATTRIBUTE, PUBLIC)
    apidoc = getattr(view, "_apidoc", None)  # an API view (flask-smorest): its OpenAPI entry needs no bearer token
    if apidoc is not None:
        view._apidoc = {**apidoc, "manual_doc": {**apidoc.get("manual_doc", {}), "security": []}}  # type: ignore[attr-defined]
    return view


def probe(view: F) -> F:
    """Public, and the caller is never identified: no credential is looked up, so no database is touched."""
    setattr(view, _ANONYMOUS, True)
    return public(view)


def identifies_caller(app: Flask, endpoint: str) -> bool:
    return not getattr(app.view_functions.get(endpoint), _ANONYMOUS, False)


def declared_permission(app: Flask, endpoint: str, method: str) -> Permission | str | None:
    """What a route needs for a method: a Permission, PUBLIC, or None when nothing was declared."""
    if endpoint in PUBLIC_ENDPOINTS or endpoint.endswith(".static"):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, _ATTRIBUTE, None) if handler else None
    return getattr(view, _ATTRIBUTE, None)
