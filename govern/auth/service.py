"""Minting and checking API tokens, console users and one-time sign-in links."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ApiClient, ConsoleUser, LoginLink
from govern.auth.refusals import SignInRefused, guard, refused
from govern.auth.roles import Role
from govern.auth.throttle import Throttle
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.people.models import Person, PersonStatus
from govern.secret_value import SecretValue

TOKEN_PREFIX = "gov_"
LOGIN_LINK = "login_link"  # the sign-in method of one-time links
LAST_USED_RESOLUTION = timedelta(minutes=5)
CONSOLE_ONLY_ROLES = frozenset({Role.REVIEWER})  # people in the console; never a machine's token
MAX_CLIENT_NAME = 128


class TokenRefused(InvalidOperation):
    """A token that is not made. `code` is stable (console_only_role, leaver, bad_name, past_end): the console words it."""

    message_argument = 2  # TokenRefused(code, template, **values)

    def __init__(self, code: str, template: str, **params: Any) -> None:
        super().__init__(template, code=code, **params)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an API client or a console user."""

    kind: str
    id: int
    name: str
    role: Role
    person_id: int | None = None

    @property
    def actor_id(self) -> str:
        return f"{self.kind}:{self.id}"


def create_api_client(
    session: Session, actor: Actor, name: str, role: Role, person_id: int | None = None, expires_at: datetime | None = None
) -> tuple[ApiClient, SecretValue]:
    """A new client and its token (shown once; only its hash is kept). `expires_at`: when it stops working on its own
    (None: when it is revoked)."""
    name = name.strip()
    if not name or len(name) > MAX_CLIENT_NAME:
        raise TokenRefused("bad_name", "an API client needs a name of 1 to %(most)s characters", most=MAX_CLIENT_NAME)
    if role in CONSOLE_ONLY_ROLES:
        raise TokenRefused(
            "console_only_role",
            "%(role)s is a console-only role (account owners certifying access in the console); an API token cannot have it",
            role=role.value)
    if _is_leaver(session, person_id):
        raise TokenRefused("leaver", "the person has left the company: no API token is made for a leaver")
    if expires_at is not None and expires_at <= utcnow():
        raise TokenRefused("past_end", "a token's end must be in the future")
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict("an API client named %(name)s already exists", name=f"{name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        name=name, role=role, token_prefix=token[:10], token_hash=_digest(token), created_by=actor.id, person_id=person_id,
        expires_at=expires_at,
    )
    session.add(client)
    session.flush()
    record(session, actor, "auth:api_client:create", "api_client", client.id,
           after={"name": name, "role": role.value, "person_id": person_id}
           | ({"expires_at": expires_at.isoformat()} if expires_at else {}))
    return client, SecretValue(token)


