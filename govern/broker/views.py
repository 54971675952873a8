"""The broker's pages: the OAuth callback the networks redirect browsers to (its single-use state is its authorization),
the console pages that connect, refresh and disconnect an account and act on it through the broker, and the network
apps an admin registers (`/networks`; the client secret goes straight to the secret store and is never shown)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from govern.accounts.models import Network
from govern.accounts.service import get_account, list_networks
from govern.adapters.networks.base import NetworkPreset
from govern.adapters.networks.presets import PRESETS
from govern.audit.service import last_event
from govern.auth.roles import Permission
from govern.auth.service import actor_name
from govern.broker import service
from govern.broker.api import broker
from govern.broker.context import SecretStoreDown
from govern.broker.models import AccountConnection, ConnectionHealth, NetworkApp
from govern.broker.schemas import DisconnectSchema, NetworkAppSchema
from govern.console import confirm, forms
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.responses import account_page, refusal, refuse
from govern.console.labels import N_
from govern.console.templating import isolate
from govern.errors import DomainError, InvalidOperation, NotFound
from govern.extensions import db
from govern.secret_value import SecretValue
from govern.web.failures import answered
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor, current_principal

bp = Blueprint("oauth", __name__)
ENDPOINT_FIELDS = ("authorize_url", "token_url", "whoami_url", "api_url", "revocation_url")
routes = ConsolePages()


@bp.get("/oauth/callback")
@public
def oauth_callback():
    if request.args.get("error"):
        raise InvalidOperation("the network refused the connection (%(value)s)", value=request.args.get('error')[:100])
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
        if _app_of(account.network) is None:  # not a dead end: an admin is sent to register the app
            return refuse(error, account_page, account_id, reason=lambda _error: _no_app_yet(account.network),
                          failed_form="connect", network_app_missing=True)
        return refuse(error, account_page, account_id, failed_form="connect")
    return render_template("broker/connect.html", account=account, authorize_url=url)


def _no_app_yet(network: Network) -> str:
    return _("%(network)s has no registered app yet: govern cannot connect accounts on it until an administrator "
             "registers govern's app on %(network)s.", network=network.display_name)


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


# -- network apps ------------------------------------------------------------------------------------------------

APP_FIELDS = ("client_id", "client_secret", "scopes", "extra_authorize_params", *ENDPOINT_FIELDS)


@routes.get("/networks")
@requires(Permission.BROKER_CONFIGURE)
def networks():
    apps = {app.network_id: app for app in db.session.scalars(select(NetworkApp))}
    rows = [{"network": network, "app": apps.get(network.id),
             "updated_by": isolate(actor_name(db.session, apps[network.id].updated_by)) if network.id in apps else None}
            for network in list_networks(db.session)]
    return render_template("broker/networks.html", rows=rows)


@routes.route("/networks/<key>", methods=["GET", "POST"])
@requires(Permission.BROKER_CONFIGURE)
def network_app(key: str):
    network = db.session.scalar(select(Network).where(Network.key == key[:64]))
    if network is None:
        raise NotFound("unknown network %(key)s", key=f"{key[:64]!r}")
    registered = _app_of(network)
    if request.method == "GET":
        return _app_form(network, registered, _app_text(registered))
    text = {name: (request.form.get(name) or "").strip() for name in APP_FIELDS if name != "client_secret"}
    values, errors = _read_app_form(text, request.form.get("client_secret", "").strip(), _preset_of(network))
    if errors:
        return _app_form(network, registered, text, errors=errors, status=400)
    client_id, secret = values.pop("client_id"), SecretValue(values.pop("client_secret"))
    scopes, extra = values.pop("scopes"), values.pop("extra_authorize_params")
    try:  # what is left in `values` is the five endpoints
        service.register_network_app(db.session, broker(), current_actor(), network.key, client_id, secret, values, scopes,
                                     extra_authorize_params=extra)
    except SecretStoreDown as error:  # said in the reader's language, and never the store's own words
        answered(error)
        return _app_form(network, registered, text, refused=_("The secret store did not answer, so nothing was saved. "
                                                               "Try again in a moment."), status=error.status)
    except DomainError as error:
        return _app_form(network, registered, text, refused=refusal(error), status=error.status)
    flash(_("govern's app on %(network)s is registered; its client secret is in the secret store.",
            network=network.display_name), "success")
    return redirect(_back())


def _back() -> str:
    """Where the form leads back to: the account whose Connect sent the admin here, or the networks."""
    target = request.values.get("next", "")
    return target if re.fullmatch(r"/accounts/[0-9]{1,10}", target) else url_for(".networks")


def _preset_of(network: Network) -> NetworkPreset:
    """The network's built-in settings; a network of a kind with none is configured entirely by its endpoints."""
    return PRESETS.get(network.kind.value, PRESETS["generic_oauth2"])


