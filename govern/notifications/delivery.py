"""E-mail and webhook deliveries: written in the notifying transaction, claimed one at a time (SKIP LOCKED), sent,
and retried with exponential backoff until delivered or failed for good (docs/decisions/0071).

A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and kept locked while it is sent, so two workers (or a task
delivered twice) never send it twice; the send is bounded by the SMTP and HTTP timeouts, so the lock is too. A
worker that dies mid-send leaves the row pending (its transaction rolls back) and the sweep sends it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern import app_services
from govern.actor import Actor
from govern.adapters import mail, webhooks
from govern.adapters.secret_store import SecretNotFound, SecretStore, SecretStoreError
from govern.audit.service import record
from govern.config import Settings
from govern.db import utcnow
from govern.errors import InvalidOperation, NotFound
from govern.jobs import enqueue_task_after_commit
from govern.notifications import rendering
from govern.notifications.models import Channel, Delivery, DeliveryState, WebhookEndpoint
from govern.secret_value import SecretValue

SYSTEM = Actor.system("notifications")
DELIVER_TASK = "govern.notifications.deliver"
SMTP_STORE_PATH = "govern/notifications/smtp"
ERROR_LENGTH = 300
LIST_LIMIT = 200


@dataclass
class Transports:
    """How deliveries leave govern: the SMTP settings (the password read from the secret store when first needed),
    the webhook timeout and the retry schedule. Built from the settings; tests build their own."""

    store: SecretStore
    smtp: mail.SmtpSettings | None
    sender: str
    base_url: str
    webhook_timeout_seconds: float = 10.0
    max_attempts: int = 8
    retry_base_seconds: int = 30
    retry_cap_seconds: int = 3600
    send_mail: Callable[..., None] = mail.send
    post_webhook: Callable[..., int] = webhooks.post
    _password: SecretValue | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, store: SecretStore) -> Transports:
        smtp = mail.SmtpSettings(settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_username,
                                 settings.smtp_timeout_seconds, settings.smtp_ca_file) if settings.smtp_host else None
        return cls(store=store, smtp=smtp, sender=settings.smtp_from, base_url=settings.base_url,
                   webhook_timeout_seconds=settings.webhook_timeout_seconds,
                   max_attempts=settings.notification_max_attempts,
                   retry_base_seconds=settings.notification_retry_base_seconds,
                   retry_cap_seconds=settings.notification_retry_cap_seconds)

    def smtp_password(self) -> SecretValue | None:
        if self.smtp is None or not self.smtp.username:
            return None
        if self._password is None:
            try:
                self._password = self.store.read(SMTP_STORE_PATH).data.get("password")
            except SecretNotFound:
                return None
        return self._password

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 1 min, 2 min, ... up to the cap: the wait after the `attempts`-th failed try."""
        return timedelta(seconds=min(self.retry_cap_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1)))


class DeliveryFailed(Exception):
    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason[:ERROR_LENGTH], permanent


# --- writing deliveries (in the notifying transaction) ----------------------------------------------------------


def email_enabled() -> bool:
    """E-mail rows are written only when a mail server is configured (else they could never be sent). Read from the
    running app's settings: notify() is called from deep inside other domains' services, which carry no settings."""
    return has_app_context() and bool(app_services.settings().smtp_host)


def add_email(session: Session, *, address: str, locale: str, person_id: int | None, notification_id: int | None,
              kind: str, subject_type: str, subject_id: str, message: str, details: dict[str, Any]) -> Delivery:
    row = Delivery(channel=Channel.EMAIL, address=address, locale=rendering.locale_of(locale), person_id=person_id,
                   notification_id=notification_id, kind=kind, subject_type=subject_type, subject_id=subject_id,
                   message=message, details=details, state=DeliveryState.PENDING, attempts=0, next_attempt_at=utcnow())
    session.add(row)
    return row


def add_webhooks(session: Session, *, notification_id: int | None, kind: str, subject_type: str, subject_id: str,
                 message: str, details: dict[str, Any]) -> list[Delivery]:
    """One delivery per enabled endpoint, in the endpoint's language."""
    rows = [Delivery(channel=Channel.WEBHOOK, webhook_id=endpoint.id, locale=rendering.locale_of(endpoint.locale),
                     notification_id=notification_id, kind=kind, subject_type=subject_type, subject_id=subject_id,
                     message=message, details=details, state=DeliveryState.PENDING, attempts=0, next_attempt_at=utcnow())
            for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))
                                            .order_by(WebhookEndpoint.id))]
    session.add_all(rows)
    return rows


def queue(session: Session, rows: list[Delivery]) -> None:
    """Ask for the rows to be sent once this transaction commits (the job is itself an outbox row); the periodic
    sweep sends whatever this job does not."""
    if not rows:
        return
    session.flush()
    enqueue_task_after_commit(session, DELIVER_TASK, [row.id for row in rows])


