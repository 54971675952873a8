"""Break-glass checkouts of a legacy login's password: request, a second person's approval, reveal, the window's end."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.adapters.secret_store import SecretStore
from govern.audit.service import record
from govern.auth.roles import Role
from govern.credentials.models import (
    MAX_WINDOW_MINUTES,
    MIN_REASON_LENGTH,
    MIN_WINDOW_MINUTES,
    Checkout,
    CheckoutEnd,
    LegacyCredential,
)
from govern.credentials.service.logins import get_credential, grant_or_refuse, person_or_refuse, read_secrets
from govern.db import utcnow
from govern.errors import Conflict, DomainError, InvalidOperation, NotFound
from govern.grants.capabilities import AccessDenied, Capability, current_grant, grant_needed
from govern.people.models import Person
from govern.secret_value import SecretValue

APPROVER_ROLES = frozenset({Role.GOVERNANCE, Role.ADMIN})


class CheckoutNotActive(DomainError):
    status = 409
    title = "Checkout not active"
    keeps_audit = True  # a window found expired is closed (and the password flagged) even though the request is refused


class RevealRefused(DomainError):
    status = 403
    title = "Forbidden"
    keeps_audit = True  # someone else asking for a checked-out password is worth keeping on record


def _expiry_actor(actor: Actor) -> Actor:
    """Closing a run-out window is the clock's doing, not the reader's; keep the request for tracing."""
    return Actor("system:checkout-expiry", "checkout-expiry", actor.request_id, actor.client_addr)


def get_checkout(session: Session, checkout_id: int) -> Checkout:
    checkout = session.get(Checkout, checkout_id)
    if checkout is None:
        raise NotFound("checkout %(checkout_id)s does not exist", checkout_id=checkout_id)
    return checkout


def active_checkout(session: Session, account_id: int, moment: datetime | None = None) -> Checkout | None:
    moment = moment or utcnow()
    return session.scalars(select(Checkout).where(
        Checkout.account_id == account_id, Checkout.ended_at.is_(None),
        Checkout.approved_at.is_not(None), Checkout.ends_at > moment,
    ).order_by(Checkout.ends_at.desc())).first()


def list_checkouts(session: Session, account_id: int, limit: int = 50) -> list[Checkout]:
    return list(session.scalars(
        select(Checkout).where(Checkout.account_id == account_id).order_by(Checkout.id.desc()).limit(limit)
    ))


# --- break-glass checkouts --------------------------------------------------------------------
def request_checkout(
    session: Session, actor: Actor, person_id: int | None, account_id: int, reason: str, window_minutes: int,
) -> Checkout:
    credential = get_credential(session, account_id)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidOperation("say why the password is needed (at least %(MIN_REASON_LENGTH)s characters)", MIN_REASON_LENGTH=MIN_REASON_LENGTH)
    if not MIN_WINDOW_MINUTES <= window_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidOperation("a checkout lasts %(MIN_WINDOW_MINUTES)s to %(MAX_WINDOW_MINUTES)s minutes", MIN_WINDOW_MINUTES=MIN_WINDOW_MINUTES, MAX_WINDOW_MINUTES=MAX_WINDOW_MINUTES)
    grant = grant_or_refuse(session, person_id, credential.account, Capability.CHECKOUT_PASSWORD, "checking out the password")
    if not credential.has_password:
        raise InvalidOperation("%(handle)s has no password stored", handle=credential.account.handle)
    now = utcnow()
    _close_expired_for_account(session, actor, account_id, now)
    already = session.scalar(select(Checkout.id).where(
        Checkout.account_id == account_id, Checkout.requester_person_id == grant.person_id, Checkout.ended_at.is_(None),
    ))
    if already is not None:
        raise Conflict("checkout %(already)s for this account is still open; check it in or have it denied first", already=already)
    checkout = Checkout(
        credential_id=credential.id, account_id=account_id, requested_by=actor.id, requester_person_id=grant.person_id,
        reason=reason, requested_at=now, window_minutes=window_minutes,
    )
    session.add(checkout)
    session.flush()
    record(session, actor, "credentials:checkout:request", "account", account_id, checkout_id=checkout.id,
           person_id=grant.person_id, grant_id=grant.id, reason=reason, window_minutes=window_minutes)
    return checkout


def _approver_or_refuse(session: Session, checkout: Checkout, person_id: int | None, role: Role, doing: str) -> Person:
    if role not in APPROVER_ROLES:
        raise AccessDenied("%(doing)s needs the governance or admin role; yours is %(value)s", doing=doing, value=role.value)
    person = person_or_refuse(session, person_id, doing)
    if person.id == checkout.requester_person_id:
        raise AccessDenied("%(doing)s needs a second person; you cannot approve or deny your own checkout (to withdraw your own request, check it in)", doing=doing)
    return person


def approve_checkout(session: Session, actor: Actor, person_id: int | None, role: Role, checkout_id: int) -> Checkout:
    """A second person opens the window; it starts now and lasts the requested minutes."""
    checkout = get_checkout(session, checkout_id)
    approver = _approver_or_refuse(session, checkout, person_id, role, "approving a checkout")
    if checkout.ended_reason is not None:
        raise Conflict("checkout %(id)s has ended (%(value)s)", id=checkout.id, value=checkout.ended_reason.value)
    if checkout.approved_at is not None:
        raise Conflict("checkout %(id)s is already approved", id=checkout.id)
    if current_grant(session, checkout.requester_person_id, checkout.account_id, Capability.CHECKOUT_PASSWORD) is None:
        raise InvalidOperation("the requester no longer holds %(CHECKOUT_PASSWORD)s on the account; deny the checkout", CHECKOUT_PASSWORD=grant_needed(Capability.CHECKOUT_PASSWORD))
    now = utcnow()
    checkout.approved_by, checkout.approver_person_id, checkout.approved_at = actor.id, approver.id, now
    checkout.starts_at, checkout.ends_at = now, now + timedelta(minutes=checkout.window_minutes)
    session.flush()
    record(session, actor, "credentials:checkout:approve", "account", checkout.account_id, checkout_id=checkout.id,
           approver_person_id=approver.id, requester_person_id=checkout.requester_person_id, ends_at=checkout.ends_at)
    return checkout


def deny_checkout(session: Session, actor: Actor, person_id: int | None, role: Role, checkout_id: int, reason: str) -> Checkout:
    """Refuse a pending checkout, or cut an active one short."""
    checkout = get_checkout(session, checkout_id)
    _approver_or_refuse(session, checkout, person_id, role, "denying a checkout")
    now = utcnow()
    if checkout.ended_reason is None and checkout.state_at(now) == CheckoutEnd.EXPIRED.value:
        end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    if checkout.ended_reason is not None:
        raise CheckoutNotActive("checkout %(id)s has already ended (%(value)s)", id=checkout.id, value=checkout.ended_reason.value)
    end_checkout(session, actor, checkout, CheckoutEnd.DENIED, now, note=reason.strip())
    return checkout


def reveal_password(
    session: Session, store: SecretStore, actor: Actor, person_id: int | None, checkout_id: int,
) -> tuple[SecretValue, datetime]:
    """The password, to the requester only and only inside the approved window; every reveal is audited."""
    checkout = get_checkout(session, checkout_id)
    if person_id is None or person_id != checkout.requester_person_id:
        record(session, actor, "credentials:password:reveal_refused", "account", checkout.account_id,
               checkout_id=checkout.id, person_id=person_id)
        raise RevealRefused("only the person who requested checkout %(id)s may reveal its password", id=checkout.id)
    now = utcnow()
    state = checkout.state_at(now)
    if state == "pending":
        raise CheckoutNotActive("checkout %(id)s is waiting for a second person to approve it", id=checkout.id)
    if state == CheckoutEnd.EXPIRED.value and checkout.ended_reason is None:
        end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    if state != "active":
        raise CheckoutNotActive("checkout %(id)s has ended (%(state)s); request a new one", id=checkout.id, state=state)
    credential = checkout.credential
    grant_or_refuse(session, person_id, credential.account, Capability.CHECKOUT_PASSWORD, "revealing the password")
    if not credential.has_password:
        raise InvalidOperation("%(handle)s has no password stored", handle=credential.account.handle)
    password = read_secrets(store, credential).data["password"]
    checkout.revealed_at = now
    session.flush()
    record(session, actor, "credentials:password:reveal", "account", checkout.account_id, checkout_id=checkout.id,
           person_id=person_id, store_version=credential.store_version, ends_at=checkout.ends_at)
    return password, checkout.ends_at


def check_in(session: Session, actor: Actor, person_id: int | None, checkout_id: int) -> Checkout:
    """The requester is done: an open window closes (a pending request is cancelled)."""
    checkout = get_checkout(session, checkout_id)
    if person_id is None or person_id != checkout.requester_person_id:
        raise AccessDenied("only the person who requested checkout %(id)s may check it in", id=checkout.id)
    now = utcnow()
    state = checkout.state_at(now)
    if checkout.ended_reason is not None:
        raise Conflict("checkout %(id)s has already ended (%(state)s)", id=checkout.id, state=state)
    if state == CheckoutEnd.EXPIRED.value:
        end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    else:
        end_checkout(session, actor, checkout, CheckoutEnd.CANCELLED if state == "pending" else CheckoutEnd.CHECKED_IN, now)
    return checkout


def end_checkout(
    session: Session, actor: Actor, checkout: Checkout, how: CheckoutEnd, now: datetime, note: str | None = None,
) -> bool:
    """End it exactly once, however many closers race (request, task, another worker); flag the password if it was seen."""
    ended = session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.ended_at.is_(None))
        .values(ended_at=now, ended_reason=how, ended_by=actor.id, end_note=note)
        .execution_options(synchronize_session=False)
    )
    session.refresh(checkout)
    if ended.rowcount != 1:
        return False
    credential = checkout.credential
    rotate = password_was_seen_since_rotation(checkout, credential)
    if rotate:
        credential.rotate_now = True
        credential.rotate_reason = (
            f"the password was revealed under checkout {checkout.id} (ended: {how.value}); change it at the network, then store the new one"
        )
        session.flush()
    record(session, actor, "credentials:checkout:end", "account", checkout.account_id, checkout_id=checkout.id,
           ended_reason=how.value, note=note, revealed=checkout.revealed_at is not None, rotate_now=rotate)
    return True


def password_was_seen_since_rotation(checkout: Checkout, credential: LegacyCredential) -> bool:
    # a password rotated after it was revealed is already a new one nobody has seen
    if checkout.revealed_at is None:
        return False
    return credential.last_rotated_at is None or credential.last_rotated_at <= checkout.revealed_at


def _close_expired_for_account(session: Session, actor: Actor, account_id: int, now: datetime) -> int:
    return _close(session, _expiry_actor(actor), now, Checkout.account_id == account_id)


def close_expired_on_read(session: Session, actor: Actor, account_id: int) -> int:
    """Reads close run-out windows, so correctness never waits for the minutely job."""
    return _close_expired_for_account(session, actor, account_id, utcnow())


def close_expired(session: Session, actor: Actor, now: datetime | None = None) -> int:
    return _close(session, actor, now or utcnow())


def _close(session: Session, actor: Actor, now: datetime, *criteria) -> int:
    expired = session.scalars(select(Checkout).where(
        Checkout.ended_at.is_(None), Checkout.approved_at.is_not(None), Checkout.ends_at <= now, *criteria,
    ).order_by(Checkout.id))
    return sum(end_checkout(session, actor, checkout, CheckoutEnd.EXPIRED, now) for checkout in list(expired))
