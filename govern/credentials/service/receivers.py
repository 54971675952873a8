"""How legacy logins react to other domains: a compromised or retired account, a person who left."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.audit.service import record
from govern.credentials.models import Checkout, CheckoutEnd, LegacyCredential
from govern.credentials.service.checkouts import end_checkout, password_was_seen_since_rotation
from govern.db import utcnow

def _end_open_checkouts(session: Session, actor: Actor, account_id: int, note: str) -> None:
    now = utcnow()
    open_checkouts = session.scalars(select(Checkout).where(Checkout.account_id == account_id, Checkout.ended_at.is_(None)))
    for checkout in list(open_checkouts):
        state = checkout.state_at(now)
        how = CheckoutEnd.EXPIRED if state == CheckoutEnd.EXPIRED.value else CheckoutEnd.CANCELLED
        end_checkout(session, actor, checkout, how, now, note=note)


def _on_account_compromised(session: Session, *, actor: Actor, account_id: int, reason: str) -> None:
    credential = session.scalar(select(LegacyCredential).where(LegacyCredential.account_id == account_id))
    if credential is None:
        return
    _end_open_checkouts(session, actor, account_id, note=f"account compromised: {reason}")
    if credential.has_password and not credential.rotate_now:
        credential.rotate_now, credential.rotate_reason = True, f"the account was marked compromised: {reason}"
        session.flush()
        record(session, actor, "credentials:credential:rotate_due", "account", account_id, reason=credential.rotate_reason)


def _on_account_retired(session: Session, *, actor: Actor, account_id: int, reason: str) -> None:
    _end_open_checkouts(session, actor, account_id, note=f"account retired: {reason}")


def _on_person_departed(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    """A leaver's open checkouts end, and every password they ever saw is due for rotation."""
    now, note = utcnow(), f"requester left the company (departure {departure_id})"
    open_checkouts = list(session.scalars(select(Checkout).where(Checkout.requester_person_id == person_id, Checkout.ended_at.is_(None))))
    for checkout in open_checkouts:
        how = CheckoutEnd.EXPIRED if checkout.state_at(now) == CheckoutEnd.EXPIRED.value else CheckoutEnd.CANCELLED
        end_checkout(session, actor, checkout, how, now, note=note)
    seen = session.scalars(select(Checkout).where(Checkout.requester_person_id == person_id, Checkout.revealed_at.is_not(None)))
    flagged = set()
    for checkout in seen:
        credential = checkout.credential
        if credential.rotate_now or not password_was_seen_since_rotation(checkout, credential):
            continue
        credential.rotate_now = True
        credential.rotate_reason = f"revealed to someone who has left (departure {departure_id}); change it at the network"
        flagged.add(credential.id)
        record(session, actor, "credentials:credential:rotate_due", "account", credential.account_id, reason=credential.rotate_reason)
    session.flush()
    return {"checkouts_ended": len(open_checkouts), "passwords_to_rotate": len(flagged)}


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.account_compromised.connect(_on_account_compromised, weak=False)
    signals.account_retired.connect(_on_account_retired, weak=False)
    signals.person_departed.connect(_on_person_departed, weak=False)
