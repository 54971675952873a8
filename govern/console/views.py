"""The console shell's own pages: the home page (what waits for the user, the posture at a glance) and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session
from flask_babel import gettext as _

from govern import app_services
from govern.auth import users
from govern.auth.roles import ROLE_PERMISSIONS, Permission
from govern.console import home_page
from govern.console.blueprint import ConsolePages
from govern.console.responses import safe_next
from govern.extensions import db
from govern.home import service as home_service
from govern.locales import SUPPORTED_LOCALES
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()
routes.template_globals(home_page.home_number, home_page.home_category, home_page.home_week_chart)


@routes.post("/locale")
@public
def set_locale():
    locale = request.form.get("locale", "")
    if locale not in SUPPORTED_LOCALES:
        abort(400, description=_("Unsupported language."))
    session["locale"] = locale
    principal = current_principal()
    if principal is not None and principal.kind == "console_user":  # e-mail is then written in it too
        users.remember_language(db.session, current_actor(), principal.id, locale)
    return redirect(safe_next(request.form.get("next")))


@routes.get("/")
@requires(Permission.CONSOLE_USE)
def home():
    principal = current_principal()
    permissions = ROLE_PERMISSIONS[principal.role]
    todos = home_service.todos(db.session, permissions, principal.person_id)
    posture = home_service.posture(db.session, permissions, app_services.settings().leaver_revocation_sla_hours)
    return render_template("console/home.html", todos=home_page.todo_rows(todos),
                           charts=[home_page.chart(measure) for measure in posture.measures],
                           linked=principal.person_id is not None)


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
