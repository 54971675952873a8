"""Console users as an administrator manages them: add, change the role, link to a person, switch off and on. Flushes.

An administrator never changes their own role or switches themselves off (another administrator does), and the last
active administrator is never demoted or switched off: whatever the console allows, somebody can still run it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.auth.sessions import ROLE_CHANGE, end_user_sessions
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.people.models import Person, PersonStatus

CONSOLE_ROLES = tuple(role for role in Role if role != Role.SCIM)  # SCIM is a machine's role, never a person's
DISABLED = "disabled"  # why a switched-off user's sessions ended
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL, MAX_NAME = 320, 255
LIST_LIMIT = 200  # users on the page at most; a search narrows them


class UserChangeRefused(InvalidOperation):
    """A change an administrator may not make. `code` is stable: the console words it in the reader's language."""

    message_argument = 2  # UserChangeRefused(code, template, **values)

    def __init__(self, code: str, template: str, **params: Any) -> None:
        super().__init__(template, code=code, **params)
        self.code = code


def list_console_users(session: Session, q: str = "", role: Role | None = None,
                       limit: int = LIST_LIMIT) -> tuple[list[tuple[ConsoleUser, Person | None]], int]:
    """Console users whose email or name contains `q` (and who have `role`), with the person each is linked to: active
    users first, then by email; at most `limit` of them, and how many match in all."""
    query = select(ConsoleUser, Person).outerjoin(Person, Person.id == ConsoleUser.person_id)
    if q.strip():
        pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(ConsoleUser.email.ilike(pattern, escape="\\") | ConsoleUser.display_name.ilike(pattern, escape="\\"))
    if role is not None:
        query = query.where(ConsoleUser.role == role)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ConsoleUser.disabled_at.is_not(None), ConsoleUser.email).limit(limit))
    return [(user, person) for user, person in rows], total


def get_console_user(session: Session, user_id: int) -> ConsoleUser:
    user = session.get(ConsoleUser, user_id)
    if user is None:
        raise NotFound("console user %(user_id)s does not exist", user_id=user_id)
    return user


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("person %(person_id)s does not exist", person_id=person_id)
    if person.status == PersonStatus.LEAVER:
        raise UserChangeRefused("leaver", "%(name)s has left the company: no console user is linked to a leaver", name=person.display_name)
    return person


def add_console_user(session: Session, actor: Actor, email: str, display_name: str, role: Role,
                     person_id: int | None = None) -> ConsoleUser:
    """A new console user; refused when the email is taken, the role is SCIM's, or the person has left."""
    email, display_name = email.strip().lower(), display_name.strip()
    if not EMAIL.match(email) or len(email) > MAX_EMAIL:
        raise UserChangeRefused("bad_email", "%(email)r is not an email address", email=email)
    if not display_name or len(display_name) > MAX_NAME:
        raise UserChangeRefused("bad_name", "a console user needs a name (at most 255 characters)")
    if role not in CONSOLE_ROLES:
        raise UserChangeRefused("machine_role", "%(role)s is a machine's role; a console user cannot have it", role=role.value)
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == email)) is not None:
        raise Conflict("a console user with email %(email)s already exists", email=email)
    if person_id is not None:
        _person(session, person_id)
    return ensure_console_user(session, actor, email, display_name, role, person_id)


def _is_self(actor: Actor, user: ConsoleUser) -> bool:
    return actor.id == f"console_user:{user.id}"


def _keep_an_admin(session: Session, actor: Actor, user: ConsoleUser) -> None:
    """Refuse to take admin away from `user` when they are the actor, or the last active administrator. The active
    administrators' rows are locked, so two administrators demoting each other at once cannot both succeed."""
    if user.role != Role.ADMIN or user.disabled_at is not None:
        return
    if _is_self(actor, user):
        raise UserChangeRefused("self", "you cannot take away your own administrator access; another administrator can")
    admins = session.scalars(
        select(ConsoleUser.id).outerjoin(Person, Person.id == ConsoleUser.person_id)
        .where(ConsoleUser.role == Role.ADMIN, ConsoleUser.disabled_at.is_(None),
               (Person.status.is_(None)) | (Person.status != PersonStatus.LEAVER))
        .order_by(ConsoleUser.id).with_for_update(of=ConsoleUser)
    ).all()
    if set(admins) <= {user.id}:
        raise UserChangeRefused("last_admin", "%(email)s is the last active administrator; make someone else one first", email=user.email)


def change_role(session: Session, actor: Actor, user_id: int, role: Role) -> ConsoleUser:
    """A new role; the user's open sessions end (they sign in again under it). Unchanged role: nothing happens."""
    user = get_console_user(session, user_id)
    if role not in CONSOLE_ROLES:
        raise UserChangeRefused("machine_role", "%(role)s is a machine's role; a console user cannot have it", role=role.value)
    if role == user.role:
        return user
    if role != Role.ADMIN:
        _keep_an_admin(session, actor, user)
    before = user.role
    user.role = role
    session.flush()
    record(session, actor, "auth:console_user:update", "console_user", user.id,
           before={"role": before.value}, after={"role": role.value})
    end_user_sessions(session, actor, [user.id], ROLE_CHANGE)
    return user


def link_person(session: Session, actor: Actor, user_id: int, person_id: int | None) -> ConsoleUser:
    """Link the user to the person they are (None unlinks); a leaver is never linked. Unchanged: nothing happens."""
    user = get_console_user(session, user_id)
    if person_id is not None:
        _person(session, person_id)
    if person_id == user.person_id:
        return user
    before = user.person_id
    user.person_id = person_id
    session.flush()
    record(session, actor, "auth:console_user:update", "console_user", user.id,
           before={"person_id": before}, after={"person_id": person_id})
    return user


def disable(session: Session, actor: Actor, user_id: int, reason: str) -> ConsoleUser:
    """Switch the user off: no sign-in works for them and their open sessions end now. Already off: InvalidOperation."""
    user = get_console_user(session, user_id)
    if user.disabled_at is not None:
        raise UserChangeRefused("already_disabled", "%(email)s is already switched off", email=user.email)
    _keep_an_admin(session, actor, user)
    user.disabled_at = utcnow()
    session.flush()
    record(session, actor, "auth:console_user:disable", "console_user", user.id, reason=reason)
    end_user_sessions(session, actor, [user.id], DISABLED, why=reason)
    return user


def enable(session: Session, actor: Actor, user_id: int) -> ConsoleUser:
    """Switch a user back on (they sign in again); never a user linked to a leaver. Already on: nothing happens."""
    user = get_console_user(session, user_id)
    if user.disabled_at is None:
        return user
    if user.person_id is not None:
        _person(session, user.person_id)
    user.disabled_at = None
    session.flush()
    record(session, actor, "auth:console_user:enable", "console_user", user.id)
    return user


def remember_language(session: Session, actor: Actor, user_id: int, locale: str) -> bool:
    """Keep the language a console user chose, so what govern e-mails them is written in it (decision 0071)."""
    user = session.get(ConsoleUser, user_id)
    if user is None or user.locale == locale:
        return False
    before, user.locale = user.locale, locale
    session.flush()
    record(session, actor, "auth:console_user:language", "console_user", user.id, before=before, after=locale)
    return True
