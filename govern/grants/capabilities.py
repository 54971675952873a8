"""Who may act on an account: what each grant role allows, the query for a grant that allows it, and the refusal."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, SocialAccount
from govern.db import utcnow
from govern.errors import DomainError
from govern.grants.models import Grant, GrantRole
from govern.people.models import Person, PersonStatus


class AccessDenied(DomainError):
    status = 403
    title = "Forbidden"


class Capability(str, enum.Enum):
    PUBLISH = "publish"  # publish and delete posts
    REPLY = "reply"  # reply to comments
    MODERATE = "moderate"  # hide comments
    READ = "read"  # read the account: who it is, its posts and comments
    USE_TOTP = "use_totp"  # generate the legacy login's TOTP code
    CHECKOUT_PASSWORD = "checkout_password"  # check out (and reveal) the legacy login's password


ROLE_CAPABILITIES: dict[GrantRole, frozenset[Capability]] = {
    GrantRole.ADMIN: frozenset(Capability),
    GrantRole.PUBLISHER: frozenset({Capability.PUBLISH, Capability.REPLY, Capability.READ, Capability.USE_TOTP,
                                    Capability.CHECKOUT_PASSWORD}),
    GrantRole.MODERATOR: frozenset({Capability.REPLY, Capability.MODERATE, Capability.READ, Capability.USE_TOTP}),
    GrantRole.ANALYST: frozenset({Capability.READ, Capability.USE_TOTP}),
}


def roles_allowing(capability: Capability) -> frozenset[GrantRole]:
    return frozenset(role for role, allowed in ROLE_CAPABILITIES.items() if capability in allowed)


def grant_needed(capability: Capability) -> str:
    """In words, which grant allows `capability`: "any grant", "an admin or publisher grant"."""
    roles = [role.value for role in GrantRole if role in roles_allowing(capability)]
    if len(roles) == len(GrantRole):
        return "any grant"
    listed = roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"
    return f"{'an' if listed[0] in 'aeiou' else 'a'} {listed} grant"


def current_grant(session: Session, person_id: int, account_id: int, capability: Capability) -> Grant | None:
    """A grant of the person on the account, in force now, whose role allows `capability`."""
    return session.scalars(select(Grant).where(
        Grant.person_id == person_id, Grant.account_id == account_id,
        Grant.role.in_(roles_allowing(capability)), Grant.is_effective_at(utcnow()),
    )).first()


def permitting_grant(person_id: ColumnElement | int, account_id: ColumnElement | int,
                     roles: ColumnElement | frozenset[GrantRole], now: ColumnElement | datetime) -> Select:
    """The whole rule as one statement (the id of a permitting grant): an active person, an active account and a grant
    in force whose role is one of `roles`. Takes bound parameters, so a caller may compile it once."""
    return select(Grant.id).join(Person, Person.id == Grant.person_id).join(SocialAccount, SocialAccount.id == Grant.account_id).where(
        Grant.person_id == person_id, Grant.account_id == account_id, Grant.role.in_(roles), Grant.is_effective_at(now),
        Person.status == PersonStatus.ACTIVE, SocialAccount.status == AccountStatus.ACTIVE,
    ).limit(1)

