"""The console's account pages: the inventory, an account's card, adding and editing an account, and retiring one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from govern.accounts import form
from govern.accounts.api import account_filter
from govern.accounts.models import AccountStatus, SocialAccount
from govern.accounts.schemas import AccountListArgs, RetireSchema
from govern.accounts.service import (
    account_with_handle,
    count_accounts,
    create_account,
    get_account,
    list_accounts,
    list_business_units,
    list_networks,
    retire_account,
    update_account,
)
from govern.audit.service import last_event
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.console import confirm, forms, pages, templating
from govern.console.confirm import already_done, confirmed
from govern.console.blueprint import ConsolePages
from govern.console.labels import N_, label
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, refused_filters
from govern.console.responses import account_page, refusal, refuse
from govern.errors import Conflict, DomainError
from govern.extensions import db
from govern.grants.models import Grant
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()
CHANGE_ACTIONS = ("accounts:account:update", "accounts:account:owner_transfer")  # what changes the form's details


@routes.get("/accounts")
@requires(Permission.ACCOUNTS_READ)
def accounts():
    results, total, errors = pages.counted_listing(db.session, request.args, AccountListArgs(), list_accounts,
                                                   lambda **filters: account_filter(filters), count_accounts)
    networks, statuses = list_networks(db.session), list(AccountStatus)
    page = render_template("accounts/accounts.html", results=results, total=total, errors=errors, networks=networks,
                           statuses=statuses, health_filters=HEALTH_FILTERS)
    return page, 400 if errors else 200


HEALTH_FILTERS = {"connected": N_("Connected"), "needs_reconnect": N_("Needs reconnecting"),
                  "not_connected": N_("Not connected")}


@routes.get("/accounts/export.csv")
@requires(Permission.ACCOUNTS_READ)
def accounts_csv():
    """Every account the list's filters select (any page, any sort), as a spreadsheet reads it."""
    args, errors = forms.load(AccountListArgs(), request.args)
    if errors:
        return refused_filters(errors)
    filters, paging = forms.split_paging(args)
    chosen, sort = account_filter(filters), paging.get("sort", "handle")
    rows = every_row(lambda cursor: list_accounts(db.session, chosen, sort, EXPORT_BATCH, cursor))
    header = [_("Handle"), _("Display name"), _("Network"), _("Business unit"), _("Owner"), _("Owner's email"),
              _("Status"), _("Tags"), _("Added")]
    return csv_download("accounts", header, (
        (account.handle, account.display_name, account.network.display_name, account.business_unit,
         account.owner.display_name if account.owner else "", account.owner.email if account.owner else "",
         label(account.status), ", ".join(account.tags), account.created_at.date().isoformat())
        for account in rows))


@routes.route("/accounts/new", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_WRITE)
def new_account():
    if request.method == "GET" or request.form.get("action") == "find":
        return _form_page(None, form.submitted(request.form) if request.method == "POST" else form.blank())
    text = form.submitted(request.form)
    values, errors = form.read(db.session, text, network_keys=[network.key for network in list_networks(db.session)])
    if errors:
        return _form_page(None, text, errors=errors, status=400)
    try:
        account = create_account(db.session, current_actor(), **values)
    except DomainError as error:
        return _refused(None, text, error)
    flash(_("%(account)s was added to the inventory.", account=templating.isolate(f"@{account.handle}")), "success")
    return redirect(url_for(".account", account_id=account.id))


@routes.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@requires(Permission.ACCOUNTS_WRITE)
def edit_account(account_id: int):
    account = get_account(db.session, account_id)
    if account.status is AccountStatus.RETIRED:
        return already_done(_("A retired account cannot be changed."), url_for(".account", account_id=account_id))
    if request.method == "GET" or request.form.get("action") == "find":
        return _form_page(account, form.submitted(request.form) if request.method == "POST" else form.blank(account))
    text = form.submitted(request.form)
    if text["seen"] != form.seen_marker(account):
        return _changed_meanwhile(account, text)
    values, errors = form.read(db.session, text, network_keys=None, current_owner_id=account.owner_id)
    if errors:
        return _form_page(account, text, errors=errors, status=400)
    try:
        changed = _save(account, values)
    except DomainError as error:
        return _refused(account, text, error)
    flash(_("The account's details were saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
    return redirect(url_for(".account", account_id=account_id))


def _save(account: SocialAccount, values: dict) -> bool:
    """Update the account; True when anything changed (the service records only what did)."""
    before = form.seen_marker(account)
    update_account(db.session, current_actor(), account.id, values)
    return form.seen_marker(account) != before


def _changed_meanwhile(account: SocialAccount, text: dict[str, str]):
    """Someone saved this account after the form was opened: say who and when, keep what was typed, save nothing."""
    changes = [last_event(db.session, action, "account", account.id) for action in CHANGE_ACTIONS]
    latest = max(filter(None, changes), key=lambda event: event.seq, default=None)
    message = _("%(who)s changed this account on %(when)s, after you opened this form. Nothing was saved: check the "
                "account's current details on its page, then save again to keep what you typed here.",
                who=templating.isolate(actor_name(db.session, latest.actor if latest else None)),
                when=confirm.moment(latest.occurred_at if latest else account.updated_at))
    return _form_page(account, {**text, "seen": form.seen_marker(account)}, refused=message, status=409)


def _refused(account: SocialAccount | None, text: dict[str, str], error: DomainError):
    if account is not None:
        db.session.expire(account)  # drop what the refused update set, so the page's queries never try to flush it
    if isinstance(error, Conflict):  # the one refusal that belongs to a field: the handle is taken on that network
        network = account.network if account else next(n for n in list_networks(db.session) if n.key == text["network"])
        taken = account_with_handle(db.session, network.id, form.handle_of(text))
        return _form_page(account, text, errors={"handle": form.handle_taken(network.display_name)}, taken=taken, status=409)
    return _form_page(account, text, refused=refusal(error), status=error.status)


def _form_page(account: SocialAccount | None, text: dict[str, str], errors: dict[str, str] | None = None,
               refused: str | None = None, taken: SocialAccount | None = None, status: int = 200):
    errors = errors or {}
    return render_template(
        "accounts/account_form.html", account=account, values=text, errors=errors, refusal=refused, taken=taken,
        first_invalid=form.first_invalid(errors), networks=list_networks(db.session), statuses=form.EDITABLE_STATUSES,
        business_units=list_business_units(db.session), owner=form.chosen_owner(db.session, text),
        people_to_pick=pages.people_to_pick(db.session, text.get("owner_q", "")[:200]),
    ), status


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
