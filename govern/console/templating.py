"""Template helpers for the console: locale and direction, permission checks, labels and filter-keeping links."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, request, url_for
from flask_babel import get_locale

from govern.locales import RTL_LOCALES, SUPPORTED_LOCALES
from govern.auth.roles import Permission, role_allows
from govern.console.labels import audit_action_label, connection_health_label, grant_state_label, label
from govern.web.request_cycle import current_principal

LOCALE_NAMES = {"en": "English", "ar": "العربية", "he": "עברית"}
FSI, PDI = "\u2068", "\u2069"


def isolate(text: str) -> str:
    """Wrap user text in Unicode isolates so an Arabic or Hebrew name cannot reorder the sentence around it."""
    return f"{FSI}{text}{PDI}"


def can(permission: Permission) -> bool:
    principal = current_principal()
    return principal is not None and role_allows(principal.role, permission)


def here() -> str:
    """The page to come back to (the language switcher): this one, or after a form post the page that held the form."""
    if request.endpoint in ("console.redeem", "console.link_page"):
        return url_for("console.login")  # never echo a sign-in code back into the page
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return urlunsplit(("", "", referrer.path, referrer.query, ""))
    return url_for("console.home")


def listing_url(**changes: object) -> str:
    """This listing's URL with some query arguments changed; any change starts again from the first page."""
    args = {key: value for key, value in request.args.items() if key != "cursor"}
    args.update({key: str(value) for key, value in changes.items() if value is not None})
    kept = {key: value for key, value in args.items() if value != ""}
    return url_for(request.endpoint, **(request.view_args or {}), **kept)


def export_url(endpoint: str) -> str:
    """The CSV export of this listing: the same filters and order, every page."""
    kept = {key: value for key, value in request.args.items() if key not in ("cursor", "limit") and value != ""}
    return url_for(endpoint, **kept)


def page_url(cursor_name: str, cursor: str | None) -> str:
    """This page with one of its lists moved to another page; the other lists stay where they are."""
    args = {key: value for key, value in request.args.items() if key != cursor_name}
    if cursor:
        args[cursor_name] = cursor
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(
        get_locale=get_locale,
        RTL_LOCALES=RTL_LOCALES,
        SUPPORTED_LOCALES=SUPPORTED_LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        Permission=Permission,
        can=can,
        current_principal=current_principal,
        here=here,
        listing_url=listing_url,
        export_url=export_url,
        page_url=page_url,
        label=label,
        grant_state_label=grant_state_label,
        audit_action_label=audit_action_label,
        connection_health_label=connection_health_label,
    )
    app.jinja_env.filters.update(isolate=isolate)
