"""Broker metadata: registered network apps, account connections and in-flight connects. Never a secret value."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import Network, SocialAccount
from govern.db import Base, enum_column, utcnow


class ConnectionHealth(str, enum.Enum):
    HEALTHY = "healthy"
    EXPIRING = "expiring"
    NEEDS_RECONNECT = "needs_reconnect"
    REVOKED = "revoked"


# A connection someone must connect again: the network stopped the tokens, or they were disconnected.
NEEDING_RECONNECT = (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED)


class NetworkApp(Base):
    """govern's registered OAuth app on a network; the client secret lives in the secret store."""

    __tablename__ = "network_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), unique=True)
    client_id: Mapped[str] = mapped_column(String(255))
    secret_path: Mapped[str] = mapped_column(String(255))
    secret_version: Mapped[int]
    authorize_url: Mapped[str | None] = mapped_column(String(1024))
    token_url: Mapped[str | None] = mapped_column(String(1024))
    revocation_url: Mapped[str | None] = mapped_column(String(1024))
    whoami_url: Mapped[str | None] = mapped_column(String(1024))
    api_url: Mapped[str | None] = mapped_column(String(1024))
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    extra_authorize_params: Mapped[dict[str, str] | None] = mapped_column(JSON)  # e.g. {"ui_locales": "ar"}; never state/PKCE
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    network: Mapped[Network] = relationship(lazy="joined")


class AccountConnection(Base):
    """Where an account's OAuth tokens are, and what is known about them; one per account."""

    __tablename__ = "account_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), unique=True)
    store_kind: Mapped[str] = mapped_column(String(16))
    store_path: Mapped[str] = mapped_column(String(255))
    store_version: Mapped[int]
    token_type: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    refresh_due_at: Mapped[datetime | None] = mapped_column(index=True)
    has_refresh_token: Mapped[bool] = mapped_column(default=False)
    access_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    refresh_fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    external_identity: Mapped[str] = mapped_column(String(255))
    connected_by: Mapped[str] = mapped_column(String(255))
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    connector_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    connector_is_personal: Mapped[bool] = mapped_column(default=False)
    last_refreshed_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    health: Mapped[ConnectionHealth] = mapped_column(enum_column(ConnectionHealth), default=ConnectionHealth.HEALTHY, index=True)
    health_detail: Mapped[str | None] = mapped_column(Text)
    health_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[SocialAccount] = relationship(lazy="joined")


class PendingConnect(Base):
    """An authorization started but not yet completed; the PKCE verifier is in the secret store."""

    __tablename__ = "pending_connects"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("social_accounts.id"))
    started_by: Mapped[str] = mapped_column(String(255))
    connector_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    redirect_uri: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    network: Mapped[Network] = relationship(lazy="joined")


class WrappedHandoff(Base):
    """A single-use Vault response-wrapped copy of an account's access token, issued to an integration."""

    __tablename__ = "wrapped_handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    issued_by: Mapped[str] = mapped_column(String(255))
    issued_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    accessor: Mapped[str] = mapped_column(String(128), unique=True)
    token_fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    unwrapped_at: Mapped[datetime | None]
    unwrap_refused_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
