"""Network apps: govern's OAuth app registered on each network, and the client built from it (cached)."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import Network
from govern.actor import Actor
from govern.adapters.networks.base import OAuthNetworkClient, check_extra_authorize_params
from govern.adapters.networks.presets import PRESETS
from govern.adapters.secret_store import SecretNotFound
from govern.audit.service import record
from govern.broker.context import AppSecretMissing, BrokerContext, guard_store
from govern.broker.models import NetworkApp
from govern.errors import InvalidOperation, NotFound
from govern.secret_value import SecretValue

NETWORK_APP_TTL = 30.0


def _app_secret_path(network_key: str) -> str:
    return f"govern/networks/{network_key}/client"


def register_network_app(
    session: Session, context: BrokerContext, actor: Actor, network_key: str, client_id: str,
    client_secret: SecretValue, endpoints: dict[str, str | None], scopes: list[str] | None,
    extra_authorize_params: dict[str, str] | None = None,
) -> NetworkApp:
    network = session.scalar(select(Network).where(Network.key == network_key))
    if network is None:
        raise NotFound("unknown network %(network_key)s", network_key=f"{network_key!r}")
    try:
        extra = check_extra_authorize_params(extra_authorize_params) or None
    except ValueError as exc:
        raise InvalidOperation("extra_authorize_params: %(exc)s", exc=exc) from None
    app = session.scalar(select(NetworkApp).where(NetworkApp.network_id == network.id))
    path = _app_secret_path(network.key)
    current = 0
    try:
        current = guard_store(context.store.read, path).version
    except SecretNotFound:
        pass
    version = guard_store(context.store.write, path, {"client_secret": client_secret}, cas=current)
    if app is None:
        app = NetworkApp(network=network, secret_path=path)
        session.add(app)
    app.client_id, app.secret_version, app.scopes, app.updated_by = client_id, version, scopes, actor.id
    app.extra_authorize_params = extra
    for name in ("authorize_url", "token_url", "revocation_url", "whoami_url", "api_url"):
        setattr(app, name, endpoints.get(name) or None)
    session.flush()
    context.clients.pop(("network", network.id), None)
    record(session, actor, "broker:network_app:register", "network", network.key,
           after={"client_id": client_id, "scopes": scopes, "extra_authorize_params": extra, **{k: v for k, v in endpoints.items() if v}})
    return app


def network_client(session: Session, context: BrokerContext, network: Network) -> OAuthNetworkClient:
    """The network's OAuth client, cached per registration so its secret is read from the store once.

    A registration is looked up again after NETWORK_APP_TTL, so a re-registered app (a rotated
    client secret, new endpoints) is used by every process within that time.
    """
    now = time.monotonic()
    recent = context.clients.get(("network", network.id))
    if recent is not None and now - recent[0] < NETWORK_APP_TTL:
        return recent[1]
    client = _client_for_registration(session, context, network)
    context.clients[("network", network.id)] = (now, client)
    return client


def _client_for_registration(session: Session, context: BrokerContext, network: Network) -> OAuthNetworkClient:
    app = session.scalar(select(NetworkApp).where(NetworkApp.network_id == network.id))
    if app is None:
        raise InvalidOperation("%(display_name)s has no registered app yet; an admin registers one first", display_name=network.display_name)
    cache_key = (app.id, app.secret_version, app.updated_at)
    if (cached := context.clients.get(cache_key)) is not None:
        return cached
    preset = PRESETS[network.kind.value].with_endpoints(
        authorize_url=app.authorize_url, token_url=app.token_url, revocation_url=app.revocation_url,
        whoami_url=app.whoami_url, api_url=app.api_url,
    )
    if app.scopes:
        preset = replace(preset, scopes=tuple(app.scopes))
    if app.extra_authorize_params:
        preset = replace(preset, extra_authorize_params={**preset.extra_authorize_params, **app.extra_authorize_params})
    if not (preset.endpoints.authorize_url and preset.endpoints.token_url and preset.endpoints.whoami_url):
        raise InvalidOperation("%(display_name)s needs its authorization, token and whoami endpoints configured", display_name=network.display_name)
    try:
        secret = guard_store(context.store.read, app.secret_path).data["client_secret"]
    except (SecretNotFound, KeyError):
        raise AppSecretMissing(
            "%(display_name)s's app client secret is missing from the secret store: register the app's secret again (PUT /api/v1/networks/%(key)s/app)", display_name=network.display_name, key=network.key
        ) from None
    client = OAuthNetworkClient(preset, app.client_id, secret, context.callback_url)
    context.clients[cache_key] = client
    return client
