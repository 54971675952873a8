"""Console sessions kept on the server: started at sign-in, checked on every request, ended at once by sign-out,
"sign out everywhere", a departure or a role change; idle and absolute lifetimes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleSession, ConsoleUser
from govern.auth.service import Principal
from govern.config import Settings
from govern.db import utcnow
from govern.errors import InvalidOperation, NotFound
from govern.people.models import Person, PersonStatus
from govern.secret_value import SecretValue

SEEN_RESOLUTION = timedelta(minutes=1)  # last_seen_at is written at most once a minute per session
SIGN_OUT, SIGN_OUT_EVERYWHERE, DEPARTURE, ROLE_CHANGE = "sign_out", "sign_out_everywhere", "departure", "role_change"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=8)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(timedelta(minutes=settings.console_session_idle_minutes), timedelta(hours=settings.console_session_max_hours))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, principal: Principal, method: str, client_addr: str | None, policy: SessionPolicy) -> SecretValue:
    """A new session for a console user who has just signed in (the sign-in wrote its audit event); the id is shown
    once, to go into the browser's cookie."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ConsoleSession(id_hash=_digest(session_id), user_id=principal.id, role=principal.role.value, method=method,
                               client_addr=(client_addr or "")[:64] or None, started_at=now, last_seen_at=now,
                               expires_at=now + policy.lifetime))
    session.flush()
    return SecretValue(session_id)


def resume_session(session: Session, session_id: str, policy: SessionPolicy) -> Principal | None:
    """The principal of a live session, None otherwise: ended, idle too long, past its lifetime, or its user disabled,
    gone, a leaver or holding another role than when it started. A live session is marked as seen (coarsely)."""
    found = session.execute(
        select(ConsoleSession, ConsoleUser, Person.status)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .outerjoin(Person, Person.id == ConsoleUser.person_id)
        .where(ConsoleSession.id_hash == _digest(session_id))
    ).one_or_none()
    if found is None:
        return None
    record_, user, person_status = found
    now = utcnow()
    if (record_.ended_at is not None or now >= record_.expires_at or now - record_.last_seen_at >= policy.idle
            or user.disabled_at is not None or person_status == PersonStatus.LEAVER or user.role.value != record_.role):
        return None
    if now - record_.last_seen_at >= SEEN_RESOLUTION:
        record_.last_seen_at = now
    return Principal("console_user", user.id, user.display_name, user.role, user.person_id)


def end_session(session: Session, actor: Actor, session_id: str) -> bool:
    """Sign-out: the session ends now, whoever holds a copy of its cookie. False if it had already ended."""
    found = session.scalar(select(ConsoleSession).where(ConsoleSession.id_hash == _digest(session_id), ConsoleSession.ended_at.is_(None)))
    if found is None:
        return False
    found.ended_at, found.end_reason = utcnow(), SIGN_OUT
    session.flush()
    record(session, actor, "auth:session:sign_out", "console_user", found.user_id, console_session=found.id)
    return True


def end_user_sessions(session: Session, actor: Actor, user_ids: list[int], reason: str, *, why: str | None = None,
                      audit_none: bool = False) -> int:
    """End every open session of these console users at once; one audit event per user whose sessions ended
    (`audit_none`: also when none was open, for an administrator's explicit request)."""
    now = utcnow()
    ended = 0
    for user_id in user_ids:
        count = session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None), ConsoleSession.expires_at > now)
            .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False)
        ).rowcount
        if count or audit_none:
            details = {"reason": reason, "sessions_ended": count} | ({"why": why} if why else {})
            record(session, actor, "auth:session:end_all", "console_user", user_id, **details)
        ended += count
    return ended


def sign_out_everywhere(session: Session, actor: Actor, email: str, why: str) -> tuple[ConsoleUser, int]:
    """An administrator ends every session of one console user (a lost laptop, a cookie that may have been copied)."""
    if len(why.strip()) < 3:
        raise InvalidOperation("say why the sessions end (at least 3 characters), for the audit trail")
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email.strip().lower()))
    if user is None:
        raise NotFound("no console user with email %(email)s", email=f"{email!r}")
    return user, end_user_sessions(session, actor, [user.id], SIGN_OUT_EVERYWHERE, why=why.strip(), audit_none=True)


def _end_sessions_on_departure(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    """Every console session of the person's console users ends in the departure's transaction."""
    user_ids = list(session.scalars(select(ConsoleUser.id).where(ConsoleUser.person_id == person_id)))
    return {"console_sessions_ended": end_user_sessions(session, actor, user_ids, DEPARTURE, why=f"departure {departure_id}")}
