"""The console's grant forms on an account's card: grant access, revoke it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from govern.auth.roles import Permission
from govern.console import forms, templating
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
        raise NotFound(f"grant {grant_id} is not on account {account_id}")
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
    values, errors = forms.load(RevokeSchema(), request.form)
    if errors:
        return account_page(account_id, 422, failed_form=f"revoke-{grant_id}", errors=errors)
    try:
        _grant_on_account(db.session, account_id, grant_id)
        grant = revoke_grant(db.session, current_actor(), grant_id, values["reason"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form=f"revoke-{grant_id}")
    flash(_("Access of %(name)s revoked.", name=templating.isolate(grant.person.display_name)), "success")
    return redirect(url_for(".account", account_id=account_id))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
