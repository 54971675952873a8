"""Readable names for stored values (statuses, roles, audit actions): marked for extraction, translated when shown."""

from __future__ import annotations

import enum

from flask_babel import gettext

from govern.accounts.models import AccountStatus
from govern.auth.roles import Role
from govern.grants.models import GrantRole
from govern.people.models import PersonSource, PersonStatus


def N_(message: str) -> str:
    """Mark a message for extraction only; it is translated with gettext where it is shown."""
    return message


# Keyed by enum class, because str-valued members of different enums compare equal ("active" == "active").
ENUM_LABELS: dict[type[enum.Enum], dict[enum.Enum, str]] = {
    AccountStatus: {
        AccountStatus.ACTIVE: N_("Active"),
        AccountStatus.SUSPENDED: N_("Suspended"),
        AccountStatus.RETIRED: N_("Retired"),
        AccountStatus.UNMANAGED: N_("Unmanaged"),
    },
    PersonStatus: {
        PersonStatus.ACTIVE: N_("Current employee"),
        PersonStatus.LEAVER: N_("Leaver"),
    },
    PersonSource: {
        PersonSource.OPENLDAP: N_("OpenLDAP directory"),
        PersonSource.ACTIVE_DIRECTORY: N_("Active Directory"),
        PersonSource.SCIM: N_("SCIM provisioning"),
        PersonSource.MANUAL: N_("Entered by hand"),
        PersonSource.DEMO: N_("Demo data"),
    },
    GrantRole: {
        GrantRole.ADMIN: N_("Account admin"),
        GrantRole.PUBLISHER: N_("Publisher"),
        GrantRole.MODERATOR: N_("Moderator"),
        GrantRole.ANALYST: N_("Analyst"),
    },
    Role: {
        Role.ADMIN: N_("Administrator"),
        Role.GOVERNANCE: N_("Governance"),
        Role.IT: N_("IT"),
        Role.AUDITOR: N_("Auditor"),
        Role.SCIM: N_("Identity provider (SCIM)"),
    },
}

GRANT_STATES = {
    "active": N_("In force"),
    "scheduled": N_("Scheduled"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
}

AUDIT_ACTIONS = {
    "accounts:account:create": N_("Account added to the inventory"),
    "accounts:account:update": N_("Account details changed"),
    "accounts:account:retire": N_("Account retired"),
    "broker:connection:connect": N_("Account connected"),
    "broker:connection:reconnect": N_("Account reconnected"),
    "broker:connection:refresh": N_("Access token refreshed"),
    "broker:connection:needs_reconnect": N_("Connection needs to be renewed"),
    "broker:connection:revoke": N_("Connection revoked"),
    "broker:handoff:issue": N_("Wrapped hand-off issued"),
    "broker:handoff:unwrap": N_("Wrapped hand-off unwrapped"),
    "broker:handoff:unwrap_refused": N_("ALERT: a used or expired hand-off was presented"),
    "broker:handoff:revoke": N_("Wrapped hand-off revoked"),
    "broker:account:compromise": N_("Account marked compromised"),
    "credentials:credential:store": N_("Legacy login stored or changed"),
    "credentials:credential:rotate_due": N_("Password must be changed (rotate now)"),
    "credentials:totp:generate": N_("2FA code generated"),
    "credentials:checkout:request": N_("Password checkout requested"),
    "credentials:checkout:approve": N_("Password checkout approved"),
    "credentials:checkout:end": N_("Password checkout ended"),
    "credentials:password:reveal": N_("Password shown to the requester"),
    "credentials:password:reveal_refused": N_("ALERT: someone other than the requester asked to see the password"),
}

CONNECTION_HEALTH = {
    "healthy": N_("Healthy"),
    "expiring": N_("Expiring"),
    "needs_reconnect": N_("Needs reconnecting"),
    "revoked": N_("Revoked"),
}


# A break-glass checkout's state (Checkout.state_at), plus "ended_early": denied after its window had opened.
CHECKOUT_STATES = {
    "pending": N_("Waiting for approval"),
    "active": N_("Open"),
    "expired": N_("Ran out"),
    "checked_in": N_("Checked in"),
    "cancelled": N_("Cancelled"),
    "denied": N_("Denied"),
    "ended_early": N_("Ended early"),
}


def label(value: enum.Enum) -> str:
    """The translated name of an enum member; its raw value if none is defined."""
    message = ENUM_LABELS.get(type(value), {}).get(value)
    return gettext(message) if message else str(getattr(value, "value", value))


def grant_state_label(state: str) -> str:
    message = GRANT_STATES.get(state)
    return gettext(message) if message else state


def audit_action_label(action: str) -> str:
    if action in AUDIT_ACTIONS:
        return gettext(AUDIT_ACTIONS[action])
    if action.startswith("broker:action:"):
        return gettext("Action through the broker: %(action)s", action=action.removeprefix("broker:action:"))
    return action


def connection_health_label(health: str) -> str:
    message = CONNECTION_HEALTH.get(health)
    return gettext(message) if message else health


def checkout_state_label(state: str) -> str:
    message = CHECKOUT_STATES.get(state)
    return gettext(message) if message else state
