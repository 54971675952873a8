"""How a report reads in a PDF: translated names for its figures and codes, numbers and percentages for the locale.

The CSV and the JSON keep the raw codes and ratios (machines read them); only the PDF, which people read, uses these."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from govern.locales import RTL_LOCALES
from govern.reports.document import Cell, Text

Translate = Callable[..., str]


def N_(message: str) -> str:
    """Mark a message for extraction only; it is translated where the PDF shows it."""
    return message


# Every figure of every report's summary (the builders' keys), in the order of docs/reports.md.
FIGURES = {
    "effective_grants": N_("Effective grants"),
    "people_with_access": N_("People with access"),
    "accounts_with_access": N_("Accounts with access"),
    "grants_never_reviewed": N_("Grants never reviewed"),
    "people_with_access_not_in_directory": N_("People with access but no longer in the directory"),
    "leavers": N_("Leavers"),
    "leavers_who_held_access": N_("Leavers who held access"),
    "accesses_removed": N_("Accesses removed"),
    "accesses_not_yet_removed": N_("Accesses not yet removed"),
    "sla_target_hours": N_("SLA target (hours)"),
    "sla_breaches": N_("SLA breaches"),
    "median_time_to_revoke_hours": N_("Median time to revoke (hours)"),
    "max_time_to_revoke_hours": N_("Longest time to revoke (hours)"),
    "accounts": N_("Accounts"),
    "active_accounts": N_("Active accounts"),
    "accounts_without_active_owner": N_("Accounts without an active owner"),
    "connected_accounts": N_("Connected accounts"),
    "connections_needing_attention": N_("Connections needing attention"),
    "open_violations": N_("Open violations"),
    "high_risk_accounts": N_("High-risk accounts"),
    "violations_detected": N_("Violations detected"),
    "violations_open": N_("Violations still open"),
    "violations_resolved": N_("Violations resolved"),
    "violations_false_positive": N_("Violations marked false positive"),
    "false_positive_rate": N_("False-positive rate"),
    "posts_blocked": N_("Posts blocked"),
    "approvals_requested": N_("Approvals requested"),
    "approvals_approved": N_("Approvals granted"),
    "approvals_rejected": N_("Approvals rejected"),
    "approvals_pending": N_("Approvals pending"),
    "posts_published": N_("Posts published"),
    "checkouts_requested": N_("Password checkouts requested"),
    "checkouts_approved": N_("Password checkouts approved"),
    "checkouts_denied": N_("Password checkouts denied"),
    "passwords_revealed": N_("Passwords revealed"),
    "handoffs_issued": N_("Hand-offs issued"),
    "handoffs_unwrapped": N_("Hand-offs unwrapped"),
    "handoff_unwraps_refused": N_("Hand-off unwraps refused"),
    "rotations_due": N_("Password rotations due"),
    "rotations_done": N_("Password rotations done"),
    "campaigns": N_("Campaigns"),
    "items": N_("Items to review"),
    "certified": N_("Kept (certified)"),
    "revoked": N_("Removed by the reviewer"),
    "revoked_at_deadline": N_("Removed at the deadline"),
    "escalated": N_("Escalated to governance"),
    "undecided": N_("Not decided yet"),
    "completion": N_("Completion"),
}

# Figures and columns that are ratios (0.2222): shown as percentages (22%).
RATIOS = frozenset({"false_positive_rate", "completion"})

YES_NO = {"yes": N_("Yes"), "no": N_("No")}
NETWORK_NAMES = {
    "facebook": "Facebook", "instagram": "Instagram", "x": "X", "linkedin": "LinkedIn", "tiktok": "TikTok",
    "youtube": "YouTube", "threads": "Threads", "mastodon": "Mastodon",
}
SCOPES = {"all": N_("Every account"), "business_unit": N_("Business unit: %(value)s"), "network": N_("Network: %(value)s")}

_PERSON_STATUS = {"active": N_("Current employee"), "leaver": N_("Leaver")}
_ROLES = {"admin": N_("Account admin"), "publisher": N_("Publisher"), "moderator": N_("Moderator"),
          "analyst": N_("Analyst"), "offboarding task": N_("Offboarding task")}
_DECISIONS = {"certified": N_("Kept (certified)"), "revoked": N_("Removed by the reviewer"),
              "revoked_at_deadline": N_("Removed at the deadline"), "escalated": N_("Escalated to governance"),
              "undecided": N_("Not decided yet")}
_POLICY_ACTIONS = {"allow": N_("Allowed"), "warn": N_("Warned"), "require_approval": N_("Approval required"),
                   "block": N_("Blocked")}
_STATUSES = {
    # accounts
    "active": N_("Active"), "suspended": N_("Suspended"), "retired": N_("Retired"), "unmanaged": N_("Unmanaged"),
    # violations
    "open": N_("Open"), "assigned": N_("Assigned"), "resolved": N_("Resolved"), "false_positive": N_("False positive"),
    # review campaigns
    "opening": N_("Opening"), "held": N_("Held for a decision"), "closed": N_("Closed"),
}
_STATES = {
    # break-glass checkouts (Checkout.state_at)
    "pending": N_("Waiting for approval"), "active": N_("Open"), "expired": N_("Ran out"), "checked_in": N_("Checked in"),
    "cancelled": N_("Cancelled"), "denied": N_("Denied"),
    # wrapped hand-offs (builders.credentials.handoff_state)
    "revoked": N_("Revoked"), "unwrapped": N_("Unwrapped"), "unwrap refused": N_("Unwrap refused"),
    "expired unused": N_("Expired unused"), "waiting": N_("Waiting"),
}

# Codes per column key; "section.column" when one section's column holds other codes than the same key elsewhere.
CODES: dict[str, Mapping[str, str]] = {
    "owner_status": _PERSON_STATUS,
    "person_status": _PERSON_STATUS,
    "status": _STATUSES,
    "connection_health": {"healthy": N_("Healthy"), "expiring": N_("Expiring"), "needs_reconnect": N_("Needs reconnecting"),
                          "revoked": N_("Revoked"), "not connected": N_("Not connected")},
    "connector_risk": {"none": N_("None"), "connector left the company": N_("The person who connected it has left"),
                       "connected through a personal account": N_("Connected through a personal account")},
    "risk_band": {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")},
    "role": _ROLES,
    "decision": {**_DECISIONS, **_POLICY_ACTIONS},
    "state": _STATES,
    "kind": {"grant": N_("Grant"), "network role (by hand)": N_("Network role (removed by hand)"),
             "post": N_("Post"), "comment": N_("Comment")},
    "source": {"openldap": N_("OpenLDAP directory"), "ad": N_("Active Directory"), "scim": N_("SCIM provisioning"),
               "manual": N_("Entered by hand"), "demo": N_("Demo data"), "no departure record": N_("No departure record")},
    "category": {"privacy": N_("Privacy"), "confidentiality": N_("Confidentiality"), "copyright": N_("Copyright"),
                 "brand": N_("Brand"), "(none)": N_("(none)")},
    "leavers.time_to_revoke": {"under 1 h": N_("Under 1 hour"), "1 to 4 h": N_("1 to 4 hours"),
                               "4 to 24 h": N_("4 to 24 hours"), "over 24 h": N_("Over 24 hours"),
                               "not yet revoked": N_("Not yet revoked")},
}
for _column in ("rotation_due", "sla_breached", "still_has_access", "rotated_in_period"):
    CODES[_column] = YES_NO


_PUNCTUATION = re.compile(r"(?<=[_./@:\\-])(?=\S)")
LONG_WORD = 14  # characters: a longer run without a space gets places where it may wrap


def breakable(text: str) -> Markup:
    """`text`, escaped, with <wbr> in its long runs (after _ . / @ : - and else every 10 characters): a handle or a
    hash wraps inside its cell instead of widening its column past the page, while words keep their width."""
    pieces: list[str] = []
    for token in re.split(r"(\s+)", text):
        if len(token) <= LONG_WORD:
            pieces.append(str(escape(token)))
            continue
        parts: list[str] = []
        for part in _PUNCTUATION.split(token):
            step = 10 if len(part) > LONG_WORD else max(len(part), 1)
            parts += [part[n:n + step] for n in range(0, len(part), step)]
        pieces.append("<wbr>".join(str(escape(part)) for part in parts))
    return Markup("".join(pieces))


def text_direction(text: str) -> str:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


# Columns holding an audit actor id ("console_user:7", "system:directory-sync", "api_client:ci-bot").
ACTOR_COLUMNS = frozenset({"granted_by", "opened_by", "decided_by", "closed_by", "requested_by", "approved_by",
                           "issued_by", "connector"})
_ACTOR_ID = re.compile(r"^[a-z_]+:\S+$")


def _is_id(column: str) -> bool:
    return column.endswith("_id")


_RTL_LETTER = re.compile("[\u0590-\u08ff]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9_][!-~]*[A-Za-z0-9_*]")


def isolate_latin(text: str) -> str:
    """Latin identifiers and ISO times in a right-to-left sentence, each in a left-to-right isolate (U+2066..U+2069):
    "broker:action:*" and "2026-12-06T04:02:19+00:00" keep their order among Arabic or Hebrew words."""
    return _LATIN_RUN.sub(lambda run: f"\u2066{run.group(0)}\u200e\u2069" if re.search("[A-Za-z]", run.group(0)) else run.group(0), text)


class Presenter:
    """Turns a report's figures and cells into what a reader of `locale` sees."""

    def __init__(self, locale: str, translate: Translate, network_names: Mapping[str, str] | None = None,
                 actor_names: Mapping[str, str] | None = None) -> None:
        self.locale, self._ = locale, translate
        self.networks = {**NETWORK_NAMES, **(network_names or {})}
        self.actors = dict(actor_names or {})
        self.language_names = Locale.parse(locale).languages
        self.right_to_left = locale in RTL_LOCALES

    def text(self, message: str) -> str:
        """A builder's sentence (a title, a note, an alert) in the reader's language."""
        if isinstance(message, Text):
            values = {key: self.number(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
                      for key, value in message.values.items()}
            shown = self._(message.msgid, **values) if values else self._(message.msgid)
        else:
            shown = self._(message) if message else message
        return isolate_latin(shown) if self.right_to_left and _RTL_LETTER.search(shown) else shown

    def figure_label(self, key: str) -> str:
        return self._(FIGURES[key]) if key in FIGURES else key.replace("_", " ").capitalize()

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale)

    def moment(self, value: datetime) -> str:
        return (value.astimezone(timezone.utc) if value.tzinfo else value).strftime("%Y-%m-%d %H:%M")

    def actor(self, value: str) -> str:
        """An audit actor id as a name: a console user's display name, else the name after the kind (as
        auth.service.actor_name does); a person's name (a connector's) is left as it is."""
        if not _ACTOR_ID.match(value):
            return value
        return self.actors.get(value) or value.partition(":")[2]

    def figure(self, key: str, value: Any) -> str:
        return self.cell(key, value)

    def code(self, column: str, value: str, section: str = "") -> str:
        if column == "network" or column.endswith(".network"):
            return self.networks.get(value, value)
        if column == "scope":
            return self.scope(value)
        if column in ACTOR_COLUMNS:
            return self.actor(value)
        if column == "language":
            return " + ".join(self.language_names.get(part, part) for part in value.split("+"))
        codes = CODES.get(f"{section}.{column}") or CODES.get(column) or {}
        message = codes.get(value)
        if message:
            return self._(message)
        if column == "account" and ":" in value:  # "network:handle" (the policy report's per-account table)
            network, handle = value.split(":", 1)
            if network in self.networks:
                return f"{self.networks[network]}: {handle}"
        return value

    def scope(self, value: str) -> str:
        kind, _sep, rest = value.partition(":")
        message = SCOPES.get(kind)
        if message is None:
            return value
        if kind == "network":
            rest = self.networks.get(rest, rest)
        return self._(message, value=rest) if "%(value)s" in message else self._(message)

    def cell(self, column: str, value: Cell, section: str = "") -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return self._(YES_NO["yes" if value else "no"])
        if isinstance(value, datetime):
            return self.moment(value)
        if isinstance(value, int | float | Decimal):
            if column in RATIOS:
                return self.percent(value)
            if _is_id(column):
                return str(value)
            return self.number(value)
        return self.code(column, str(value), section)

    def show(self, column: str, value: Cell, section: str = "") -> Markup:
        """A cell as the PDF writes it: in words, with places to wrap."""
        return breakable(self.cell(column, value, section))

    def direction(self, column: str, value: Cell, section: str = "") -> str:
        """The direction of a cell's text, from its first strong letter (WeasyPrint does not apply dir="auto"):
        a Latin handle reads left to right in an Arabic table, an Arabic name right to left in an English one."""
        if not isinstance(value, str) or not value:
            return "ltr"  # numbers, times, ids
        return text_direction(self.cell(column, value, section))

    def chart_bar(self, codes: str, label: str) -> str:
        return self.code(codes, label) if codes else label


def every_message() -> set[str]:
    """Every msgid of the tables above (a test checks each has an Arabic and a Hebrew translation)."""
    messages = set(FIGURES.values()) | set(YES_NO.values()) | {m for m in SCOPES.values()}
    for codes in CODES.values():
        messages |= set(codes.values())
    return messages
