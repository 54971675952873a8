"""The console's audit log: events newest first with names and links, filtered by actor, action, target and period;
verifying the trail; the way to the evidence bundles and reports."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from govern.audit import trail, verifications
from govern.audit.labels import event_action_label
from govern.audit.names import name_events
from govern.audit.service import EventFilter, events_query, recorded_actions
from govern.audit.signing import SigningUnavailable, current_signer
from govern.audit.subjects import SUBJECTS
from govern.audit.tasks import queue_verification
from govern.auth.models import ConsoleUser
from govern.auth.service import actor_name
from govern.auth.roles import Permission
from govern.console.blueprint import ConsolePages
from govern.console.labels import N_
from govern.console.responses import refusal
from govern.extensions import db
from govern.limits import DB_BIGINT_MAX
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()
routes.template_globals(event_action_label)

EVENTS_PER_PAGE = 50
# the kinds of record events touch, as the filter offers them (any other stored kind may still be typed in the URL)
TARGET_TYPES = {
    "account": N_("Account"), "person": N_("Person"), "grant": N_("Access grant"), "review_item": N_("Access review item"),
    "review_campaign": N_("Access review campaign"), "policy_violation": N_("Policy violation"),
    "policy_exception": N_("Policy exception"), "publish_approval": N_("Post approval"), "console_user": N_("Console user"),
    "api_client": N_("API token"), "sync_run": N_("Directory sync"), "evidence_export": N_("Evidence bundle"),
    "legal_hold": N_("Legal hold"), "network": N_("Network"), "audit_trail": N_("The audit trail"),
}
_ACTION = re.compile(r"^[a-z_]+(:[a-z_]*){0,2}$")
_WHOLE_ACTION = re.compile(r"^[a-z_]+:[a-z_]+:[a-z_]+$")
_ACTOR_ID = re.compile(r"^[a-z_]+:[^\s]{1,240}$|^anonymous$")
_TARGET_TYPE = re.compile(r"^[a-z_]{1,64}$")
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)


@dataclass
class LogQuery:
    """The audit log's filters as the form sent them, read into an EventFilter, with a message per bad field."""

    values: dict[str, str]
    filters: EventFilter = field(default_factory=EventFilter)
    before_seq: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _day(text: str, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not _FIRST_DAY <= day <= _LAST_DAY:
        errors[name] = _("Pick a day between 1970-01-01 and 2199-12-31.")
        return None
    return day


def _actor(text: str, errors: dict[str, str]) -> str | None:
    """An actor id as the trail stores it (console_user:3, system:directory-sync), or a console user's email."""
    if not text:
        return None
    if "@" in text and ":" not in text:
        user_id = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.email == text.lower()))
        if user_id is None:
            errors["actor"] = _("No console user has this email address.")
        return f"console_user:{user_id}" if user_id is not None else None
    if len(text) > 255 or not _ACTOR_ID.match(text):
        errors["actor"] = _("Type a console user's email address, or an actor as the trail records it, such as "
                            "console_user:3 or system:directory-sync.")
        return None
    return text


def read_query(args: Mapping[str, str], known_actions: list[str]) -> LogQuery:
    values = {name: args.get(name, "").strip() for name in ("actor", "action", "target_type", "target_id", "from", "to")}
    query = LogQuery(values)
    errors = query.errors
    actor = _actor(values["actor"], errors)
    action = values["action"]
    if action and (len(action) > 128 or not _ACTION.match(action)):
        errors["action"] = _("Type an action or the start of one, such as grants: or grants:grant:revoke.")
    target_type, target_id = values["target_type"], values["target_id"]
    if target_type and not _TARGET_TYPE.match(target_type):
        errors["target_type"] = _("Choose a kind of record from the list.")
    if target_id and not target_type:
        errors["target_type"] = _("Choose what kind of record the number belongs to.")
    elif target_id and (len(target_id) > 255 or (target_type in SUBJECTS and not target_id.isdigit())):
        errors["target_id"] = _("Type the record's number, as in its page's address.")
    since, until = _day(values["from"], "from", errors), _day(values["to"], "to", errors)
    if since and until and since > until:
        errors["to"] = _("The last day comes before the first day.")
    before = args.get("before_seq", "").strip()
    if before:
        if before.isdigit() and 0 < int(before) <= DB_BIGINT_MAX:
            query.before_seq = int(before)
        else:
            errors["before_seq"] = _("This page link is no longer valid; start again from the first page.")
    if errors:
        return query
    actions = None  # an action, or the actions a prefix names: served newest first by the (action, seq) index
    if action:
        actions = (action,) if _WHOLE_ACTION.match(action) else tuple(name for name in known_actions if name.startswith(action))
    query.filters = EventFilter(
        actor=actor, actions=actions,
        target_type=target_type or None, target_id=target_id or None, related=target_type in SUBJECTS,
        since=datetime.combine(since, time(), timezone.utc) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), timezone.utc) if until else None,
    )
    return query


def _verification_state() -> dict[str, Any]:
    kept = verifications.latest(db.session)
    broken_at = None
    if kept is not None and kept.first_failure:
        found = re.match(r"^event (\d+):", kept.first_failure)
        broken_at = int(found.group(1)) if found else None
    return {"kept": kept, "broken_at": broken_at,
            "verified_by": actor_name(db.session, kept.verified_by) if kept is not None else None}


def _page(query: LogQuery, known_actions: list[str], status: int = 200,
          verified: verifications.Requested | None = None, verify_problem: str | None = None):
    named, next_before_seq = [], None
    if not query.errors:
        found = list(db.session.scalars(events_query(query.filters, query.before_seq).limit(EVENTS_PER_PAGE + 1)))
        if len(found) > EVENTS_PER_PAGE:
            next_before_seq = found[EVENTS_PER_PAGE - 1].seq
        named = name_events(db.session, found[:EVENTS_PER_PAGE])
    users = db.session.execute(select(ConsoleUser.email, ConsoleUser.display_name).order_by(ConsoleUser.display_name)
                               .limit(500)).all()
    page = render_template("audit/audit.html", events=named, next_before_seq=next_before_seq, errors=query.errors,
                           values=query.values, target_types=TARGET_TYPES, actions=known_actions,
                           action_prefixes=sorted({name.split(':')[0] + ':' for name in known_actions}),
                           users=users, verification=_verification_state(), verified=verified,
                           verify_problem=verify_problem)
    return page, 400 if query.errors else status


@routes.get("/audit")
@requires(Permission.AUDIT_READ)
def audit_log():
    known_actions = recorded_actions(db.session)
    return _page(read_query(request.args, known_actions), known_actions)


@routes.post("/audit/verify")
@requires(Permission.AUDIT_READ)
def audit_verify():
    """Verify the trail now: walked whole and kept when it is short, else the events since the latest whole run."""
    actor = current_actor()
    try:
        keys = trail.trusted_keys_from_signer(db.session, current_signer())
    except SigningUnavailable as exc:
        problem = _("The signing keys cannot be read now, so the trail cannot be verified: %(why)s", why=refusal(exc))
        return _page(LogQuery({}), recorded_actions(db.session), 503, verify_problem=problem)
    outcome = verifications.verify_on_request(db.session, actor, keys, lambda: queue_verification(actor))
    if outcome.kept is not None:
        return redirect(url_for(".audit_log", verified=outcome.kept.id, _anchor="verification"), 303)
    return _page(LogQuery({}), recorded_actions(db.session), verified=outcome)


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
