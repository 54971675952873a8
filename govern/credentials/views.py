"""Console views for an account's legacy login: store it, get 2FA codes, and break-glass checkouts of the password."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from govern import app_services
from govern.adapters.secret_store import SecretStore
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.console import confirm, forms
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.labels import checkout_state_label
from govern.console.responses import account_page, refuse
from govern.console.templating import isolate
from govern.credentials import service
from govern.credentials.models import MAX_WINDOW_MINUTES, MIN_REASON_LENGTH, MIN_WINDOW_MINUTES, Checkout, CheckoutEnd
from govern.credentials.schemas import CheckoutRequestSchema, DenySchema
from govern.db import utcnow
from govern.errors import DomainError, InvalidOperation, NotFound
from govern.extensions import db
from govern.people.models import Person
from govern.secret_value import SecretValue
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()

# The answers that carry a 2FA code or a password: no browser or proxy may keep a copy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_USERNAME, MAX_PASSWORD, MAX_SEED = 320, 4096, 256

routes.template_globals(checkout_state_label)


def _secret_store() -> SecretStore:
    return app_services.broker().store


def _back_to_card(account_id: int):
    return redirect(url_for(".account", account_id=account_id, _anchor="legacy-title"))


def _checkout_on_account(session: Session, account_id: int, checkout_id: int) -> Checkout:
    """The checkout, provided it is on this account (a form posted for one account cannot act on another's)."""
    checkout = service.get_checkout(session, checkout_id)
    if checkout.account_id != account_id:
        raise NotFound("checkout %(checkout_id)s is not on account %(account_id)s", checkout_id=checkout_id, account_id=account_id)
    return checkout


def _requester_name(checkout: Checkout) -> str:
    person = db.session.get(Person, checkout.requester_person_id)
    return isolate(person.display_name if person else "?")


def _login_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The store form as store_credentials arguments. The password is kept exactly as typed; nothing is echoed back."""
    username = form.get("username", "").strip()
    password, seed = form.get("password", ""), form.get("totp_seed", "")
    errors: dict[str, str] = {}
    if not (username or password.strip() or seed.strip()):
        errors["form"] = _("Fill in at least one field: the login name, a new password or the 2FA seed.")
    if len(username) > MAX_USERNAME:
        errors["username"] = _("Login name: use at most %(count)s characters.", count=MAX_USERNAME)
    if len(password) > MAX_PASSWORD:
        errors["password"] = _("New password: use at most %(count)s characters.", count=MAX_PASSWORD)
    totp_seed = _valid_seed(seed) if seed.strip() else None
    if seed.strip() and totp_seed is None:
        errors["totp_seed"] = _("2FA seed: copy the whole setup key exactly as the network shows it"
                                " (letters A–Z and digits 2–7; spaces are fine).")
    if errors:
        return {}, errors
    return {"username": username or None, "password": SecretValue(password) if password.strip() else None,
            "totp_seed": totp_seed}, {}


def _valid_seed(seed: str) -> SecretValue | None:
    """The seed in canonical form, or None when it is not one (checked here so the message can be translated)."""
    if len(seed) > MAX_SEED:
        return None
    try:
        return service.normalise_totp_seed(SecretValue(seed))
    except InvalidOperation:
        return None


def _checkout_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values, errors = forms.load(CheckoutRequestSchema(), form)
    problems = {
        "reason": _("Reason: say why you need the password in at least %(min)s characters (at most 2000).",
                    min=MIN_REASON_LENGTH),
        "window_minutes": _("Minutes: choose a number from %(min)s to %(max)s.", min=MIN_WINDOW_MINUTES, max=MAX_WINDOW_MINUTES),
    }
    return values, {field: problems.get(field, message) for field, message in errors.items()}


@routes.post("/accounts/<int:account_id>/credentials")
@requires(Permission.ACCOUNTS_CONNECT)
def store_credentials(account_id: int):
    values, errors = _login_form(request.form)
    if errors:
        return account_page(account_id, 422, failed_form="credentials", errors=errors)
    try:
        service.store_credentials(db.session, _secret_store(), current_actor(), account_id, **values)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="credentials")
    flash(_("The legacy login was stored in the secret store."), "success")
    return _back_to_card(account_id)


@routes.post("/accounts/<int:account_id>/credentials/totp")
@requires(Permission.BROKER_USE)
def totp_code(account_id: int):
    """The code goes into this one re-rendered page only: never a flash message or a URL."""
    try:
        code = service.totp_code(db.session, _secret_store(), current_actor(), current_principal().person_id, account_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="totp")
    page, status = account_page(account_id, totp=code)
    return page, status, NO_STORE


@routes.post("/accounts/<int:account_id>/checkouts")
@requires(Permission.BROKER_USE)
def request_checkout(account_id: int):
    values, errors = _checkout_form(request.form)
    if errors:
        return account_page(account_id, 422, failed_form="checkout-request", errors=errors)
    try:
        service.request_checkout(db.session, current_actor(), current_principal().person_id, account_id,
                                 values["reason"], values["window_minutes"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout-request")
    flash(_("Your request was sent. A second person from governance must approve it before you can see the password."), "success")
    return _back_to_card(account_id)


@routes.post("/accounts/<int:account_id>/checkouts/<int:checkout_id>/approve")
@requires(Permission.GRANTS_WRITE)
def approve_checkout(account_id: int, checkout_id: int):
    principal = current_principal()
    try:
        _checkout_on_account(db.session, account_id, checkout_id)
        checkout = service.approve_checkout(db.session, current_actor(), principal.person_id, principal.role, checkout_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout")
    flash(ngettext("Approved: %(name)s may see the password for the next %(num)d minute.",
                   "Approved: %(name)s may see the password for the next %(num)d minutes.",
                   checkout.window_minutes, name=_requester_name(checkout)), "success")
    return _back_to_card(account_id)


@routes.post("/accounts/<int:account_id>/checkouts/<int:checkout_id>/deny")
@requires(Permission.GRANTS_WRITE)
def deny_checkout(account_id: int, checkout_id: int):
    """Deny a request, or end an open window early: the second asks first (it cuts off someone who may be mid-task)."""
    try:
        checkout = _checkout_on_account(db.session, account_id, checkout_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout")
    if (state := checkout.state_at(utcnow())) not in ("pending", "active"):
        return already_done(_already_ended(checkout, state), url_for(".account", account_id=account_id, _anchor="legacy-title"))
    values, errors = forms.load(DenySchema(), request.form)
    if state == "active" and (not confirmed() or errors):
        return _ask_to_end(checkout, errors if confirmed() else None)
    if errors:
        return account_page(account_id, 422, failed_form="checkout", errors=errors)
    principal = current_principal()
    try:
        checkout = service.deny_checkout(db.session, current_actor(), principal.person_id, principal.role, checkout_id,
                                         values["reason"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout")
    if checkout.approved_at is None:
        flash(_("The request of %(name)s was denied.", name=_requester_name(checkout)), "success")
    else:
        flash(_("The window of %(name)s was closed early.", name=_requester_name(checkout)), "success")
    return _back_to_card(account_id)


def _ask_to_end(checkout: Checkout, errors: dict[str, str] | None):
    account = checkout.credential.account
    return confirm.ask(
        title=_("End the checkout now"),
        consequence=_("You are about to end the password checkout of %(name)s on %(account)s (%(network)s) before its "
                      "window runs out: they can no longer see the password, even in the middle of a task.",
                      name=_requester_name(checkout), account=isolate(f"@{account.handle}"),
                      network=account.network.display_name),
        button=_("End now"), cancel=url_for(".account", account_id=account.id, _anchor="legacy-title"),
        reason=confirm.Reason(_("Reason for ending the window")), errors=errors)


def _already_ended(checkout: Checkout, state: str) -> str:
    if checkout.ended_at is None:  # the window ran out and no job has closed it yet
        return _("This checkout's window already ran out at %(when)s.", when=confirm.moment(checkout.ends_at))
    return _("This checkout already ended on %(when)s by %(who)s: %(how)s.", when=confirm.moment(checkout.ended_at),
             who=isolate(actor_name(db.session, checkout.ended_by)), how=checkout_state_label(state))


@routes.post("/accounts/<int:account_id>/checkouts/<int:checkout_id>/reveal")
@requires(Permission.BROKER_USE)
def reveal_password(account_id: int, checkout_id: int):
    """The one response in the console that may hold a password: this re-rendered page, never cached, never logged."""
    try:
        _checkout_on_account(db.session, account_id, checkout_id)
        password, ends_at = service.reveal_password(db.session, _secret_store(), current_actor(),
                                                    current_principal().person_id, checkout_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout")
    page, status = account_page(account_id, revealed={"checkout_id": checkout_id, "password": password, "ends_at": ends_at})
    return page, status, NO_STORE


@routes.post("/accounts/<int:account_id>/checkouts/<int:checkout_id>/check-in")
@requires(Permission.BROKER_USE)
def check_in(account_id: int, checkout_id: int):
    try:
        checkout = _checkout_on_account(db.session, account_id, checkout_id)
        if checkout.ended_at is not None and checkout.requester_person_id == current_principal().person_id:
            return already_done(_already_ended(checkout, checkout.state_at(utcnow())),
                                url_for(".account", account_id=account_id, _anchor="legacy-title"))
        checkout = service.check_in(db.session, current_actor(), current_principal().person_id, checkout_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="checkout")
    flash(*_checked_in_message(checkout))
    return _back_to_card(account_id)


def _checked_in_message(checkout: Checkout) -> tuple[str, str]:
    if checkout.ended_reason == CheckoutEnd.CANCELLED:
        return _("Your request was withdrawn."), "success"
    if checkout.ended_reason == CheckoutEnd.EXPIRED:
        return _("The window had already run out; it is closed now."), "info"
    if checkout.credential.rotate_now:
        return _("Checked in. The password is now marked “rotate now”: change it at the network, then store the new one here."), "success"
    return _("Checked in. The window is closed."), "success"


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
