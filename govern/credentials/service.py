"""Legacy credential operations: store, TOTP codes, break-glass checkouts of the password. Flushes only."""

from __future__ import annotations

import base64
import binascii
import time
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import AccountStatus, SocialAccount
from govern.adapters.secret_store import CasConflict, SecretNotFound, SecretStore, account_path
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.roles import Role
from govern.broker.context import guard_store
from govern.credentials.models import (
    MAX_WINDOW_MINUTES,
    MIN_REASON_LENGTH,
    MIN_WINDOW_MINUTES,
    Checkout,
    CheckoutEnd,
    LegacyCredential,
)
from govern.db import utcnow
from govern.errors import Conflict, DomainError, InvalidOperation, NotFound
from govern.grants.capabilities import AccessDenied, Capability, current_grant, grant_needed, no_grant
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.secret_value import SecretValue

STORE_KIND = "legacy"
MIN_SEED_LENGTH = 16  # 80 bits, the shortest seed networks hand out
TOTP_STEP = 30
APPROVER_ROLES = frozenset({Role.GOVERNANCE, Role.ADMIN})


class CheckoutNotActive(DomainError):
    status = 409
    title = "Checkout not active"
    keeps_audit = True  # a window found expired is closed (and the password flagged) even though the request is refused


class RevealRefused(DomainError):
    status = 403
    title = "Forbidden"
    keeps_audit = True  # someone else asking for a checked-out password is worth keeping on record


def _guard_store(call, *args, **kwargs):
    return guard_store(call, *args, passthrough=(SecretNotFound, CasConflict), **kwargs)


def _expiry_actor(actor: Actor) -> Actor:
    """Closing a run-out window is the clock's doing, not the reader's; keep the request for tracing."""
    return Actor("system:checkout-expiry", "checkout-expiry", actor.request_id, actor.client_addr)


# --- lookups ----------------------------------------------------------------------------------
def get_credential(session: Session, account_id: int) -> LegacyCredential:
    credential = session.scalar(select(LegacyCredential).where(LegacyCredential.account_id == account_id))
    if credential is None:
        if session.get(SocialAccount, account_id) is None:
            raise NotFound(f"account {account_id} does not exist")
        raise NotFound(f"account {account_id} has no legacy credentials")
    return credential


def get_checkout(session: Session, checkout_id: int) -> Checkout:
    checkout = session.get(Checkout, checkout_id)
    if checkout is None:
        raise NotFound(f"checkout {checkout_id} does not exist")
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


def _person_or_refuse(session: Session, person_id: int | None, doing: str) -> Person:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        raise AccessDenied(f"{doing} is done by a person; this caller is not linked to one (link the token with --person-email)")
    if person.status != PersonStatus.ACTIVE:
        raise AccessDenied(f"{person.display_name} is no longer an active person")
    return person


def _grant_or_refuse(session: Session, person_id: int | None, account: SocialAccount, capability: Capability,
                     doing: str) -> Grant:
    person = _person_or_refuse(session, person_id, doing)
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation(f"account {account.handle} is retired")
    grant = current_grant(session, person.id, account.id, capability)
    if grant is None:
        raise AccessDenied(f"{no_grant(person, account, doing)} (needs {grant_needed(capability)})")
    return grant


# --- storing ----------------------------------------------------------------------------------
def _totp(canonical_seed: str) -> TOTP:
    """RFC 6238 with the parameters authenticator apps assume: SHA-1, 6 digits, 30 s. Networks still issue
    80-bit seeds, below cryptography's default minimum, so the key length is not enforced."""
    key = base64.b32decode(canonical_seed + "=" * (-len(canonical_seed) % 8), casefold=False)
    return TOTP(key, 6, SHA1(), TOTP_STEP, enforce_key_length=False)


def normalise_totp_seed(seed: SecretValue) -> SecretValue:
    """Seeds are shown grouped and in lower case ('abcd efgh ...'); store the canonical base32 form."""
    canonical = "".join(seed.reveal().split()).upper().rstrip("=")
    if len(canonical) < MIN_SEED_LENGTH:
        raise InvalidOperation(f"the TOTP seed is too short (at least {MIN_SEED_LENGTH} base32 characters)")
    try:
        _totp(canonical)
    except (binascii.Error, ValueError):
        raise InvalidOperation("the TOTP seed is not valid base32 (letters A-Z and digits 2-7)") from None
    return SecretValue(canonical)


