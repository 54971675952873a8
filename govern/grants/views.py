"""The console's grant forms on an account's card: grant access, revoke it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from govern.auth.roles import Permission
from govern.console import confirm, forms, templating
from govern.console.confirm import already_done, confirmed
from govern.console.labels import label
from govern.console.blueprint import ConsolePages
from govern.console.responses import account_page, refuse
from govern.errors import DomainError, NotFound
from govern.extensions import db
from govern.grants.models import Grant
from govern.grants.schemas import RevokeSchema
from govern.grants.service import create_grant, get_grant, revoke_grant
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()


def _grant_on_account(session: Session, account_id: int, grant_id: int) -> Grant:
    """The grant, provided it is on this account (a form posted for one account cannot revoke another's)."""
    grant = get_grant(session, grant_id)
    if grant.account_id != account_id:
        raise NotFound("grant %(grant_id)s is not on account %(account_id)s", grant_id=grant_id, account_id=account_id)
    return grant


@routes.post("/accounts/<int:account_id>/grants")
@requires(Permission.GRANTS_WRITE)
def grant_access(account_id: int):
    values, errors = forms.grant_request(request.form, account_id)
    if errors:
        return account_page(account_id, 422, failed_form="grant", errors=errors)
    try:
        grant = create_grant(db.session, current_actor(), **values)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="grant")
    flash(_("Access granted to %(name)s.", name=templating.isolate(grant.person.display_name)), "success")
    return redirect(url_for(".account", account_id=account_id))


@routes.post("/accounts/<int:account_id>/grants/<int:grant_id>/revoke")
@requires(Permission.GRANTS_WRITE)
def revoke_access(account_id: int, grant_id: int):
    try:
        grant = _grant_on_account(db.session, account_id, grant_id)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form=f"revoke-{grant_id}")
    if grant.revoked_at is not None:
        return already_done(_already_revoked(grant), url_for(".account", account_id=account_id))
    values, errors = forms.load(RevokeSchema(), request.form)
    if not confirmed() or errors:
        return _ask_to_revoke(grant, errors if confirmed() else None)
    try:
        revoke_grant(db.session, current_actor(), grant_id, values["reason"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form=f"revoke-{grant_id}")
    flash(_("Access of %(name)s revoked.", name=templating.isolate(grant.person.display_name)), "success")
    return redirect(url_for(".account", account_id=account_id))


def _ask_to_revoke(grant: Grant, errors: dict[str, str] | None):
    account = grant.account
    return confirm.ask(
        title=_("Revoke access"),
        consequence=_("You are about to revoke %(person)s's %(role)s access to %(account)s (%(network)s).",
                      person=templating.isolate(grant.person.display_name), role=label(grant.role),
                      account=templating.isolate(f"@{account.handle}"), network=account.network.display_name),
        button=_("Revoke access"), cancel=url_for(".account", account_id=account.id),
        reason=confirm.Reason(_("Reason for revoking")), errors=errors)


def _already_revoked(grant: Grant) -> str:
    return _("This access was already revoked on %(when)s by %(who)s.", when=confirm.moment(grant.revoked_at),
             who=confirm.who_did(db.session, "grants:grant:revoke", "grant", grant.id, fallback=grant.revoked_by))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