def authenticate_token(session: Session, token: str) -> Principal | None:
    """The token's client; None for an unknown, revoked or expired token, or one whose person has left (by whatever path they
    left: the departure revokes the token too, but a leaver's token must not work even before that)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = session.execute(
        select(ApiClient, Person.status).outerjoin(Person, Person.id == ApiClient.person_id)
        .where(ApiClient.token_hash == _digest(token))
    ).one_or_none()
    if found is None:
        return None
    client, person_status = found
    now = utcnow()
    if (client.revoked_at is not None or person_status == PersonStatus.LEAVER or client.role in CONSOLE_ONLY_ROLES
            or (client.expires_at is not None and client.expires_at <= now)):
        return None  # (a console-only role's token can only be one minted before such tokens were refused)
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        client.last_used_at = now  # coarse, so read-only traffic does not write on every request
    return Principal("api_client", client.id, client.name, client.role, client.person_id)


def ensure_console_user(
    session: Session, actor: Actor, email: str, display_name: str, role: Role, person_id: int | None = None
) -> ConsoleUser:
    email = email.strip().lower()
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email))
    if user is not None:
        return user
    user = ConsoleUser(email=email, display_name=display_name, role=role, person_id=person_id)
    session.add(user)
    session.flush()
    record(session, actor, "auth:console_user:create", "console_user", user.id,
           after={"email": email, "role": role.value, "person_id": person_id})
    return user


def issue_login_link(
    session: Session, actor: Actor, email: str, ttl_seconds: int, *, admin_only: bool = False
) -> SecretValue:
    """A single-use sign-in code for an existing console user; only its hash is stored.

    `admin_only`: directory sign-in is configured, so a link is the administrators' break-glass and nobody else's.
    """
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email.strip().lower()))
    if user is None or user.disabled_at is not None:
        raise NotFound("no active console user with email %(email)s", email=f"{email!r}")
    if admin_only and user.role != Role.ADMIN:
        raise InvalidOperation(
            "%(email)s is a %(value)s user: one-time links are only a break-glass for admin users while directory sign-in is configured; they sign in with their directory or company account", email=user.email, value=user.role.value
        )
    code = secrets.token_urlsafe(32)
    session.add(LoginLink(user=user, code_hash=_digest(code), expires_at=utcnow() + timedelta(seconds=ttl_seconds)))
    session.flush()
    record(session, actor, "auth:login_link:issue", "console_user", user.id, after={"ttl_seconds": ttl_seconds})
    return SecretValue(code)


def redeem_login_link(session: Session, actor: Actor, code: str, *, throttle: Throttle, admin_only: bool = False) -> Principal:
    """The user the link signs in. SignInRefused: over a rate limit (429); an unknown, used or expired link (400: counted,
    not audited); a leaver, or a non-admin when `admin_only` (403: audited, and the link is used up either way)."""
    guard(session, actor, throttle, LOGIN_LINK)
    link = session.scalar(select(LoginLink).where(LoginLink.code_hash == _digest(code)).with_for_update(of=LoginLink))
    now = utcnow()
    if link is None or link.used_at is not None or link.expires_at <= now or link.user.disabled_at is not None:
        refusal = SignInRefused("invalid_link", "the sign-in link is invalid, expired or already used", 400)
        refused(session, actor, throttle, LOGIN_LINK, refusal, target_type="console_user", target_id="unknown")
        raise refusal
    link.used_at = now
    user = link.user
    refusal = None
    if admin_only and user.role != Role.ADMIN:
        refusal = SignInRefused("not_break_glass", "one-time links are only a break-glass for admin users")
    elif _is_leaver(session, user.person_id):
        refusal = SignInRefused("leaver", "the person this console user is has left")
    if refusal is not None:
        refused(session, actor, throttle, LOGIN_LINK, refusal, target_type="console_user", target_id=str(user.id))
        raise refusal
    user.last_sign_in_at = now
    signed_in_as = Actor(f"console_user:{user.id}", user.email, actor.request_id, actor.client_addr)
    record(session, signed_in_as, "auth:session:sign_in", "console_user", user.id, method=LOGIN_LINK)
    return Principal("console_user", user.id, user.display_name, user.role, user.person_id)


def _is_leaver(session: Session, person_id: int | None) -> bool:
    return person_id is not None and session.scalar(select(Person.status).where(Person.id == person_id)) == PersonStatus.LEAVER


def person_id_by_email(session: Session, email: str) -> int:
    person_id = session.scalar(select(Person.id).where(Person.email == email.strip().lower()))
    if person_id is None:
        raise NotFound("no person with email %(email)s", email=f"{email!r}")
    return person_id


def list_api_clients(session: Session, *, scim: bool) -> list[ApiClient]:
    """API clients, newest first: the identity providers' SCIM clients, or every other one."""
    role_matches = ApiClient.role == Role.SCIM if scim else ApiClient.role != Role.SCIM
    return list(session.scalars(select(ApiClient).where(role_matches).order_by(ApiClient.created_at.desc(), ApiClient.id.desc())))


def get_api_client(session: Session, client_id: int) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound("API client %(client_id)s does not exist", client_id=client_id)
    return client


def revoke_api_client(session: Session, actor: Actor, name: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound("no API client named %(name)s", name=f"{name!r}")
    return revoke_client(session, actor, client)


def revoke_client(session: Session, actor: Actor, client: ApiClient, reason: str | None = None) -> ApiClient:
    """The token stops working at once; Conflict when it already had."""
    if client.revoked_at is not None:
        raise Conflict("API client %(name)s was already revoked", name=f"{client.name!r}")
    client.revoked_at = utcnow()
    session.flush()
    details = {"reason": reason} if reason else {}
    record(session, actor, "auth:api_client:revoke", "api_client", client.id, before={"name": client.name}, **details)
    return client


def _close_access_on_departure(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    """API tokens the person owned stop working; their console users are disabled (govern.auth.sessions ends their
    sessions in the same transaction)."""
    now = utcnow()
    tokens = list(session.scalars(select(ApiClient).where(ApiClient.person_id == person_id, ApiClient.revoked_at.is_(None))))
    for client in tokens:
        client.revoked_at = now
        record(session, actor, "auth:api_client:revoke", "api_client", client.id, reason=f"departure {departure_id}")
    users = list(session.scalars(select(ConsoleUser).where(ConsoleUser.person_id == person_id, ConsoleUser.disabled_at.is_(None))))
    for user in users:
        user.disabled_at = now
        record(session, actor, "auth:console_user:disable", "console_user", user.id, reason=f"departure {departure_id}")
    session.flush()
    return {"api_tokens_revoked": len(tokens), "console_users_disabled": len(users)}


def actor_name(session: Session, actor_id: str | None) -> str:
    """A readable name for an audit actor id: a console user's display name, else the name after the kind
    (`system:directory-sync` -> directory-sync, `api_client:ci-bot` -> ci-bot)."""
    kind, _, ident = (actor_id or "").partition(":")
    if kind == "console_user" and ident.isdigit():
        user = session.get(ConsoleUser, int(ident))
        if user is not None:
            return user.display_name
    return ident or actor_id or "?"
