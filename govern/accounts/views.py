"""The console's account pages: the inventory, an account's card, and retiring an account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern.accounts.models import AccountStatus
from govern.accounts.schemas import AccountListArgs, RetireSchema
from govern.accounts.service import AccountFilter, list_accounts, list_networks, retire_account
from govern.auth.roles import Permission
from govern.console import forms, pages
from govern.console.blueprint import ConsolePages
from govern.console.responses import account_page, refuse
from govern.errors import DomainError
from govern.extensions import db
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()


@routes.get("/accounts")
@requires(Permission.ACCOUNTS_READ)
def accounts():
    results, errors = pages.listing(db.session, request.args, AccountListArgs(), list_accounts, AccountFilter)
    networks, statuses = list_networks(db.session), list(AccountStatus)
    page = render_template("accounts/accounts.html", results=results, errors=errors, networks=networks, statuses=statuses)
    return page, 400 if errors else 200


@routes.get("/accounts/<int:account_id>")
@requires(Permission.ACCOUNTS_READ)
def account(account_id: int):
    return account_page(account_id, just_connected=request.args.get("connected") == "1")


@routes.post("/accounts/<int:account_id>/retire")
@requires(Permission.ACCOUNTS_WRITE)
def retire(account_id: int):
    values, errors = forms.load(RetireSchema(), request.form)
    if errors:
        return account_page(account_id, 422, failed_form="retire", errors=errors)
    try:
        retire_account(db.session, current_actor(), account_id, values["reason"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="retire")
    flash(_("The account was retired and every grant on it was revoked."), "success")
    return redirect(url_for(".account", account_id=account_id))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
