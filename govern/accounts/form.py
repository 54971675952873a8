"""The console's account form (add and edit): the typed text turned into the service's fields, checked with the API's
schemas, and each problem said in the reader's language next to its field."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, SocialAccount
from govern.accounts.schemas import AccountCreateSchema, AccountUpdateSchema
from govern.accounts.service import snapshot
from govern.people.models import Person, PersonStatus

FIELDS = ("network", "handle", "display_name", "business_unit", "owner_id", "status", "tags", "notes")  # as on the page
TEXT_FIELDS = (*FIELDS, "owner_q", "seen")
EDITABLE_STATUSES = (AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.UNMANAGED)
CLEARABLE = ("business_unit", "owner_id", "notes")
TAG_SEPARATORS = re.compile(r"[,،\n]")  # a comma, the Arabic comma, or one tag a line


def problem(name: str) -> str:
    """What is wrong with a field and how to fix it, in the reader's language."""
    return {
        "network": _("Network: choose a network from the list."),
        "handle": _("Handle: write the account's handle on the network, at most 255 characters."),
        "display_name": _("Display name: write the name the account shows, at most 255 characters."),
        "business_unit": _("Business unit: use at most 255 characters."),
        "owner_id": _("Owner: choose a current employee from the list, or no owner."),
        "status": _("Status: choose active, suspended or unmanaged. To retire the account, use Retire on its page."),
        "tags": _("Tags: separate tags with commas; at most 50 tags of at most 64 characters each."),
        "notes": _("Notes: use at most 10,000 characters."),
    }.get(name, _("This value is not valid."))


def handle_taken(network_name: str) -> str:
    return _("Handle: %(network)s already has an account with this handle in the inventory.", network=network_name)


def blank(account: SocialAccount | None = None) -> dict[str, str]:
    """The form's text for a new account, or for an account as it is now."""
    if account is None:
        return {name: "" for name in TEXT_FIELDS} | {"status": AccountStatus.ACTIVE.value}
    return {
        "network": account.network.key, "handle": account.handle, "display_name": account.display_name,
        "business_unit": account.business_unit or "", "owner_id": str(account.owner_id or ""),
        "status": account.status.value, "tags": ", ".join(account.tags or []), "notes": account.notes or "",
        "owner_q": "", "seen": seen_marker(account),
    }


def submitted(form: Mapping[str, str]) -> dict[str, str]:
    """The text as typed, to show again when the form comes back."""
    return {name: (form.get(name) or "").strip() for name in TEXT_FIELDS}


def seen_marker(account: SocialAccount) -> str:
    """Which details the form was filled from, so a change made to them meanwhile is not silently overwritten. (Not
    `updated_at`: connecting the account changes the row too, and should not stop anyone saving its owner.)"""
    details = {name: value for name, value in snapshot(account).items() if name in FIELDS}
    return hashlib.sha256(json.dumps(details, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


def split_tags(text: str) -> list[str]:
    tags: list[str] = []
    for tag in (part.strip() for part in TAG_SEPARATORS.split(text)):
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def handle_of(text: Mapping[str, str]) -> str:
    """The handle as stored: without the @ people type before it."""
    return text["handle"].removeprefix("@").strip()


def first_invalid(errors: Mapping[str, str]) -> str | None:
    """The field the page focuses (and so scrolls to): the first one with a problem, in the page's order."""
    return next((name for name in FIELDS if name in errors), None)


def read(session: Session, text: Mapping[str, str], *, network_keys: list[str] | None,
         current_owner_id: int | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's fields from the form's text: (values, {}) or ({}, errors by field). `network_keys` is given when
    adding (the network is chosen then and never changed)."""
    creating = network_keys is not None
    data: dict[str, Any] = {
        "handle": handle_of(text), "display_name": text["display_name"],
        "business_unit": text["business_unit"], "owner_id": text["owner_id"], "status": text["status"] or "active",
        "tags": split_tags(text["tags"]), "notes": text["notes"],
    }
    errors = {name: problem(name) for name in ("handle", "display_name") if not data[name]}
    if creating:
        data["network"] = text["network"]
        if text["network"] not in network_keys:
            errors["network"] = problem("network")
    payload = {name: value for name, value in data.items() if value not in ("", None)}
    if not creating:
        payload.update({name: None for name in CLEARABLE if not data[name]})
        payload.setdefault("tags", [])
    schema = AccountCreateSchema() if creating else AccountUpdateSchema()
    try:
        values = schema.load(payload, unknown=EXCLUDE)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        errors.update({name: problem(name) for name in messages if name not in errors})
        values = {}
    owner_id = values.get("owner_id")
    if owner_id is not None and owner_id != current_owner_id and not _current_employee(session, owner_id):
        errors["owner_id"] = problem("owner_id")
    return ({}, dict(sorted(errors.items(), key=lambda item: _order(item[0])))) if errors else (values, {})


def _current_employee(session: Session, person_id: int) -> bool:
    person = session.get(Person, person_id)
    return person is not None and person.status == PersonStatus.ACTIVE


def _order(name: str) -> int:
    return FIELDS.index(name) if name in FIELDS else len(FIELDS)


def chosen_owner(session: Session, text: Mapping[str, str]) -> Person | None:
    """The owner the form holds (as typed or as the account has it), to keep it in the list while searching."""
    owner_id = text.get("owner_id") or ""
    return session.get(Person, int(owner_id)) if owner_id.isdigit() and len(owner_id) < 10 else None
