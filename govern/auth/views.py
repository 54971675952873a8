"""The console's sign-in pages: a directory password, the company's identity provider, a one-time link; and signing out."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import structlog
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.adapters.directory import DirectoryUnavailable
from govern.adapters.directory_factory import build_directory
from govern.adapters.oidc import OidcError, OidcRejected, OidcUnavailable, build_oidc_client
from govern.auth import admin_views
from govern.auth.refusals import SignInRefused, guard
from govern.auth.roles import Permission
from govern.auth.service import Principal, redeem_login_link
from govern.auth.sessions import SessionPolicy, end_session, start_session
from govern.auth.sign_in import LDAP, OIDC, SignInPolicy, refuse_oidc_answer, sign_in_with_oidc, sign_in_with_password
from govern.auth.throttle import Throttle
from govern.config import ConfigurationError, Settings
from govern.console.blueprint import ConsolePages
from govern.console.responses import safe_next
from govern.extensions import db
from govern.secret_value import SecretValue
from govern.web.authz import public, requires
from govern.web.failures import answered
from govern.web.request_cycle import current_actor

log = structlog.get_logger("govern.console")
routes = ConsolePages()


def _settings() -> Settings:
    return app_services.settings()


def _sign_in_adapter(name: str, build: Callable[[Settings], Any]) -> Any:
    """The directory or OIDC client for sign-in, built once per app (the OIDC client caches discovery and keys)."""
    adapters = current_app.extensions.setdefault("govern.sign_in", {})
    if name not in adapters:
        adapters[name] = build(_settings())
    return adapters[name]


def _sign_in_options() -> dict[str, Any]:
    settings = _settings()
    return {"password_sign_in": settings.password_sign_in, "oidc_sign_in": settings.oidc_sign_in,
            "oidc_provider": settings.oidc_provider_name, "break_glass_only": settings.login_links_admin_only}


def _throttle() -> Throttle:
    return app_services.throttle()


def _login_page(status: int = 200, retry_after: int | None = None, **context: Any):
    response = make_response(render_template("auth/login.html", **_sign_in_options(), **context), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _refused_page(refusal: SignInRefused, **context: Any):
    # An audited refusal (or the aggregated rate-limit event) is kept; what the attempt wrote before it was refused
    # was already undone by the service, and the other error pages here write nothing.
    answered(refusal)
    return _login_page(refusal.status, refusal.retry_after, error=_refused_sign_in(refusal), **context)


def _back_to_login(message: str):
    flash(message, "error")
    return redirect(url_for("console.login"))


def _fresh_cookie_session(**values: Any) -> None:
    """Nothing from before carries over into the cookie, but the language chosen."""
    locale = session.get("locale")
    session.clear()
    session.update(values)
    if locale:
        session["locale"] = locale


def _signed_in(principal: Principal, method: str, target: str | None):
    started = start_session(db.session, principal, method, request.remote_addr, SessionPolicy.from_settings(_settings()))
    _fresh_cookie_session(sid=started.reveal())  # a new id at every sign-in: a planted cookie signs nobody in
    session.permanent = True
    return redirect(safe_next(target))


def _oidc_principal(code: str, started: dict[str, Any]) -> tuple[Principal | None, str]:
    """Redeem the provider's code and sign its person in: the principal, or why not (in words for the page)."""
    policy, client = SignInPolicy.from_settings(_settings()), _sign_in_adapter("oidc", build_oidc_client)
    try:
        claims = client.claims(code, SecretValue(started["verifier"]), started["nonce"],
                               wanted=(policy.oidc_role_claim, policy.oidc_person_claim))
        return sign_in_with_oidc(db.session, current_actor(), policy, _throttle(), claims), ""
    except OidcRejected:
        refuse_oidc_answer(db.session, current_actor(), _throttle(), "id_token_rejected")
        return None, _("The identity provider's answer did not pass govern's checks, so you were not signed in. Start again.")
    except OidcUnavailable as exc:
        log.error("oidc sign-in unavailable", error=str(exc))
        return None, _("The identity provider is not answering. Try again in a few minutes.")
    except SignInRefused as refusal:
        return None, _refused_sign_in(refusal)


def _refused_sign_in(refusal: SignInRefused) -> str:
    messages = {
        "bad_credentials": _("The username or password is wrong, or the directory does not let this account sign in."),
        "rate_limited": {
            "name": _("Too many failed sign-ins for this username from your address. Wait a while, then try again."),
            "address": _("Too many failed sign-ins from your address. Wait a while, then try again."),
            "everyone": _("There have been too many failed sign-ins to govern just now. Wait a few minutes, then try again."),
        }.get(refusal.limited_by or "address"),
        "invalid_link": _("This sign-in link is invalid, expired or already used."),
        "no_role": _("You are not in any group that gives access to govern. Ask your IT team to add you to one."),
        "leaver": _("govern records that you have left the company, so you cannot sign in."),
        "disabled": _("Your access to the console has been switched off. Ask a govern administrator."),
        "account_conflict": _("Another console user already has your email address. Ask a govern administrator to sort it out."),
        "unknown_person": _("govern does not know you yet: no person matches your company account. Ask a govern administrator."),
        "ambiguous_person": _("More than one person in govern matches your company account. Ask a govern administrator to sort it out."),
        "no_person_claim": _("The identity provider did not say who you are, so govern cannot match you to a person."),
        "email_unverified": _("The identity provider has not verified your email address, so govern cannot rely on it."),
        "not_break_glass": _("One-time links are only for administrators in an emergency. Sign in with your company account instead."),
    }
    return messages.get(refusal.reason, _("Sign-in was refused."))


