"""Console input: query strings and form posts validated with the shared schemas, errors turned into readable messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask_babel import gettext
from marshmallow import EXCLUDE, Schema, ValidationError

from govern.console.labels import N_
from govern.db import utcnow
from govern.grants.schemas import GrantCreateSchema

PAGING_FIELDS = ("sort", "limit", "cursor")

FIELD_LABELS = {
    "q": N_("Search"),
    "network": N_("Network"),
    "status": N_("Status"),
    "business_unit": N_("Business unit"),
    "owner_id": N_("Owner"),
    "tag": N_("Tag"),
    "department": N_("Department"),
    "source": N_("Source"),
    "manager_id": N_("Manager"),
    "sort": N_("Sort"),
    "limit": N_("Rows per page"),
    "cursor": N_("Page"),
    "person_id": N_("Person"),
    "account_id": N_("Account"),
    "role": N_("Role"),
    "reason": N_("Reason"),
    "expires_on": N_("Last day of access"),
    "since": N_("From"),
    "until": N_("Until"),
    "before_seq": N_("Page"),
    "state": N_("Progress"),
    "sla": N_("SLA"),
    "mode": N_("Mode"),
    "from_date": N_("From"),
    "to_date": N_("Until"),
    "kind": N_("Kind"),
}

FIELD_PROBLEMS = {
    "q": N_("use at most 200 characters."),
    "network": N_("choose a network from the list."),
    "status": N_("choose a status from the list."),
    "business_unit": N_("use at most 255 characters."),
    "owner_id": N_("this is not a valid person."),
    "tag": N_("use at most 64 characters."),
    "department": N_("use at most 255 characters."),
    "source": N_("choose a source from the list."),
    "manager_id": N_("this is not a valid person."),
    "sort": N_("sort by one of the offered columns."),
    "limit": N_("show between 1 and 200 rows."),
    "cursor": N_("this page link is no longer valid; start again from the first page."),
    "person_id": N_("choose a person from the list."),
    "account_id": N_("this is not a valid account."),
    "role": N_("choose a role from the list."),
    "reason": N_("write a reason of 3 to 2000 characters."),
    "expires_on": N_("pick a date from today onwards, at most 5 years ahead, or leave it empty."),
    "since": N_("use a date and time with a time zone, such as 2026-01-31T00:00:00Z."),
    "until": N_("use a date and time with a time zone, such as 2026-01-31T00:00:00Z."),
    "before_seq": N_("this page link is no longer valid; start again from the first page."),
    "state": N_("choose pending or complete."),
    "sla": N_("choose met or breached."),
    "mode": N_("choose a kind of sync from the list."),
    "from_date": N_("use a date such as 2026-01-31."),
    "to_date": N_("use a date such as 2026-01-31."),
    "kind": N_("choose a kind from the list."),
}


def problem_with(field: str) -> str:
    """A translated sentence saying what is wrong with a field and how to fix it."""
    name = gettext(FIELD_LABELS[field]) if field in FIELD_LABELS else field
    problem = gettext(FIELD_PROBLEMS[field]) if field in FIELD_PROBLEMS else gettext("this value is not valid.")
    return gettext("%(field)s: %(problem)s", field=name, problem=problem)


def load(schema: Schema, data: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate submitted text with a shared schema; empty fields count as absent. Returns (values, errors)."""
    present = {key: value.strip() for key, value in data.items() if key != "csrf_token" and value.strip()}
    try:
        return schema.load(present, unknown=EXCLUDE), {}
    except ValidationError as error:
        fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return {}, {field: problem_with(field) for field in fields}


def split_entries(text: str) -> list[str]:
    """The entries of a free-text list field, separated by commas, semicolons or new lines."""
    return [part.strip() for part in text.replace("\n", ",").replace(";", ",").split(",") if part.strip()]


def split_paging(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate filter values from sort/limit/cursor."""
    filters = {key: value for key, value in args.items() if key not in PAGING_FIELDS}
    return filters, {key: args[key] for key in PAGING_FIELDS if key in args}


def _access_ends(last_day: str) -> datetime | None:
    """Access lasts through the chosen day (UTC); None when the date is malformed or already past."""
    try:
        ends = datetime.combine(date.fromisoformat(last_day) + timedelta(days=1), time(), timezone.utc)
    except (ValueError, OverflowError):  # 9999-12-31 has no next day
        return None
    return ends if ends > utcnow() else None


def grant_request(form: Mapping[str, str], account_id: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The "Grant access" form as create_grant arguments, validated with the API's GrantCreateSchema."""
    submitted = {name: form.get(name, "") for name in ("person_id", "role", "reason")}
    submitted["account_id"] = str(account_id)
    errors: dict[str, str] = {}
    last_day = form.get("expires_on", "").strip()
    if last_day:
        ends = _access_ends(last_day)
        if ends is None:
            errors["expires_on"] = problem_with("expires_on")
        else:
            submitted["expires_at"] = ends.isoformat()
    values, schema_errors = load(GrantCreateSchema(), submitted)
    if "expires_at" in schema_errors:
        schema_errors["expires_on"] = problem_with("expires_on")
        del schema_errors["expires_at"]
    errors.update(schema_errors)
    return (values, errors) if not errors else ({}, errors)
