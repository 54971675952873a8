"""Console sign-in with directory credentials (LDAP bind) or the company's OpenID Connect provider; roles by mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.adapters.directory import DirectoryEntry
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.refusals import SignInRefused, guard, refused
from govern.auth.service import Principal, ensure_console_user
from govern.auth.sessions import ROLE_CHANGE, end_user_sessions
from govern.auth.throttle import Throttle
from govern.config import Settings
from govern.db import utcnow
from govern.people.models import Person, PersonSource, PersonStatus
from govern.people.service import upsert_person
from govern.secret_value import SecretValue

log = structlog.get_logger("govern.sign_in")

LDAP, OIDC = "ldap", "oidc"
NAME_TARGET = "sign_in_name"  # refused password sign-ins are recorded against the name typed
SUBJECT_TARGET = "oidc_subject"
MAX_NAME = 255


class PasswordDirectory(Protocol):
    """What password sign-in needs of the directory (govern/adapters/ldap/ provides it)."""

    source: str

    def authenticate(self, username: str, password: str) -> DirectoryEntry | None: ...

    def groups_of(self, dn: str, group_dns: Iterable[str]) -> set[str]: ...


@dataclass(frozen=True)
class RoleMapping:
    """Ordered (value, role) pairs: the first pair whose value the person has decides their role."""

    pairs: tuple[tuple[str, Role], ...] = ()

    @classmethod
    def from_setting(cls, mapping: Mapping[str, str]) -> RoleMapping:
        return cls(tuple((value, Role(role)) for value, role in mapping.items()))

    @property
    def values(self) -> list[str]:
        return [value for value, _ in self.pairs]

    def role_for(self, held: Iterable[str]) -> Role | None:
        held = set(held)
        return next((role for value, role in self.pairs if value in held), None)


@dataclass(frozen=True)
class SignInPolicy:
    role_groups: RoleMapping
    oidc_role_claim: str
    oidc_roles: RoleMapping
    oidc_person_claim: str
    oidc_person_field: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInPolicy:
        return cls(
            role_groups=RoleMapping.from_setting(settings.console_role_groups),
            oidc_role_claim=settings.oidc_role_claim,
            oidc_roles=RoleMapping.from_setting(settings.oidc_role_map),
            oidc_person_claim=settings.oidc_person_claim,
            oidc_person_field=settings.oidc_person_field,
        )


def _sign_in_actor(actor: Actor) -> Actor:
    """Who writes what a sign-in creates (a person not yet synced, a console user): the sign-in, from the request."""
    return Actor("system:sign_in", "sign-in", actor.request_id, actor.client_addr)


# -- password sign-in through the directory ---------------------------------------------------------------------------


def _printable(text: str) -> str:
    """Text as the audit trail can hold it (PostgreSQL refuses NUL), control characters shown as U+FFFD."""
    return "".join(char if char.isprintable() else "\ufffd" for char in text)[:MAX_NAME]


def sign_in_name(username: str) -> str:
    """The name a password sign-in is recorded and rate-limited under."""
    return _printable(username.strip().lower())


def sign_in_with_password(
    session: Session, actor: Actor, directory: PasswordDirectory, policy: SignInPolicy, throttle: Throttle, username: str,
    password: SecretValue,
) -> Principal:
    """Bind as the person, map their groups to a role, link their person and console user. Raises SignInRefused (429
    over a rate limit, before the directory is asked; an audited refusal's event must be committed), or
    DirectoryUnavailable (nothing is recorded)."""
    name = sign_in_name(username)
    guard(session, actor, throttle, LDAP, name)
    try:
        with session.begin_nested():  # a refusal undoes whatever the attempt wrote before it was refused
            return _password_sign_in(session, actor, directory, policy, username, password)
    except SignInRefused as refusal:
        refused(session, actor, throttle, LDAP, refusal, target_type=NAME_TARGET, target_id=name, name=name)
        raise


def _password_sign_in(
    session: Session, actor: Actor, directory: PasswordDirectory, policy: SignInPolicy, username: str, password: SecretValue
) -> Principal:
    sendable = username.isprintable() and "\x00" not in password.reveal()  # control characters never reach the directory
    entry = directory.authenticate(username, password.reveal()) if sendable else None
    if entry is None:  # unknown name, wrong password, or a leaver in the directory: one answer for all three
        raise SignInRefused("bad_credentials", "the directory refused the username or password", 400)
    groups = directory.groups_of(entry.dn, policy.role_groups.values) if policy.role_groups.pairs else set()
    role = policy.role_groups.role_for(groups)
    if role is None:
        raise SignInRefused("no_role", "the person is in no group that GOVERN_CONSOLE_ROLE_GROUPS maps to a role")
    source = PersonSource(directory.source)
    person = session.scalar(select(Person).where(Person.source == source, Person.external_id == entry.key))
    if person is None:  # not synced yet: the sync will find them already there, keyed the same way
        person = upsert_person(session, _sign_in_actor(actor), source, entry.key, dn=entry.dn, username=entry.username,
                               email=entry.email, display_name=entry.display_name, department=entry.department)
    if person.status == PersonStatus.LEAVER:
        raise SignInRefused("leaver", "govern records the person as a leaver")
    return _start(session, actor, LDAP, person, entry.email, entry.display_name, role)


# -- OpenID Connect -------------------------------------------------------------------------------------------------


def _claim(claims: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        claims = claims.get(part) if isinstance(claims, Mapping) else None
    return claims


def _claim_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def sign_in_with_oidc(session: Session, actor: Actor, policy: SignInPolicy, throttle: Throttle, claims: Mapping[str, Any]) -> Principal:
    """Sign in the person an ID token (already validated) names; refusals are audited against its subject.
    (The caller asks `refusals.guard` before redeeming the provider's code.)"""
    subject = _printable(str(claims.get("sub", "")))
    named = _claim(claims, policy.oidc_person_claim)
    try:
        with session.begin_nested():
            return _oidc_sign_in(session, actor, policy, claims)
    except SignInRefused as refusal:
        refused(session, actor, throttle, OIDC, refusal, target_type=SUBJECT_TARGET, target_id=subject,
                person=_printable(named) if isinstance(named, str) else None)
        raise


def refuse_oidc_answer(session: Session, actor: Actor, throttle: Throttle, reason: str) -> None:
    """An OIDC answer that failed its checks (a state this browser did not start, a bad nonce, signature, audience...):
    who it claims to be is unknown, so it is counted against the limits, not audited."""
    refused(session, actor, throttle, OIDC, SignInRefused(reason, "the identity provider's answer was refused"),
            target_type=SUBJECT_TARGET, target_id="unverified")


def _oidc_sign_in(session: Session, actor: Actor, policy: SignInPolicy, claims: Mapping[str, Any]) -> Principal:
    role = policy.oidc_roles.role_for(_claim_values(_claim(claims, policy.oidc_role_claim)))
    if role is None:
        raise SignInRefused("no_role", "no value of the %(claim)r claim is mapped to a role", claim=policy.oidc_role_claim)
    key = _claim(claims, policy.oidc_person_claim)
    if not isinstance(key, str) or not key.strip():
        raise SignInRefused("no_person_claim", "the ID token has no %(claim)r claim", claim=policy.oidc_person_claim)
    if policy.oidc_person_claim == "email" and claims.get("email_verified") is False:
        raise SignInRefused("email_unverified", "the provider says the email address is not verified")
    person = _person_by(session, policy.oidc_person_field, key.strip())
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = claims.get("name") if isinstance(claims.get("name"), str) and claims.get("name").strip() else None
    return _start(session, actor, OIDC, person, email or person.email, name or person.display_name, role)


def _person_by(session: Session, field: str, value: str) -> Person:
    """The one active person whose email or username is `value` (case-insensitive)."""
    column = Person.email if field == "email" else Person.username
    people = list(session.scalars(select(Person).where(func.lower(column) == value.lower())))
    active = [person for person in people if person.status == PersonStatus.ACTIVE]
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        raise SignInRefused("ambiguous_person", "%(count)s active people have this %(field)s", count=len(active), field=field)
    if people:
        raise SignInRefused("leaver", "govern records the person as a leaver")
    raise SignInRefused("unknown_person", "no person in govern has this %(field)s; has the directory been synced?",
                        field=field)


# -- what both methods share ----------------------------------------------------------------------------------------


def _start(
    session: Session, actor: Actor, method: str, person: Person, email: str | None, display_name: str, role: Role
) -> Principal:
    user = _console_user(session, actor, person, email, display_name, role)
    user.last_sign_in_at = utcnow()
    signed_in_as = Actor(f"console_user:{user.id}", user.email, actor.request_id, actor.client_addr)
    record(session, signed_in_as, "auth:session:sign_in", "console_user", user.id, method=method, role=role.value)
    return Principal("console_user", user.id, user.display_name, user.role, user.person_id)


def _console_user(
    session: Session, actor: Actor, person: Person, email: str | None, display_name: str, role: Role
) -> ConsoleUser:
    """The person's console user, created or brought in line with the directory (role, name, person link)."""
    # A directory entry without mail still needs a unique address; .invalid can never be anyone's (RFC 2606).
    email = (email or f"{person.external_id}@{person.source.value}.invalid").strip().lower()
    linked = list(session.scalars(select(ConsoleUser).where(ConsoleUser.person_id == person.id).order_by(ConsoleUser.id)))
    user = next((u for u in linked if u.email == email), linked[0] if linked else None)
    if user is None:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email))
        if user is not None and user.person_id is not None:
            raise SignInRefused("account_conflict", "another person's console user has this email address")
    if user is None:
        return ensure_console_user(session, _sign_in_actor(actor), email, display_name, role, person.id)
    if user.disabled_at is not None:
        raise SignInRefused("disabled", "the console user is disabled")
    before = {"role": user.role.value, "display_name": user.display_name, "person_id": user.person_id}
    user.role, user.display_name, user.person_id = role, display_name, person.id
    after = {"role": role.value, "display_name": display_name, "person_id": person.id}
    changed = {key for key in after if after[key] != before[key]}
    if changed:
        session.flush()
        record(session, _sign_in_actor(actor), "auth:console_user:update", "console_user", user.id,
               before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    if "role" in changed:  # sessions started under the old role end; this sign-in starts one under the new
        end_user_sessions(session, _sign_in_actor(actor), [user.id], ROLE_CHANGE)
    return user
