"""The web console: sign-in, the account inventory, people and access forms. Views stay thin."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from govern import SUPPORTED_LOCALES
from govern.accounts.models import AccountStatus
from govern.accounts.schemas import AccountListArgs, RetireSchema
from govern.accounts.service import AccountFilter, list_accounts, list_networks, retire_account
from govern.auth.roles import Permission
from govern.auth.service import redeem_login_link
from govern.console import forms, pages, templating
from govern.errors import DomainError
from govern.extensions import db
from govern.grants.schemas import RevokeSchema
from govern.grants.service import create_grant, revoke_grant
from govern.people.models import PersonStatus
from govern.people.schemas import PersonListArgs
from govern.people.service import PersonFilter, list_people
from govern.web.authz import public, requires
from govern.web.problems import error_response
from govern.web.request_cycle import current_actor, current_principal

bp = Blueprint("console", __name__, template_folder="../templates", static_folder="../static", static_url_path="/static/console")
bp.record_once(lambda state: templating.install(state.app))


@bp.app_errorhandler(CSRFError)
def _form_expired(_error: CSRFError):
    explanation = _("This form was missing its security token or it had expired. Go back, reload the page and try again.")
    return error_response(400, _("Form expired"), explanation)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("console.home")


def _refusal(error: DomainError) -> str:
    """The service's reason for refusing; keeps its audit event when the error says so (as the app handler does)."""
    g.commit_despite_error = error.keeps_audit
    return error.detail


def _account_page(account_id: int, status: int = 200, **form_state):
    context = pages.account_page(db.session, account_id, current_principal(), request.values.get("person_q"))
    return render_template("console/account.html", **context, **form_state), status


# Sign-in and preferences


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


# Accounts


@bp.get("/accounts")
@requires(Permission.ACCOUNTS_READ)
def accounts():
    results, errors = pages.listing(db.session, request.args, AccountListArgs(), list_accounts, AccountFilter)
    networks, statuses = list_networks(db.session), list(AccountStatus)
    page = render_template("console/accounts.html", results=results, errors=errors, networks=networks, statuses=statuses)
    return page, 400 if errors else 200


@bp.get("/accounts/<int:account_id>")
@requires(Permission.ACCOUNTS_READ)
def account(account_id: int):
    return _account_page(account_id, just_connected=request.args.get("connected") == "1")


@bp.post("/accounts/<int:account_id>/grants")
@requires(Permission.GRANTS_WRITE)
def grant_access(account_id: int):
    values, errors = forms.grant_request(request.form, account_id)
    if errors:
        return _account_page(account_id, 422, failed_form="grant", errors=errors)
    try:
        grant = create_grant(db.session, current_actor(), **values)
    except DomainError as error:
        return _account_page(account_id, error.status, failed_form="grant", refusal=_refusal(error))
    flash(_("Access granted to %(name)s.", name=templating.isolate(grant.person.display_name)), "success")
    return redirect(url_for(".account", account_id=account_id))


@bp.post("/accounts/<int:account_id>/grants/<int:grant_id>/revoke")
@requires(Permission.GRANTS_WRITE)
def revoke_access(account_id: int, grant_id: int):
    values, errors = forms.load(RevokeSchema(), request.form)
    if errors:
        return _account_page(account_id, 422, failed_form=f"revoke-{grant_id}", errors=errors)
    try:
        pages.grant_on_account(db.session, account_id, grant_id)
        grant = revoke_grant(db.session, current_actor(), grant_id, values["reason"])
    except DomainError as error:
        return _account_page(account_id, error.status, failed_form=f"revoke-{grant_id}", refusal=_refusal(error))
    flash(_("Access of %(name)s revoked.", name=templating.isolate(grant.person.display_name)), "success")
    return redirect(url_for(".account", account_id=account_id))


@bp.post("/accounts/<int:account_id>/retire")
@requires(Permission.ACCOUNTS_WRITE)
def retire(account_id: int):
    values, errors = forms.load(RetireSchema(), request.form)
    if errors:
        return _account_page(account_id, 422, failed_form="retire", errors=errors)
    try:
        retire_account(db.session, current_actor(), account_id, values["reason"])
    except DomainError as error:
        return _account_page(account_id, error.status, failed_form="retire", refusal=_refusal(error))
    flash(_("The account was retired and every grant on it was revoked."), "success")
    return redirect(url_for(".account", account_id=account_id))


# People


@bp.get("/people")
@requires(Permission.PEOPLE_READ)
def people():
    results, errors = pages.listing(db.session, request.args, PersonListArgs(), list_people, PersonFilter)
    page = render_template("console/people.html", results=results, errors=errors, statuses=list(PersonStatus))
    return page, 400 if errors else 200


@bp.get("/people/<int:person_id>")
@requires(Permission.PEOPLE_READ)
def person(person_id: int):
    return render_template("console/person.html", **pages.person_page(db.session, person_id))


# Registered last on purpose: tests/unit/auth/test_route_matrix.py walks the routes in registration order
# with one signed-in client, and signing out would turn every later check into "anonymous".
@bp.post("/logout")
@requires(Permission.CONSOLE_USE)
def logout():
    session.pop("user_id", None)
    flash(_("You have signed out."), "info")
    return redirect(url_for("console.login"))
