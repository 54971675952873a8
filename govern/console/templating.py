"""Template helpers for the console: locale and direction, permission checks, labels and filter-keeping links."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def _listing() -> tuple[str, dict[str, str]]:
    """The listing a page shows, as a path and its query: this GET, or after a form post shown again (a refusal) the
    page that held the form, so its sort and pager links never point at the post-only address."""
    if request.method != "GET":
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc == request.host and referrer.path.startswith("/"):
            return referrer.path, dict(parse_qsl(referrer.query, keep_blank_values=True))
    return request.path, dict(request.args.items())


def _link(path: str, args: dict[str, str]) -> str:
    return f"{path}?{urlencode(args)}" if args else path


def listing_url(**changes: object) -> str:
    """This listing's URL with some query arguments changed; any change starts again from the first page."""
    path, args = _listing()
    args.pop("cursor", None)
    args.update({key: str(value) for key, value in changes.items() if value is not None})
    return _link(path, {key: value for key, value in args.items() if value != ""})


PAGE_POSITION = ("cursor", "limit", "before_seq", "after_seq")  # where a list is, not what it holds (the audit log's seqs)


def export_url(endpoint: str) -> str:
    """The CSV export of this listing: the same filters and order, every page."""
    _, args = _listing()
    kept = {key: value for key, value in args.items() if key not in PAGE_POSITION and value != ""}
    return url_for(endpoint, **kept)


def page_url(cursor_name: str, cursor: str | None) -> str:
    """This page with one of its lists moved to another page; the other lists stay where they are."""
    path, args = _listing()
    args.pop(cursor_name, None)
    if cursor:
        args[cursor_name] = cursor
    return _link(path, args)


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