@routes.get("/login")
@public
def login():
    return _login_page(next=request.args.get("next"))


@routes.post("/login")
@public
def password_sign_in():
    if not _settings().password_sign_in:
        abort(404, description=_("Sign-in with a directory password is not configured."))
    form = request.form
    username, password, target = form.get("username", "").strip(), form.get("password", ""), form.get("next")
    if not username or not password:
        return _login_page(400, error=_("Enter your username and password."), username=username, next=target)
    try:
        principal = sign_in_with_password(db.session, current_actor(), _sign_in_adapter("directory", build_directory),
                                          SignInPolicy.from_settings(_settings()), _throttle(), username, SecretValue(password))
    except SignInRefused as refusal:
        return _refused_page(refusal, username=username, next=target)
    except (DirectoryUnavailable, ConfigurationError) as exc:
        log.error("directory sign-in unavailable", error=str(exc))
        unavailable = _("The company directory is not answering. Try again in a few minutes.")
        return _login_page(503, error=unavailable, username=username, next=target)
    return _signed_in(principal, LDAP, target)


@routes.get("/login/oidc")
@public
def oidc_sign_in():
    if not _settings().oidc_sign_in:
        abort(404, description=_("Sign-in with the company's identity provider is not configured."))
    try:
        guard(db.session, current_actor(), _throttle(), OIDC)  # no flow is started from an address over the limit
    except SignInRefused as refusal:
        return _refused_page(refusal)
    try:
        started = _sign_in_adapter("oidc", build_oidc_client).authorization()
    except (OidcError, ConfigurationError) as exc:
        log.error("oidc sign-in unavailable", error=str(exc))
        return _login_page(503, error=_("The identity provider is not answering. Try again in a few minutes."))
    session["oidc"] = {"state": started.state, "nonce": started.nonce, "verifier": started.code_verifier.reveal(),
                       "next": request.args.get("next")}
    return redirect(started.url)


@routes.get("/login/oidc/callback")
@public
def oidc_callback():
    """Failures go back to the sign-in page, so this URL (with its code) never stays in the browser or the page."""
    if not _settings().oidc_sign_in:
        abort(404, description=_("Sign-in with the company's identity provider is not configured."))
    started, state = session.pop("oidc", None) or {}, request.args.get("state", "")
    try:
        guard(db.session, current_actor(), _throttle(), OIDC)  # before the provider is asked to redeem the code
    except SignInRefused as refusal:
        return _back_to_login(_refused_sign_in(refusal))
    if not state or not hmac.compare_digest(state.encode(), str(started.get("state", "")).encode()):
        log.warning("oidc callback with an unknown state", started=bool(started))
        refuse_oidc_answer(db.session, current_actor(), _throttle(), "forged_state")
        return _back_to_login(_("This sign-in did not start here, or it took too long. Start again."))
    if request.args.get("error") or not request.args.get("code"):
        log.info("oidc provider did not sign in", error=request.args.get("error", "")[:100])
        return _back_to_login(_("The identity provider did not sign you in."))
    principal, refusal = _oidc_principal(request.args["code"], started)
    return _signed_in(principal, OIDC, started.get("next")) if principal else _back_to_login(refusal)


@routes.get("/login/<code>")
@public
def link_page(code: str):
    """Only a "Sign in" button: mail and chat scanners open links, and opening one must not spend it."""
    return render_template("auth/login_link.html", next=request.args.get("next"))


@routes.post("/login/<code>")
@public
def redeem(code: str):
    try:
        principal = redeem_login_link(db.session, current_actor(), code, throttle=_throttle(),
                                      admin_only=_settings().login_links_admin_only)
    except SignInRefused as refusal:
        return _refused_page(refusal)
    return _signed_in(principal, "login_link", request.form.get("next") or request.args.get("next"))


@routes.post("/logout")
@requires(Permission.CONSOLE_USE)
def logout():
    if isinstance(session.get("sid"), str):
        end_session(db.session, current_actor(), session["sid"])  # a copy of the cookie stops working too
    _fresh_cookie_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("console.login"))


def register(console: Blueprint) -> None:
    """Add these pages, and the admin pages for govern's own users and tokens, to the console (create_app calls this
    once per app)."""
    routes.register(console)
    admin_views.register(console)
