"""The stored legacy login: its password and TOTP seed in the secret store, codes computed here, who may use it."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.adapters.secret_store import CasConflict, SecretNotFound, SecretStore, account_path
from govern.audit.service import record
from govern.broker.context import guard_store
from govern.credentials.models import LegacyCredential
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.grants.capabilities import AccessDenied, Capability, current_grant, grant_needed
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.secret_value import SecretValue

STORE_KIND = "legacy"
MIN_SEED_LENGTH = 16  # 80 bits, the shortest seed networks hand out
TOTP_STEP = 30


def _guard_store(call, *args, **kwargs):
    return guard_store(call, *args, passthrough=(SecretNotFound, CasConflict), **kwargs)


# --- lookups ----------------------------------------------------------------------------------
def get_credential(session: Session, account_id: int) -> LegacyCredential:
    credential = session.scalar(select(LegacyCredential).where(LegacyCredential.account_id == account_id))
    if credential is None:
        if session.get(SocialAccount, account_id) is None:
            raise NotFound("account %(account_id)s does not exist", account_id=account_id)
        raise NotFound("account %(account_id)s has no legacy credentials", account_id=account_id)
    return credential


def person_or_refuse(session: Session, person_id: int | None, doing: str) -> Person:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        raise AccessDenied("%(doing)s is done by a person; this caller is not linked to one (link the token with --person-email)", doing=doing)
    if person.status != PersonStatus.ACTIVE:
        raise AccessDenied("%(display_name)s is no longer an active person", display_name=person.display_name)
    return person


def grant_or_refuse(session: Session, person_id: int | None, account: SocialAccount, capability: Capability,
                     doing: str) -> Grant:
    person = person_or_refuse(session, person_id, doing)
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation("account %(handle)s is retired", handle=account.handle)
    grant = current_grant(session, person.id, account.id, capability)
    if grant is None:
        raise AccessDenied("%(person)s has no grant on %(account)s that allows %(doing)s (needs %(capability)s)",
                           person=person.display_name, account=account.handle, doing=doing,
                           capability=grant_needed(capability))
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
        raise InvalidOperation("the TOTP seed is too short (at least %(MIN_SEED_LENGTH)s base32 characters)", MIN_SEED_LENGTH=MIN_SEED_LENGTH)
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
        raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation("account %(handle)s is retired", handle=account.handle)
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
        written = dict(read_secrets(store, credential).data) if credential else {}
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


def read_secrets(store: SecretStore, credential: LegacyCredential):
    # the version the database knows, not the newest: a write whose transaction rolled back must not leak in
    try:
        return _guard_store(store.read, credential.store_path, credential.store_version)
    except SecretNotFound:
        raise Conflict(
            "the secret store no longer holds version %(store_version)s of this account's credentials; store them again", store_version=credential.store_version
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
    grant = grant_or_refuse(session, person_id, credential.account, Capability.USE_TOTP, "generating a TOTP code")
    if not credential.has_totp:
        raise InvalidOperation("%(handle)s has no TOTP seed stored", handle=credential.account.handle)
    totp = _totp(read_secrets(store, credential).data["totp_seed"].reveal())
    now = time.time()
    code, valid_for = totp.generate(now).decode(), int(TOTP_STEP - now % TOTP_STEP)
    record(session, actor, "credentials:totp:generate", "account", account_id, person_id=grant.person_id, grant_id=grant.id)
    return {"code": code, "valid_for_seconds": valid_for}
