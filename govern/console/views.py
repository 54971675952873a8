"""The console shell's own pages: the home page, which sends each role where it starts, and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_babel import gettext as _

from govern.locales import SUPPORTED_LOCALES
from govern.auth.roles import Permission, role_allows
from govern.console.blueprint import ConsolePages
from govern.console.responses import safe_next
from govern.web.authz import public, requires
from govern.web.request_cycle import current_principal

routes = ConsolePages()


@routes.post("/locale")
@public
def set_locale():
    locale = request.form.get("locale", "")
    if locale not in SUPPORTED_LOCALES:
        abort(400, description=_("Unsupported language."))
    session["locale"] = locale
    return redirect(safe_next(request.form.get("next")))


@routes.get("/")
@requires(Permission.CONSOLE_USE)
def home():
    principal = current_principal()
    if not role_allows(principal.role, Permission.ACCOUNTS_READ) and role_allows(principal.role, Permission.REVIEWS_RESPOND):
        return redirect(url_for("console.reviews"))  # an access reviewer sees only what they are asked to review
    return redirect(url_for("console.accounts"))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
