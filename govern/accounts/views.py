"""The console's account pages: the inventory, an account's card, and retiring an account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from govern.accounts.models import AccountStatus, SocialAccount
from govern.accounts.schemas import AccountListArgs, RetireSchema
from govern.accounts.service import AccountFilter, get_account, list_accounts, list_networks, retire_account
from govern.auth.roles import Permission
from govern.console import confirm, forms, pages, templating
from govern.console.confirm import already_done, confirmed
from govern.console.blueprint import ConsolePages
from govern.console.responses import account_page, refuse
from govern.errors import DomainError
from govern.extensions import db
from govern.grants.models import Grant
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
    account = get_account(db.session, account_id)
    if account.status is AccountStatus.RETIRED:
        return already_done(_already_retired(account), url_for(".account", account_id=account_id))
    values, errors = forms.load(RetireSchema(), request.form)
    if not confirmed() or errors:
        return _ask_to_retire(account, errors if confirmed() else None)
    try:
        retire_account(db.session, current_actor(), account_id, values["reason"])
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="retire")
    flash(_("The account was retired and every grant on it was revoked."), "success")
    return redirect(url_for(".account", account_id=account_id))


def _ask_to_retire(account: SocialAccount, errors: dict[str, str] | None):
    in_force = db.session.scalar(select(func.count()).select_from(Grant).where(
        Grant.account_id == account.id, Grant.revoked_at.is_(None)))
    return confirm.ask(
        title=_("Retire account"),
        consequence=_("You are about to retire %(account)s (%(network)s): it will be marked as no longer in use and "
                      "the access of everyone who holds it will be revoked (grants in force: %(count)s).",
                      account=templating.isolate(f"@{account.handle}"), network=account.network.display_name, count=in_force),
        button=_("Retire account"), cancel=url_for(".account", account_id=account.id),
        reason=confirm.Reason(_("Reason for retiring")), errors=errors)


def _already_retired(account: SocialAccount) -> str:
    return _("This account was already retired on %(when)s by %(who)s.", when=confirm.moment(account.retired_at),
             who=confirm.who_did(db.session, "accounts:account:retire", "account", account.id))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