def _app_of(network: Network) -> NetworkApp | None:
    return db.session.scalar(select(NetworkApp).where(NetworkApp.network_id == network.id))


def _app_text(app: NetworkApp | None) -> dict[str, str]:
    """The form's text for a registration as it is (never its secret, which the console cannot read)."""
    if app is None:
        return {name: "" for name in APP_FIELDS if name != "client_secret"}
    return {"client_id": app.client_id, "scopes": " ".join(app.scopes or []),
            "extra_authorize_params": "\n".join(f"{name}={value}" for name, value in (app.extra_authorize_params or {}).items()),
            **{name: getattr(app, name) or "" for name in ENDPOINT_FIELDS}}


def _app_form(network: Network, registered: NetworkApp | None, text: Mapping[str, str], errors: dict[str, str] | None = None,
              refused: str | None = None, status: int = 200):
    order = {name: index for index, name in enumerate(APP_FIELDS)}
    errors = dict(sorted((errors or {}).items(), key=lambda item: order.get(item[0], len(order))))
    preset = _preset_of(network)
    return render_template(
        "broker/network_app.html", network=network, registered=registered, preset=preset, values=text, errors=errors,
        refusal=refused, first_invalid=next(iter(errors), None), endpoint_fields=ENDPOINT_FIELDS,
        required_endpoints=_required_endpoints(preset), callback_url=broker().callback_url, back=_back(),
        updated_by=isolate(actor_name(db.session, registered.updated_by)) if registered else None,
    ), status


def _required_endpoints(preset: NetworkPreset) -> tuple[str, ...]:
    """The endpoints a connect needs that this network has no built-in address for (all of them on a generic one)."""
    return tuple(name for name in ("authorize_url", "token_url", "whoami_url", "api_url") if not getattr(preset.endpoints, name))


def _read_app_form(text: Mapping[str, str], secret: str, preset: NetworkPreset) -> tuple[dict[str, Any], dict[str, str]]:
    """The registration's fields from the form, checked with the API's NetworkAppSchema; (values, {}) or ({}, errors)."""
    extra, errors = _authorize_params(text["extra_authorize_params"]), {}
    if extra is None:
        errors["extra_authorize_params"] = _app_problem("extra_authorize_params")
    payload = {name: text[name] for name in ("client_id", *ENDPOINT_FIELDS) if text[name]}
    payload.update(client_secret=secret, scopes=text["scopes"].replace(",", " ").split() or None, extra_authorize_params=extra or None)
    if not secret:
        del payload["client_secret"]
    try:
        values = NetworkAppSchema().load(payload)
    except ValidationError as error:  # its messages and data are dropped here: the data holds the secret
        errors.update({name: _app_problem(name) for name in error.messages if name not in errors})
        values = {}
    errors.update({name: _app_problem("missing_endpoint", name) for name in _required_endpoints(preset) if not text[name]})
    return ({}, errors) if errors else (values, {})


def _authorize_params(text: str) -> dict[str, str] | None:
    """`name=value` lines as a dict; None when a line is not one (the schema checks names and values)."""
    params: dict[str, str] = {}
    for line in filter(None, (line.strip() for line in text.splitlines())):
        name, equals, value = line.partition("=")
        if not equals or not name.strip() or name.strip() in params:
            return None
        params[name.strip()] = value.strip()
    return params


ENDPOINT_LABELS = {
    "authorize_url": N_("Authorization endpoint"),
    "token_url": N_("Token endpoint"),
    "whoami_url": N_("Who-am-I (user info) endpoint"),
    "api_url": N_("API base URL"),
    "revocation_url": N_("Revocation endpoint"),
}


def endpoint_label(name: str) -> str:
    return _(ENDPOINT_LABELS[name])


def _app_problem(name: str, endpoint: str | None = None) -> str:
    if name == "missing_endpoint":
        return _("%(field)s: this network has no built-in address; give the one its provider documents.",
                 field=endpoint_label(endpoint))
    if name in ENDPOINT_LABELS:
        return _("%(field)s: use a full address starting with https:// or http://, at most 1024 characters.",
                 field=endpoint_label(name))
    return {
        "client_id": _("Client id: write the app's client id from the network's developer console, at most 255 characters."),
        "client_secret": _("Client secret: paste the app's client secret. It is needed each time the app is registered."),
        "scopes": _("Scopes: separate scopes with spaces; each at most 200 characters."),
        "extra_authorize_params": _("Extra authorization parameters: one name=value a line, at most 20. Names use letters, "
                                    "digits, _ . and -; state, scope, redirect_uri, client_id, response_type and the PKCE "
                                    "parameters are govern's own."),
    }.get(name, _("This value is not valid."))


routes.template_globals(endpoint_label)


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