# --- sending ----------------------------------------------------------------------------------------------------


def claim_next(session: Session, now: datetime, delivery_ids: Collection[int] | None = None) -> Delivery | None:
    """The oldest due pending row, locked for this transaction; rows another worker holds are skipped."""
    query = select(Delivery).where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now)
    if delivery_ids is not None:
        query = query.where(Delivery.id.in_(list(delivery_ids)))
    return session.scalars(query.order_by(Delivery.next_attempt_at, Delivery.id).limit(1)
                           .with_for_update(skip_locked=True)).first()


def attempt(session: Session, transports: Transports, row: Delivery, now: datetime | None = None) -> DeliveryState:
    """Send one claimed row and record the outcome (flushed; the caller commits, which releases the lock)."""
    try:
        if row.channel is Channel.EMAIL:
            _send_email(transports, row)
        else:
            _post_webhook(session, transports, row)
    except DeliveryFailed as failure:
        return _failed(session, transports, row, failure, now or utcnow())
    except Exception as error:  # anything unforeseen is tried again later, never lost and never retried at once
        return _failed(session, transports, row, DeliveryFailed(type(error).__name__, permanent=False), now or utcnow())
    row.attempts += 1
    row.state, row.delivered_at, row.last_error = DeliveryState.DELIVERED, now or utcnow(), None
    session.flush()
    return row.state


def _send_email(transports: Transports, row: Delivery) -> None:
    if transports.smtp is None:
        raise DeliveryFailed("no mail server is configured (GOVERN_SMTP_HOST)", permanent=False)
    message = rendering.email(row, transports.sender, transports.base_url)
    try:
        password = transports.smtp_password()
        transports.send_mail(transports.smtp, message, password)
    except mail.MailError as error:
        raise DeliveryFailed(str(error), error.permanent) from None
    except SecretStoreError as error:
        raise DeliveryFailed(f"secret store: {type(error).__name__}", permanent=False) from None


def _post_webhook(session: Session, transports: Transports, row: Delivery) -> None:
    endpoint = session.get(WebhookEndpoint, row.webhook_id) if row.webhook_id else None
    if endpoint is None or endpoint.disabled_at is not None:
        raise DeliveryFailed("the webhook endpoint was removed", permanent=True)
    try:
        secrets = transports.store.read(endpoint.store_path).data
    except SecretStoreError as error:
        raise DeliveryFailed(f"secret store: {type(error).__name__}", permanent=False) from None
    body = rendering.webhook_body(row, endpoint.kind, transports.base_url)
    try:
        transports.post_webhook(secrets["url"], body, secrets["signing_secret"], int(time.time()), row.id,
                                transports.webhook_timeout_seconds)
    except webhooks.WebhookError as error:
        raise DeliveryFailed(str(error), error.permanent) from None


def _failed(session: Session, transports: Transports, row: Delivery, failure: DeliveryFailed, now: datetime) -> DeliveryState:
    row.attempts += 1
    row.last_error = failure.reason
    if failure.permanent or row.attempts >= transports.max_attempts:
        row.state, row.failed_at = DeliveryState.FAILED, now
        session.flush()
        record(session, SYSTEM, "notifications:delivery:fail", "notification_delivery", row.id,
               channel=row.channel.value, kind=row.kind, person_id=row.person_id, webhook_id=row.webhook_id,
               notification_id=row.notification_id, attempts=row.attempts, last_error=row.last_error)
    else:
        row.next_attempt_at = now + transports.backoff(row.attempts)
        session.flush()
    return row.state


# --- the console's and the API's view --------------------------------------------------------------------------


def list_deliveries(session: Session, state: DeliveryState | None = None, limit: int = LIST_LIMIT) -> list[Delivery]:
    query = select(Delivery)
    if state is not None:
        query = query.where(Delivery.state == state)
    return list(session.scalars(query.order_by(Delivery.id.desc()).limit(limit)))


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    found = {state.value: count for state, count in rows}
    return {state.value: found.get(state.value, 0) for state in DeliveryState}


def retry(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    """Try a failed delivery again from now (an administrator fixed the mail server or the endpoint)."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound("delivery %(delivery_id)s does not exist", delivery_id=delivery_id)
    if row.state is not DeliveryState.FAILED:
        raise InvalidOperation("only a failed delivery can be tried again")
    row.state, row.failed_at, row.attempts, row.next_attempt_at = DeliveryState.PENDING, None, 0, utcnow()
    session.flush()
    record(session, actor, "notifications:delivery:retry", "notification_delivery", row.id, channel=row.channel.value,
           kind=row.kind, last_error=row.last_error)
    queue(session, [row])
    return row
