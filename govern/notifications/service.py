"""Creating notifications in reaction to other domains' signals, listing and marking them read; each notification
also writes its e-mail and webhook deliveries in the same transaction (govern/notifications/delivery.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import InvalidOperation, N_, NotFound
from govern.notifications import delivery
from govern.notifications.models import Delivery, Notification
from govern.people.models import Person, PersonStatus

SYSTEM = Actor.system("notifications")
CONTACT_TYPES = ("person", "role", "email")
MAX_CONTACTS = 200


def language_of(session: Session, person: Person) -> str:
    """The person's own language, else the one their console user chose last, else the default."""
    if person.locale:
        return person.locale
    chosen = session.scalar(select(ConsoleUser.locale).where(ConsoleUser.person_id == person.id,
                                                             ConsoleUser.locale.is_not(None)).limit(1))
    return chosen or "en"


def _email_for(session: Session, person: Person, notification: Notification | None, kind: str, subject_type: str,
               subject_id: str, message: str, details: dict[str, Any]) -> Delivery | None:
    if not person.email or not delivery.email_enabled():
        return None
    return delivery.add_email(session, address=person.email, locale=language_of(session, person), person_id=person.id,
                              notification_id=notification.id if notification else None, kind=kind,
                              subject_type=subject_type, subject_id=subject_id, message=message, details=details)


def notify(session: Session, person_id: int, kind: str, subject_type: str, subject_id: Any, message: str, **details: Any) -> Notification | None:
    """Address a notification to an active person, or to their manager when they have left: shown in the console,
    e-mailed in their language, and posted to the webhook endpoints, all written in the caller's transaction.

    `message` is an English sentence (a message id: one marked N_() is sent in the reader's language), with
    %(name)s placeholders filled from the plain values in `details`."""
    return _notify(session, person_id, kind, subject_type, str(subject_id), message, details, webhooks=True)


@dataclass(frozen=True)
class Contact:
    """Someone to tell: a person (by id), everyone holding a console role, or an e-mail address."""

    type: str  # person | role | email
    value: str


@dataclass
class ContactsOutcome:
    notifications: list[int]
    deliveries: list[int]


def notify_contacts(session: Session, contacts: Iterable[Contact], kind: str, subject_type: str, subject_id: Any,
                    message: str, locale: str | None = None, **details: Any) -> ContactsOutcome:
    """Tell a list of contacts (a runbook stage's, an alert's) in one go, in the caller's transaction: people get a
    notification (console, e-mail, as notify()); a role's enabled console users and bare addresses get an e-mail
    in their language (a bare address in `locale`); each webhook endpoint gets the message once."""
    contacts = list(contacts)
    if len(contacts) > MAX_CONTACTS:
        raise InvalidOperation("at most %(limit)s contacts at once", limit=MAX_CONTACTS)
    subject_id = str(subject_id)
    notified: list[int] = []
    rows: list[Delivery] = []
    addresses: dict[str, tuple[str, int | None]] = {}  # address -> (language, person id): each told once
    for contact in contacts:
        if contact.type == "person":
            if not str(contact.value).isdigit() or len(str(contact.value)) > 12:
                raise InvalidOperation("%(value)s is not a person's id", value=str(contact.value)[:64])
            notification = _notify(session, int(contact.value), kind, subject_type, subject_id, message, details, webhooks=False)
            if notification is not None:
                notified.append(notification.id)
                rows += session.scalars(select(Delivery).where(Delivery.notification_id == notification.id)).all()
        elif contact.type == "role":
            role = next((r for r in Role if r.value == contact.value), None)
            if role is None:
                raise InvalidOperation("%(role)s is not a role", role=contact.value)
            for user in session.scalars(select(ConsoleUser).where(ConsoleUser.role == role, ConsoleUser.disabled_at.is_(None))
                                        .order_by(ConsoleUser.id)):
                addresses.setdefault(user.email.lower(), (user.locale or locale or "en", user.person_id))
        elif contact.type == "email":
            address = contact.value.strip()
            if "@" not in address or len(address) > 320 or any(ch in address for ch in "\r\n<>,;"):
                raise InvalidOperation("%(address)s is not an e-mail address", address=address[:320])
            addresses.setdefault(address.lower(), (locale or "en", None))
        else:
            raise InvalidOperation("a contact is a person, a role or an e-mail address, not %(type)s", type=contact.type[:64])
    told = {row.address.lower() for row in rows if row.address}
    if delivery.email_enabled():
        for address, (language, person_id) in addresses.items():
            if address not in told:
                rows.append(delivery.add_email(session, address=address, locale=language, person_id=person_id,
                                               notification_id=None, kind=kind, subject_type=subject_type,
                                               subject_id=subject_id, message=message, details=details))
    webhook_rows = delivery.add_webhooks(session, notification_id=None, kind=kind, subject_type=subject_type,
                                         subject_id=subject_id, message=message, details=details)
    new_rows = [row for row in rows if row.notification_id is None] + webhook_rows
    delivery.queue(session, new_rows)
    record(session, SYSTEM, "notifications:contacts:notify", subject_type, subject_id, kind=kind,
           contacts=len(contacts), notifications=notified, deliveries=[row.id for row in rows + webhook_rows])
    return ContactsOutcome(notified, [row.id for row in rows + webhook_rows])


def _notify(session: Session, person_id: int, kind: str, subject_type: str, subject_id: str, message: str,
            details: dict[str, Any], webhooks: bool) -> Notification | None:
    person = session.get(Person, person_id)
    while person is not None and person.status != PersonStatus.ACTIVE:
        person = person.manager
    if person is None:
        return None
    notification = Notification(person_id=person.id, kind=kind, subject_type=subject_type, subject_id=subject_id,
                                message=message, details=details)
    session.add(notification)
    session.flush()
    rows = [row for row in [_email_for(session, person, notification, kind, subject_type, subject_id, message, details)] if row]
    if webhooks:
        rows += delivery.add_webhooks(session, notification_id=notification.id, kind=kind, subject_type=subject_type,
                                      subject_id=subject_id, message=message, details=details)
    delivery.queue(session, rows)
    record(session, SYSTEM, "notifications:notification:create", "person", person.id,
           notification_id=notification.id, kind=kind, subject=[subject_type, subject_id],
           deliveries=[row.id for row in rows])
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


RECONNECT_MESSAGE = N_("An account you own must be reconnected before anyone can act on it again.")


def _tell_owner_to_reconnect(session: Session, *, account_id: int, owner_id: int | None, reason: str) -> None:
    if owner_id is not None:
        notify(session, owner_id, "connection_needs_reconnect", "account", account_id, RECONNECT_MESSAGE, reason=reason)


def _tell_owner_of_violation(session: Session, *, violation_id: int, owner_id: int, message: str) -> None:
    notify(session, owner_id, "policy_violation", "policy_violation", violation_id, message)


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.connection_needs_reconnect.connect(_tell_owner_to_reconnect, weak=False)
    signals.policy_violation_found.connect(_tell_owner_of_violation, weak=False)