def store_credentials(
    session: Session, store: SecretStore, actor: Actor, account_id: int, username: str | None,
    password: SecretValue | None, totp_seed: SecretValue | None,
) -> LegacyCredential:
    """Write the password and/or seed (check-and-set); what is not given is kept. A new password is a rotation."""
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation(f"account {account.handle} is retired")
    credential = session.scalar(select(LegacyCredential).where(LegacyCredential.account_id == account_id))
    username = username.strip() if username else None
    if credential is None and not username:
        raise InvalidOperation("the first time, give the account's username (its login name)")
    if credential is None and password is None and totp_seed is None:
        raise InvalidOperation("give a password, a TOTP seed or both")
    if totp_seed is not None:
        totp_seed = normalise_totp_seed(totp_seed)
    before = _credential_summary(credential) if credential else None
    path = account_path(account_id, STORE_KIND)
    written: dict[str, SecretValue] | None = None
    if password is not None or totp_seed is not None:
        written = dict(_read_secrets(store, credential).data) if credential else {}
        if password is not None:
            written["password"] = password
        if totp_seed is not None:
            written["totp_seed"] = totp_seed
        version = _write_secrets(store, path, written)
    if credential is None:
        credential = LegacyCredential(account_id=account_id, store_path=path)
        session.add(credential)
    if written is not None:
        credential.store_path, credential.store_version = path, version
        credential.has_password, credential.has_totp = "password" in written, "totp_seed" in written
    if username:
        credential.username = username
    if password is not None:
        credential.rotate_now, credential.rotate_reason, credential.last_rotated_at = False, None, utcnow()
    credential.updated_by = actor.id
    session.flush()
    record(session, actor, "credentials:credential:store", "account", account_id, before=before,
           after=_credential_summary(credential), password_changed=password is not None, totp_seed_changed=totp_seed is not None)
    return credential


def _read_secrets(store: SecretStore, credential: LegacyCredential):
    # the version the database knows, not the newest: a write whose transaction rolled back must not leak in
    try:
        return _guard_store(store.read, credential.store_path, credential.store_version)
    except SecretNotFound:
        raise Conflict(
            f"the secret store no longer holds version {credential.store_version} of this account's credentials; store them again"
        ) from None


def _write_secrets(store: SecretStore, path: str, data: dict[str, SecretValue]) -> int:
    try:
        current = _guard_store(store.read, path).version
    except SecretNotFound:
        current = 0
    try:
        return _guard_store(store.write, path, data, cas=current)
    except CasConflict:
        raise Conflict("the credentials were changed at the same moment by someone else; nothing was stored, try again") from None


def _credential_summary(credential: LegacyCredential) -> dict[str, Any]:
    return {
        "username": credential.username, "has_password": credential.has_password, "has_totp": credential.has_totp,
        "store_version": credential.store_version, "rotate_now": credential.rotate_now,
    }


# --- TOTP -------------------------------------------------------------------------------------
def totp_code(session: Session, store: SecretStore, actor: Actor, person_id: int | None, account_id: int) -> dict[str, Any]:
    """The current code, computed here so the seed never leaves govern; anyone with a grant on the account may ask."""
    credential = get_credential(session, account_id)
    grant = _grant_or_refuse(session, person_id, credential.account, Capability.USE_TOTP, "generating a TOTP code")
    if not credential.has_totp:
        raise InvalidOperation(f"{credential.account.handle} has no TOTP seed stored")
    totp = _totp(_read_secrets(store, credential).data["totp_seed"].reveal())
    now = time.time()
    code, valid_for = totp.generate(now).decode(), int(TOTP_STEP - now % TOTP_STEP)
    record(session, actor, "credentials:totp:generate", "account", account_id, person_id=grant.person_id, grant_id=grant.id)
    return {"code": code, "valid_for_seconds": valid_for}


# --- break-glass checkouts --------------------------------------------------------------------
def request_checkout(
    session: Session, actor: Actor, person_id: int | None, account_id: int, reason: str, window_minutes: int,
) -> Checkout:
    credential = get_credential(session, account_id)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidOperation(f"say why the password is needed (at least {MIN_REASON_LENGTH} characters)")
    if not MIN_WINDOW_MINUTES <= window_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidOperation(f"a checkout lasts {MIN_WINDOW_MINUTES} to {MAX_WINDOW_MINUTES} minutes")
    grant = _grant_or_refuse(session, person_id, credential.account, Capability.CHECKOUT_PASSWORD, "checking out the password")
    if not credential.has_password:
        raise InvalidOperation(f"{credential.account.handle} has no password stored")
    now = utcnow()
    _close_expired_for_account(session, actor, account_id, now)
    already = session.scalar(select(Checkout.id).where(
        Checkout.account_id == account_id, Checkout.requester_person_id == grant.person_id, Checkout.ended_at.is_(None),
    ))
    if already is not None:
        raise Conflict(f"checkout {already} for this account is still open; check it in or have it denied first")
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
        raise AccessDenied(f"{doing} needs the governance or admin role; yours is {role.value}")
    person = _person_or_refuse(session, person_id, doing)
    if person.id == checkout.requester_person_id:
        raise AccessDenied(f"{doing} needs a second person; you cannot approve or deny your own checkout"
                           " (to withdraw your own request, check it in)")
    return person


