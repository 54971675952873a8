"""Webhook endpoints (added and removed by administrators) and the SMTP password, both kept in the secret store.

An endpoint's URL and signing secret are written to the store; the database keeps the URL's origin only (a Slack
or Teams incoming-webhook URL is itself a credential). The signing secret is made here and shown once.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.adapters.secret_store import SecretNotFound, SecretStore
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.locales import SUPPORTED_LOCALES
from govern.notifications.delivery import SMTP_STORE_PATH
from govern.notifications.models import WebhookEndpoint, WebhookKind
from govern.secret_value import SecretValue

STORE_PREFIX = "govern/notifications/webhooks"
MAX_NAME = 128
MAX_URL = 2000


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise InvalidOperation("give the endpoint's https:// address (http:// only for a loopback test receiver)")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidOperation("give the endpoint's https:// address (http:// only for a loopback test receiver)")
    return f"{parts.scheme}://{parts.netloc}"[:300]


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.disabled_at.is_not(None), WebhookEndpoint.name)))


def add_endpoint(session: Session, store: SecretStore, actor: Actor, name: str, url: SecretValue, kind: WebhookKind,
                 locale: str = "en") -> tuple[WebhookEndpoint, SecretValue]:
    """Add an endpoint; returns it with its signing secret, which is shown to the administrator this once."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidOperation("give the endpoint a name of 1 to 128 characters")
    if len(url.reveal()) > MAX_URL:
        raise InvalidOperation("the address is longer than 2000 characters")
    origin = _origin(url.reveal().strip())
    if locale not in SUPPORTED_LOCALES:
        raise InvalidOperation("%(locale)s is not a language govern writes in", locale=locale[:16])
    if session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)) is not None:
        raise Conflict("a webhook endpoint named %(name)s exists already", name=name)
    endpoint = WebhookEndpoint(name=name, kind=kind, locale=locale, url_origin=origin, store_path="", created_by=actor.id)
    session.add(endpoint)
    session.flush()
    endpoint.store_path = f"{STORE_PREFIX}/{endpoint.id}"
    signing_secret = SecretValue(secrets.token_urlsafe(32))
    store.write(endpoint.store_path, {"url": SecretValue(url.reveal().strip()), "signing_secret": signing_secret}, cas=0)
    record(session, actor, "notifications:webhook:create", "notification_webhook", endpoint.id, name=name,
           kind=kind.value, locale=locale, origin=origin)
    return endpoint, signing_secret


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint %(endpoint_id)s does not exist", endpoint_id=endpoint_id)
    return endpoint


def remove_endpoint(session: Session, store: SecretStore, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    """Switch an endpoint off and destroy its URL and secret; its deliveries still waiting fail (audited)."""
    endpoint = get_endpoint(session, endpoint_id)
    if endpoint.disabled_at is not None:
        raise InvalidOperation("webhook endpoint %(name)s was already removed", name=endpoint.name)
    endpoint.disabled_at = utcnow()
    session.flush()
    record(session, actor, "notifications:webhook:remove", "notification_webhook", endpoint.id, name=endpoint.name,
           kind=endpoint.kind.value)
    try:
        store.destroy(endpoint.store_path)
    except SecretNotFound:
        pass
    return endpoint


def set_smtp_password(session: Session, store: SecretStore, actor: Actor, password: SecretValue) -> int:
    """Write (or replace) the SMTP password in the secret store; the audit event says only that it changed."""
    if not password.reveal():
        raise InvalidOperation("the password is empty")
    try:
        version = store.read(SMTP_STORE_PATH).version
    except SecretNotFound:
        version = 0
    new_version = store.write(SMTP_STORE_PATH, {"password": password}, cas=version)
    record(session, actor, "notifications:smtp_password:set", "notification_settings", "smtp", version=new_version)
    return new_version
