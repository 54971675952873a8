"""Creating notifications in reaction to other domains' signals, listing and marking them read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import NotFound
from govern.notifications.models import Notification
from govern.people.models import Person, PersonStatus

SYSTEM = Actor.system("notifications")


def notify(session: Session, person_id: int, kind: str, subject_type: str, subject_id: Any, message: str, **details: Any) -> Notification | None:
    """Address a notification to an active person, or to their manager when they have left."""
    person = session.get(Person, person_id)
    while person is not None and person.status != PersonStatus.ACTIVE:
        person = person.manager
    if person is None:
        return None
    notification = Notification(person_id=person.id, kind=kind, subject_type=subject_type, subject_id=str(subject_id),
                                message=message, details=details)
    session.add(notification)
    session.flush()
    record(session, SYSTEM, "notifications:notification:create", "person", person.id,
           notification_id=notification.id, kind=kind, subject=[subject_type, str(subject_id)])
    return notification


def unread_for(session: Session, person_id: int | None, limit: int = 50) -> list[Notification]:
    if person_id is None:
        return []
    query = select(Notification).where(Notification.person_id == person_id, Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc()).limit(limit)))


def mark_read(session: Session, actor: Actor, person_id: int | None, notification_id: int) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.person_id != person_id:
        raise NotFound("notification %(notification_id)s does not exist", notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        record(session, actor, "notifications:notification:read", "person", person_id, notification_id=notification_id)
    return notification


def _tell_owner_to_reconnect(session: Session, *, account_id: int, owner_id: int | None, reason: str) -> None:
    if owner_id is not None:
        notify(session, owner_id, "connection_needs_reconnect", "account", account_id,
               "An account you own must be reconnected before anyone can act on it again.", reason=reason)


def _tell_owner_of_violation(session: Session, *, violation_id: int, owner_id: int, message: str) -> None:
    notify(session, owner_id, "policy_violation", "policy_violation", violation_id, message)


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.connection_needs_reconnect.connect(_tell_owner_to_reconnect, weak=False)
    signals.policy_violation_found.connect(_tell_owner_of_violation, weak=False)
