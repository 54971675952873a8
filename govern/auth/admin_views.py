"""The console's admin pages: console users (roles, person links, sign-in links, switching off), API and SCIM tokens.

A token or sign-in link is shown once, on the answer to the POST that made it: never flashed (the session cookie is
signed, not encrypted), never redirected to, never shown again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from govern import app_services
from govern.audit.names import name_events
from govern.audit.service import history_of
from govern.auth import service, users
from govern.auth.models import ApiClient, ConsoleUser
from govern.auth.roles import Permission, Role
from govern.console import confirm, pages, templating
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.labels import label
from govern.console.responses import refusal
from govern.db import utcnow
from govern.errors import Conflict, DomainError, NotFound
from govern.extensions import db
from govern.people.models import Person
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()
TOKEN_ROLES = (Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR)  # a machine's roles (SCIM's has its own page)
TOKEN_LIFETIMES = ("30", "90", "365", "never")  # days; 90 unless the administrator chooses otherwise
DEFAULT_LIFETIME = "90"
MIN_REASON, MAX_REASON = 3, 2000
HISTORY_LIMIT = 20  # the latest events about a user; the audit log has them all


def _refused(error: DomainError) -> str:
    """The refusal in the reader's language; the service's own words for what has no translation."""
    if isinstance(error, users.UserChangeRefused):
        return {
            "self": _("You cannot take away your own administrator access. Another administrator can."),
            "last_admin": _("This is the last active administrator. Make someone else an administrator first."),
            "leaver": _("This person has left the company: a console user is never linked to a leaver."),
            "machine_role": _("This role is for machines only; choose another."),
            "bad_email": _("Enter a valid email address."),
            "bad_name": _("Enter a name of at most 255 characters."),
            "already_disabled": _("This user is already switched off."),
        }.get(error.code, refusal(error))
    if isinstance(error, service.TokenRefused):
        return {
            "leaver": _("This person has left the company: no token is made for a leaver."),
            "console_only_role": _("This role is for people in the console only; a token cannot have it."),
            "bad_name": _("Enter a name of 1 to 128 characters, such as the system that will use the token."),
        }.get(error.code, refusal(error))
    if isinstance(error, Conflict):
        return _("That name or email address is already taken.")
    return refusal(error)


def _person_choice(form_value: str) -> int | None:
    value = form_value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


# -- console users --------------------------------------------------------------------------------------------------


def _users_page(status: int = 200, **state: Any):
    person_q = (request.values.get("person_q") or "").strip()[:200]
    q, role = request.args.get("q", "").strip()[:200], next((r for r in Role if r.value == request.args.get("role")), None)
    rows, total = users.list_console_users(db.session, q, role, users.LIST_LIMIT)
    context = {"rows": rows, "total": total, "q": q, "role_filter": role, "roles": users.CONSOLE_ROLES, "person_q": person_q,
               "people_to_pick": pages.people_to_pick(db.session, person_q), "submitted": request.form, "errors": {}}
    return render_template("admin/users.html", **context | state), status


@routes.get("/admin/users")
@requires(Permission.ADMIN_MANAGE)
def admin_users():
    return _users_page()


def _new_user_form() -> tuple[dict[str, Any], dict[str, str]]:
    form, errors = request.form, {}
    role = form.get("role", "")
    if role not in {r.value for r in users.CONSOLE_ROLES}:
        errors["role"] = _("Choose a role from the list.")
    if not form.get("email", "").strip():
        errors["email"] = _("Enter the email address the user signs in with.")
    if not form.get("display_name", "").strip():
        errors["display_name"] = _("Enter the user's name.")
    values = {"email": form.get("email", ""), "display_name": form.get("display_name", ""),
              "role": Role(role) if not errors.get("role") else None, "person_id": _person_choice(form.get("person_id", ""))}
    return values, errors


@routes.post("/admin/users")
@requires(Permission.ADMIN_MANAGE)
def admin_add_user():
    values, errors = _new_user_form()
    if errors:
        return _users_page(422, errors=errors)
    try:
        user = users.add_console_user(db.session, current_actor(), **values)
    except DomainError as error:
        return _users_page(error.status, refusal=_refused(error))
    flash(_("Console user %(email)s added.", email=templating.isolate(user.email)), "success")
    return redirect(url_for(".admin_user", user_id=user.id))


def _history(user_id: int) -> dict[str, Any]:
    events, more = history_of(db.session, "console_user", user_id, HISTORY_LIMIT)
    return {"events": name_events(db.session, events), "more": more}


def _user_page(user_id: int, status: int = 200, **state: Any):
    user = users.get_console_user(db.session, user_id)
    person_q = (request.values.get("person_q") or "").strip()[:200]
    context = {"user": user, "person": db.session.get(Person, user.person_id) if user.person_id else None,
               "roles": users.CONSOLE_ROLES, "person_q": person_q, "people_to_pick": pages.people_to_pick(db.session, person_q),
               "is_me": current_actor().id == f"console_user:{user.id}", "errors": {},
               "history": _history(user.id),
               "sign_in_links_admin_only": app_services.settings().login_links_admin_only}
    return render_template("admin/user.html", **context | state), status


@routes.get("/admin/users/<int:user_id>")
@requires(Permission.ADMIN_MANAGE)
def admin_user(user_id: int):
    return _user_page(user_id)


def _changed(user_id: int, change, message: str, failed_form: str):
    try:
        change()
    except NotFound:
        raise
    except DomainError as error:
        return _user_page(user_id, error.status, refusal=_refused(error), failed_form=failed_form)
    flash(message, "success")
    return redirect(url_for(".admin_user", user_id=user_id))


@routes.post("/admin/users/<int:user_id>/role")
@requires(Permission.ADMIN_MANAGE)
def admin_user_role(user_id: int):
    role = request.form.get("role", "")
    if role not in {r.value for r in users.CONSOLE_ROLES}:
        return _user_page(user_id, 422, errors={"role": _("Choose a role from the list.")}, failed_form="role")
    return _changed(user_id, lambda: users.change_role(db.session, current_actor(), user_id, Role(role)),
                    _("Role changed to %(role)s. The user's open sessions have ended.", role=label(Role(role))), "role")


@routes.post("/admin/users/<int:user_id>/person")
@requires(Permission.ADMIN_MANAGE)
def admin_user_link(user_id: int):
    person_id = _person_choice(request.form.get("person_id", ""))
    if person_id is None:
        return _user_page(user_id, 422, errors={"person_id": _("Choose a person from the list.")}, failed_form="person")
    return _changed(user_id, lambda: users.link_person(db.session, current_actor(), user_id, person_id),
                    _("Linked to the person."), "person")


@routes.post("/admin/users/<int:user_id>/unlink")
@requires(Permission.ADMIN_MANAGE)
def admin_user_unlink(user_id: int):
    return _changed(user_id, lambda: users.link_person(db.session, current_actor(), user_id, None),
                    _("No longer linked to a person."), "person")


@routes.post("/admin/users/<int:user_id>/enable")
@requires(Permission.ADMIN_MANAGE)
def admin_user_enable(user_id: int):
    return _changed(user_id, lambda: users.enable(db.session, current_actor(), user_id),
                    _("Switched on: the user can sign in again."), "state")


def _reason_problem() -> tuple[str, dict[str, str]]:
    reason = request.form.get("reason", "").strip()
    if MIN_REASON <= len(reason) <= MAX_REASON:
        return reason, {}
    return reason, {"reason": _("Write a reason of 3 to 2000 characters.")}


@routes.post("/admin/users/<int:user_id>/disable")
@requires(Permission.ADMIN_MANAGE)
def admin_user_disable(user_id: int):
    user = users.get_console_user(db.session, user_id)
    back = url_for(".admin_user", user_id=user_id)
    if user.disabled_at is not None:
        return already_done(_("%(email)s was already switched off on %(when)s by %(who)s.", email=templating.isolate(user.email),
                              when=confirm.moment(user.disabled_at),
                              who=confirm.who_did(db.session, "auth:console_user:disable", "console_user", user.id)), back)
    reason, errors = _reason_problem()
    if not confirmed() or errors:
        return _ask_to_disable(user, back, errors if confirmed() else None)
    return _changed(user_id, lambda: users.disable(db.session, current_actor(), user_id, reason),
                    _("%(email)s is switched off.", email=templating.isolate(user.email)), "state")


def _ask_to_disable(user: ConsoleUser, back: str, errors: dict[str, str] | None):
    return confirm.ask(
        title=_("Switch off a console user"),
        consequence=_("%(name)s (%(email)s) will no longer be able to sign in, and their open sessions end now. "
                      "You can switch them on again later.", name=templating.isolate(user.display_name),
                      email=templating.isolate(user.email)),
        button=_("Switch off"), cancel=back, reason=confirm.Reason(_("Reason for switching off")), errors=errors,
        irreversible=False)


@routes.post("/admin/users/<int:user_id>/sign-in-link")
@requires(Permission.ADMIN_MANAGE)
def admin_user_sign_in_link(user_id: int):
    """The link is on this answer only: whoever holds it signs in as the user, once, until it expires."""
    user = users.get_console_user(db.session, user_id)
    settings = app_services.settings()
    if user.disabled_at is not None:
        return _user_page(user_id, 422, refusal=_("This user is switched off: switch them on first."), failed_form="link")
    try:
        code = service.issue_login_link(db.session, current_actor(), user.email, settings.login_link_ttl_seconds,
                                        admin_only=settings.login_links_admin_only)
    except DomainError as error:
        message = _("Sign-in links are only for administrators while directory or company sign-in is configured; "
                    "this user signs in that way.") if settings.login_links_admin_only else _refused(error)
        return _user_page(user_id, error.status, refusal=message, failed_form="link")
    return render_template("admin/shown_once.html", kind="sign_in_link", secret=f"{settings.base_url}/login/{code.reveal()}",
                           subject=user, minutes=settings.login_link_ttl_seconds // 60,
                           back=url_for(".admin_user", user_id=user_id))


# -- API and SCIM tokens --------------------------------------------------------------------------------------------


def _tokens_page(scim: bool, status: int = 200, **state: Any):
    clients = service.list_api_clients(db.session, scim=scim)
    person_ids = {client.person_id for client in clients if client.person_id}
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(person_ids)))} if person_ids else {}
    creators = {client.created_by: service.actor_name(db.session, client.created_by) for client in clients}
    person_q = (request.values.get("person_q") or "").strip()[:200]
    context = {"scim": scim, "clients": clients, "people": people, "creators": creators, "roles": TOKEN_ROLES,
               "person_q": person_q, "people_to_pick": [] if scim else pages.people_to_pick(db.session, person_q),
               "scim_base_url": f"{app_services.settings().base_url}/scim/v2", "submitted": request.form, "errors": {},
               "lifetimes": TOKEN_LIFETIMES, "lifetime": request.form.get("lifetime", DEFAULT_LIFETIME), "now": utcnow()}
    return render_template("admin/tokens.html", **context | state), status


@routes.get("/admin/tokens")
@requires(Permission.ADMIN_MANAGE)
def admin_tokens():
    return _tokens_page(scim=False)


@routes.get("/admin/scim")
@requires(Permission.ADMIN_MANAGE)
def admin_scim():
    return _tokens_page(scim=True)


def _create_token(scim: bool):
    form = request.form
    name, errors = form.get("name", "").strip(), {}
    if not name or len(name) > service.MAX_CLIENT_NAME:
        errors["name"] = _("Enter a name of 1 to 128 characters, such as the system that will use the token.")
    role = Role.SCIM if scim else next((r for r in TOKEN_ROLES if r.value == form.get("role")), None)
    if role is None:
        errors["role"] = _("Choose a role from the list.")
    lifetime = form.get("lifetime", "")
    if lifetime not in TOKEN_LIFETIMES:
        errors["lifetime"] = _("Choose how long the token works from the list.")
    if errors:
        return _tokens_page(scim, 422, errors=errors)
    person_id = None if scim else _person_choice(form.get("person_id", ""))
    expires_at = None if lifetime == "never" else utcnow() + timedelta(days=int(lifetime))
    try:
        client, secret = service.create_api_client(db.session, current_actor(), name, role, person_id, expires_at)
    except DomainError as error:
        return _tokens_page(scim, error.status, refusal=_refused(error))
    return render_template("admin/shown_once.html", kind="scim_token" if scim else "api_token", secret=secret.reveal(),
                           subject=client, scim_base_url=f"{app_services.settings().base_url}/scim/v2",
                           back=url_for(".admin_scim" if scim else ".admin_tokens"))


@routes.post("/admin/tokens")
@requires(Permission.ADMIN_MANAGE)
def admin_create_token():
    return _create_token(scim=False)


@routes.post("/admin/scim")
@requires(Permission.ADMIN_MANAGE)
def admin_create_scim_token():
    return _create_token(scim=True)


def _token_list(client: ApiClient) -> str:
    return url_for(".admin_scim" if client.role == Role.SCIM else ".admin_tokens")


@routes.post("/admin/tokens/<int:client_id>/revoke")
@requires(Permission.ADMIN_MANAGE)
def admin_revoke_token(client_id: int):
    client = service.get_api_client(db.session, client_id)
    back = _token_list(client)
    if client.revoked_at is not None:
        return already_done(_("The token %(name)s was already revoked on %(when)s by %(who)s.", name=templating.isolate(client.name),
                              when=confirm.moment(client.revoked_at),
                              who=confirm.who_did(db.session, "auth:api_client:revoke", "api_client", client.id)), back)
    reason = request.form.get("reason", "").strip()
    errors = {"reason": _("Use at most 2000 characters.")} if len(reason) > MAX_REASON else {}
    if not confirmed() or errors:
        return _ask_to_revoke(client, back, errors if confirmed() else None)
    try:
        service.revoke_client(db.session, current_actor(), client, reason or None)
    except DomainError as error:
        return _tokens_page(client.role == Role.SCIM, error.status, refusal=_refused(error))
    flash(_("The token %(name)s is revoked.", name=templating.isolate(client.name)), "success")
    return redirect(back)


def _ask_to_revoke(client: ApiClient, back: str, errors: dict[str, str] | None):
    return confirm.ask(
        title=_("Revoke a token"),
        consequence=_("The token %(name)s stops working at once: whatever uses it is refused from now on.",
                      name=templating.isolate(client.name)),
        button=_("Revoke token"), cancel=back, errors=errors,
        reason=confirm.Reason(_("Reason for revoking (optional)"), required=False))


def register(console: Blueprint) -> None:
    """Add these pages to the console (govern.auth.views.register calls this)."""
    routes.register(console)
