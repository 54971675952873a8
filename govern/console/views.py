"""The web console: sign-in, inventory and people pages. Views stay thin."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from govern import SUPPORTED_LOCALES
from govern.auth.roles import Permission
from govern.auth.service import redeem_login_link
from govern.extensions import db
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor

bp = Blueprint("console", __name__, template_folder="../templates", static_folder="../static", static_url_path="/static/console")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("console.home")


@bp.get("/login")
@public
def login():
    return render_template("console/login.html", next=request.args.get("next"))


@bp.get("/login/<code>")
@public
def redeem(code: str):
    principal = redeem_login_link(db.session, current_actor(), code)
    if principal is None:
        return render_template("console/login.html", error=_("This sign-in link is invalid, expired or already used.")), 400
    session.clear()
    session["user_id"] = principal.id
    session.permanent = True
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
@requires(Permission.CONSOLE_USE)
def logout():
    session.pop("user_id", None)
    return redirect(url_for("console.login"))


@bp.post("/locale")
@public
def set_locale():
    locale = request.form.get("locale", "")
    if locale not in SUPPORTED_LOCALES:
        abort(400, description=_("Unsupported language."))
    session["locale"] = locale
    return redirect(_safe_next(request.form.get("next")))


@bp.get("/")
@requires(Permission.CONSOLE_USE)
def home():
    return redirect(url_for("console.accounts"))


@bp.get("/accounts")
@requires(Permission.ACCOUNTS_READ)
def accounts():
    return render_template("console/base.html")
