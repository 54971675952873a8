"""The broker's pages: the OAuth callback the networks redirect browsers to (its single-use state is its authorization),
and the console pages that connect, refresh and disconnect an account and act on it through the broker."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from govern.accounts.service import get_account
from govern.audit.service import last_event
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.broker import service
from govern.broker.api import broker
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.broker.schemas import DisconnectSchema
from govern.console import confirm, forms
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.responses import account_page, refuse
from govern.console.templating import isolate
from govern.errors import DomainError, InvalidOperation
from govern.extensions import db
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor, current_principal

bp = Blueprint("oauth", __name__)
routes = ConsolePages()


@bp.get("/oauth/callback")
@public
def oauth_callback():
    if request.args.get("error"):
        raise InvalidOperation(f"the network refused the connection ({request.args.get('error')[:100]})")
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not state or not code:
        raise InvalidOperation("the network's answer has no state or code")
    account = service.complete_connect(db.session, broker(), current_actor(), state, code)
    return redirect(f"/accounts/{account.id}?connected=1")


@routes.post("/accounts/<int:account_id>/connect")
@requires(Permission.ACCOUNTS_CONNECT)
def connect_account(account_id: int):
    account = get_account(db.session, account_id)
    personal = request.form.get("personal_login") == "yes"
    try:
        url = service.start_connect(db.session, broker(), current_actor(), account.network.key, account_id,
                                    current_principal().person_id if personal else None)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="connect")
    return render_template("broker/connect.html", account=account, authorize_url=url)


@routes.post("/accounts/<int:account_id>/connection/refresh")
@requires(Permission.ACCOUNTS_CONNECT)
def refresh_connection(account_id: int):
    try:
        outcome = service.refresh_tokens(db.session, broker(), current_actor(), account_id, force=True)
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="connection")
    if outcome.result == service.RefreshResult.NEEDS_RECONNECT:
        flash(_("The network refused the refresh; reconnect the account."), "error")
    elif outcome.result == service.RefreshResult.NO_REFRESH_TOKEN:
        flash(_("Nothing to refresh: the network gave this connection no refresh token. It keeps working until its access token expires."), "info")
    elif outcome.result == service.RefreshResult.FAILED:
        flash(_("The network did not answer the refresh; the connection is unchanged. Try again later."), "error")
    else:
        flash(_("The account's tokens were refreshed."), "success")
    return redirect(url_for(".account", account_id=account_id))


@routes.post("/accounts/<int:account_id>/connection/disconnect")
@requires(Permission.ACCOUNTS_CONNECT)
def disconnect_account(account_id: int):
    account = get_account(db.session, account_id)
    connection = db.session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None or connection.health is ConnectionHealth.REVOKED:
        return already_done(_already_disconnected(account_id), url_for(".account", account_id=account_id))
    values, errors = forms.load(DisconnectSchema(), request.form)
    if not confirmed() or errors:
        return confirm.ask(
            title=_("Disconnect the account"),
            consequence=_("You are about to disconnect %(account)s (%(network)s): govern revokes its tokens at the "
                          "network and deletes them from the secret store, so nobody can act on it through govern until "
                          "someone connects it again.", account=isolate(f"@{account.handle}"),
                          network=account.network.display_name),
            button=_("Disconnect"), cancel=url_for(".account", account_id=account_id),
            reason=confirm.Reason(_("Reason for disconnecting")), errors=errors if confirmed() else None)
    service.disconnect(db.session, broker(), current_actor(), account_id, values["reason"])
    flash(_("The tokens were revoked at the network and deleted from the secret store."), "success")
    return redirect(url_for(".account", account_id=account_id))


def _already_disconnected(account_id: int) -> str:
    event = last_event(db.session, "broker:connection:revoke", "account", account_id)
    if event is None:
        return _("This account is not connected: there was nothing to disconnect.")
    return _("This account was already disconnected on %(when)s by %(who)s.", when=confirm.moment(event.occurred_at),
             who=isolate(actor_name(db.session, event.actor)))


@routes.post("/accounts/<int:account_id>/recent-posts")
@requires(Permission.BROKER_USE)
def recent_posts(account_id: int):
    try:
        result = service.perform_action(db.session, broker(), current_actor(), current_principal().person_id,
                                        account_id, "list_recent_posts", {})
    except DomainError as error:
        return refuse(error, account_page, account_id, failed_form="publish")
    return account_page(account_id, recent_posts=result.get("data", []))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