def approve_checkout(session: Session, actor: Actor, person_id: int | None, role: Role, checkout_id: int) -> Checkout:
    """A second person opens the window; it starts now and lasts the requested minutes."""
    checkout = get_checkout(session, checkout_id)
    approver = _approver_or_refuse(session, checkout, person_id, role, "approving a checkout")
    if checkout.ended_reason is not None:
        raise Conflict(f"checkout {checkout.id} has ended ({checkout.ended_reason.value})")
    if checkout.approved_at is not None:
        raise Conflict(f"checkout {checkout.id} is already approved")
    if current_grant(session, checkout.requester_person_id, checkout.account_id, Capability.CHECKOUT_PASSWORD) is None:
        raise InvalidOperation(f"the requester no longer holds {grant_needed(Capability.CHECKOUT_PASSWORD)} on the account; "
                               "deny the checkout")
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
        _end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    if checkout.ended_reason is not None:
        raise CheckoutNotActive(f"checkout {checkout.id} has already ended ({checkout.ended_reason.value})")
    _end_checkout(session, actor, checkout, CheckoutEnd.DENIED, now, note=reason.strip())
    return checkout


def reveal_password(
    session: Session, store: SecretStore, actor: Actor, person_id: int | None, checkout_id: int,
) -> tuple[SecretValue, datetime]:
    """The password, to the requester only and only inside the approved window; every reveal is audited."""
    checkout = get_checkout(session, checkout_id)
    if person_id is None or person_id != checkout.requester_person_id:
        record(session, actor, "credentials:password:reveal_refused", "account", checkout.account_id,
               checkout_id=checkout.id, person_id=person_id)
        raise RevealRefused(f"only the person who requested checkout {checkout.id} may reveal its password")
    now = utcnow()
    state = checkout.state_at(now)
    if state == "pending":
        raise CheckoutNotActive(f"checkout {checkout.id} is waiting for a second person to approve it")
    if state == CheckoutEnd.EXPIRED.value and checkout.ended_reason is None:
        _end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    if state != "active":
        raise CheckoutNotActive(f"checkout {checkout.id} has ended ({state}); request a new one")
    credential = checkout.credential
    _grant_or_refuse(session, person_id, credential.account, Capability.CHECKOUT_PASSWORD, "revealing the password")
    if not credential.has_password:
        raise InvalidOperation(f"{credential.account.handle} has no password stored")
    password = _read_secrets(store, credential).data["password"]
    checkout.revealed_at = now
    session.flush()
    record(session, actor, "credentials:password:reveal", "account", checkout.account_id, checkout_id=checkout.id,
           person_id=person_id, store_version=credential.store_version, ends_at=checkout.ends_at)
    return password, checkout.ends_at


def check_in(session: Session, actor: Actor, person_id: int | None, checkout_id: int) -> Checkout:
    """The requester is done: an open window closes (a pending request is cancelled)."""
    checkout = get_checkout(session, checkout_id)
    if person_id is None or person_id != checkout.requester_person_id:
        raise AccessDenied(f"only the person who requested checkout {checkout.id} may check it in")
    now = utcnow()
    state = checkout.state_at(now)
    if checkout.ended_reason is not None:
        raise Conflict(f"checkout {checkout.id} has already ended ({state})")
    if state == CheckoutEnd.EXPIRED.value:
        _end_checkout(session, _expiry_actor(actor), checkout, CheckoutEnd.EXPIRED, now)
    else:
        _end_checkout(session, actor, checkout, CheckoutEnd.CANCELLED if state == "pending" else CheckoutEnd.CHECKED_IN, now)
    return checkout


def _end_checkout(
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
    rotate = _password_was_seen_since_rotation(checkout, credential)
    if rotate:
        credential.rotate_now = True
        credential.rotate_reason = (
            f"the password was revealed under checkout {checkout.id} (ended: {how.value}); change it at the network, then store the new one"
        )
        session.flush()
    record(session, actor, "credentials:checkout:end", "account", checkout.account_id, checkout_id=checkout.id,
           ended_reason=how.value, note=note, revealed=checkout.revealed_at is not None, rotate_now=rotate)
    return True


def _password_was_seen_since_rotation(checkout: Checkout, credential: LegacyCredential) -> bool:
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
    return sum(_end_checkout(session, actor, checkout, CheckoutEnd.EXPIRED, now) for checkout in list(expired))


# --- reactions to other domains ---------------------------------------------------------------
def _end_open_checkouts(session: Session, actor: Actor, account_id: int, note: str) -> None:
    now = utcnow()
    open_checkouts = session.scalars(select(Checkout).where(Checkout.account_id == account_id, Checkout.ended_at.is_(None)))
    for checkout in list(open_checkouts):
        state = checkout.state_at(now)
        how = CheckoutEnd.EXPIRED if state == CheckoutEnd.EXPIRED.value else CheckoutEnd.CANCELLED
        _end_checkout(session, actor, checkout, how, now, note=note)


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
        _end_checkout(session, actor, checkout, how, now, note=note)
    seen = session.scalars(select(Checkout).where(Checkout.requester_person_id == person_id, Checkout.revealed_at.is_not(None)))
    flagged = set()
    for checkout in seen:
        credential = checkout.credential
        if credential.rotate_now or not _password_was_seen_since_rotation(checkout, credential):
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
