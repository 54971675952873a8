"""Legacy credential operations: store, TOTP codes, break-glass checkouts of the password. Flushes only.
The public names of the modules below, in one place."""

from __future__ import annotations

from govern.credentials.service.checkouts import (
    APPROVER_ROLES,
    CheckoutNotActive,
    RevealRefused,
    active_checkout,
    approve_checkout,
    check_in,
    close_expired,
    close_expired_on_read,
    deny_checkout,
    get_checkout,
    list_checkouts,
    request_checkout,
    reveal_password,
)
from govern.credentials.service.logins import (
    MIN_SEED_LENGTH,
    STORE_KIND,
    TOTP_STEP,
    get_credential,
    normalise_totp_seed,
    store_credentials,
    totp_code,
)
from govern.credentials.service.receivers import connect_receivers

__all__ = [
    "APPROVER_ROLES", "CheckoutNotActive", "MIN_SEED_LENGTH", "RevealRefused", "STORE_KIND", "TOTP_STEP",
    "active_checkout", "approve_checkout", "check_in", "close_expired", "close_expired_on_read", "connect_receivers",
    "deny_checkout", "get_checkout", "get_credential", "list_checkouts", "normalise_totp_seed", "request_checkout",
    "reveal_password", "store_credentials", "totp_code",
]
