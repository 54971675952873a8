"""Readable names for stored values (statuses, roles, audit actions): marked for extraction, translated when shown."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from babel.units import format_unit
from flask_babel import get_locale, gettext

from govern.accounts.models import AccountStatus
from govern.auth.roles import Role
from govern.directory.models import SyncMode, SyncStatus
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
        Role.REVIEWER: N_("Access reviewer"),
    },
    SyncStatus: {
        SyncStatus.RUNNING: N_("Running"),
        SyncStatus.SUCCEEDED: N_("Succeeded"),
        SyncStatus.FAILED: N_("Failed"),
        SyncStatus.HELD: N_("Held for a decision"),
        SyncStatus.APPROVED: N_("Approved"),
        SyncStatus.DISMISSED: N_("Dismissed"),
        SyncStatus.DRY_RUN: N_("Dry run"),
    },
    SyncMode: {
        SyncMode.FULL: N_("Full reconciliation"),
        SyncMode.INCREMENTAL: N_("Incremental"),
        SyncMode.SCIM: N_("SCIM push"),
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


# Why the directory (or the identity provider over SCIM) says someone left: govern/adapters/ldap/entries.py,
# govern/directory/service.py and govern/scim/service.py write these into a departure's signals.
LEAVER_SIGNALS = {
    "account_locked": N_("Account locked"),
    "employment_terminated": N_("Employment terminated"),
    "end_date_passed": N_("Leaving date passed"),
    "left_entitlement_group": N_("Left the entitlement group"),
    "account_disabled": N_("Account disabled"),
    "account_expired": N_("Account expired"),
    "not_in_directory": N_("No longer in the directory"),
    "removed_from_directory": N_("Removed from the directory"),
    "inactive": N_("Marked inactive"),
    "scim_deactivated": N_("Deactivated by the identity provider"),
    "scim_deleted": N_("Deleted by the identity provider"),
    "scim_removed_from_entitlement_group": N_("Removed from the entitlement group by the identity provider"),
    "scim_created_inactive": N_("Created as inactive by the identity provider"),
}

# A departure's offboarding checklist, in the order it is shown: what each domain's person_departed receiver did.
DEPARTURE_STEPS = {
    "grants_revoked": N_("Grants revoked"),
    "api_tokens_revoked": N_("API tokens revoked"),
    "console_users_disabled": N_("Console sign-ins disabled"),
    "console_sessions_ended": N_("Console sessions ended"),
    "handoffs_revoked": N_("Wrapped hand-offs revoked"),
    "connections_flagged_for_reconnect": N_("Connections flagged for reconnecting"),
    "checkouts_ended": N_("Password checkouts ended"),
    "passwords_to_rotate": N_("Passwords to rotate"),
    "accounts_moved_to_manager": N_("Accounts moved to the manager"),
    "accounts_orphaned": N_("Accounts left without an owner"),
    "manual_network_removals": N_("Removals to do at the networks"),
}

# What a sync run counted (SyncPlan.counts): people read, and of them who joined, changed, came back or left.
SYNC_COUNTS = {
    "seen": N_("Read"),
    "created": N_("Joined"),
    "updated": N_("Changed"),
    "returned": N_("Came back"),
    "departed": N_("Left"),
}


def leaver_signal_label(signal: str) -> str:
    message = LEAVER_SIGNALS.get(signal)
    return gettext(message) if message else signal


def departure_step_label(step: str) -> str:
    message = DEPARTURE_STEPS.get(step)
    return gettext(message) if message else step


def departure_steps(steps: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """A departure's steps as (step, count): the known ones in checklist order, then any others."""
    steps = steps or {}
    known = [(step, steps[step]) for step in DEPARTURE_STEPS if step in steps]
    return known + [(step, count) for step, count in sorted(steps.items()) if step not in DEPARTURE_STEPS]


def sync_count_label(name: str) -> str:
    message = SYNC_COUNTS.get(name)
    return gettext(message) if message else name


def directory_source_label(source: str) -> str:
    """A sync run's or departure's source ("openldap", "ad", "scim") by its person-source name."""
    try:
        return label(PersonSource(source))
    except ValueError:
        return source


def _units(amount: float, unit: str, pattern: str = "#,##0") -> str:
    return format_unit(amount, f"duration-{unit}", length="short", format=pattern, locale=get_locale())


def readable_duration(seconds: float | None) -> str:
    """A duration in the reader's language, to two units at most: "0.4 sec", "12 sec", "3 min 5 sec", "2 hr 10 min"."""
    if seconds is None:
        return "—"
    if seconds < 0.05:
        return gettext("under %(duration)s", duration=_units(0.1, "second", "0.#"))
    if seconds < 10:
        return _units(round(seconds, 1), "second", "#,##0.#")
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")]
    first = next(index for index, (amount, _unit) in enumerate(parts) if amount)
    shown = [_units(amount, unit) for amount, unit in parts[first:first + 2] if amount]
    return " ".join(shown)
