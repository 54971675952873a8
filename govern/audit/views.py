"""The console's audit log: events newest first with names and links, filtered by actor, action, target and period,
paged both ways, counted and downloaded as CSV; verifying the trail; the way to the evidence bundles and reports."""

from __future__ import annotations

import json
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
from govern.audit.names import Acting, NamedEvent, Ref, Target, name_events
from govern.audit.service import COUNT_CAP, EventFilter, EventPage, count_events, events_page, recorded_actions
from govern.audit.signing import SigningUnavailable, current_signer
from govern.audit.subjects import SUBJECTS
from govern.audit.tasks import queue_verification
from govern.auth.models import ConsoleUser
from govern.auth.service import actor_name
from govern.auth.roles import Permission
from govern.console.blueprint import ConsolePages
from govern.console.labels import N_
from govern.console.responses import refusal
from govern.console.tables import EXPORT_BATCH, csv_download, every_row, moment_cell, refused_filters
from govern.extensions import db
from govern.limits import DB_BIGINT_MAX
from govern.pagination import Page
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
    after_seq: int | None = None  # the page before the one that starts with this event
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
    for name in ("before_seq", "after_seq"):
        mark = args.get(name, "").strip()
        if mark and mark.isdigit() and 0 < int(mark) <= DB_BIGINT_MAX and not (query.before_seq or query.after_seq):
            setattr(query, name, int(mark))
        elif mark:
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
    named, found, total = [], EventPage([], None, None), None
    if not query.errors:
        found = events_page(db.session, query.filters, EVENTS_PER_PAGE, query.before_seq, query.after_seq)
        named = name_events(db.session, found.items)
        total = count_events(db.session, query.filters, COUNT_CAP)
    users = db.session.execute(select(ConsoleUser.email, ConsoleUser.display_name).order_by(ConsoleUser.display_name)
                               .limit(500)).all()
    page = render_template("audit/audit.html", events=named, next_before_seq=found.next_before_seq,
                           prev_after_seq=found.prev_after_seq, total=total, count_cap=COUNT_CAP, errors=query.errors,
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


@routes.get("/audit/export.csv")
@requires(Permission.AUDIT_READ)
def audit_log_csv():
    """Every event the log's filters select, newest first, named and labelled in the reader's language."""
    known_actions = recorded_actions(db.session)
    query = read_query(request.args, known_actions)
    if query.errors:
        return refused_filters(query.errors)

    def fetch(cursor: str | None) -> Page[NamedEvent]:
        page = events_page(db.session, query.filters, EXPORT_BATCH, int(cursor) if cursor else None)
        return Page(name_events(db.session, page.items), str(page.next_before_seq) if page.next_before_seq else None)

    header = [_("Event"), _("When"), _("Who"), _("What"), _("About"), _("Reason"), _("Details")]
    return csv_download("audit-log", header, (
        (row.event.seq, moment_cell(row.event.occurred_at), _actor_text(row.actor),
         event_action_label(row.event.action), _target_text(row.target), row.reason or "",
         _details_text(row.event.summary))
        for row in every_row(fetch)))


def _named(ref: Ref | None, missing: str) -> str:
    """A record's name, or "account 12" when it no longer exists (`missing` is the translated phrase for that)."""
    if ref is None:
        return ""
    return ref.name if ref.name is not None else missing


def _actor_text(actor: Acting) -> str:
    """Who acted, as the log's "Who" column says it, in plain text."""
    if actor.kind == "console_user" and actor.name:
        return f"{actor.name} <{actor.email}>" if actor.email else actor.name
    if actor.kind == "api_client" and actor.name:
        return _("API token %(name)s", name=actor.name)
    if actor.kind == "system":
        return _("govern (%(job)s)", job=actor.name)
    if actor.kind == "cli":
        return _("%(user)s on the command line", user=actor.name)
    if actor.kind == "anonymous":
        return _("Someone not signed in")
    return f"{actor.kind}:{actor.id}" if actor.id else actor.kind


def _target_text(target: Target) -> str:
    """What the event touched, as the log's "About" column says it, in plain text."""
    account = _named(target.account, _("account %(id)s", id=target.account.id) if target.account else "")
    person = _named(target.person, _("person %(id)s", id=target.person.id) if target.person else "")
    campaign = _named(target.campaign, _("campaign %(id)s", id=target.campaign.id) if target.campaign else "")
    kind, number = target.kind, target.id
    if kind == "account" and target.account:
        return account
    if kind == "person" and target.person:
        return person
    if kind == "review_campaign" and target.campaign:
        return _("Review campaign %(name)s", name=campaign)
    if kind == "grant":
        return (_("Access of %(person)s to %(account)s", person=person, account=account) if target.person and target.account
                else _("Grant %(id)s", id=number))
    if kind == "review_item":
        text = (_("Review of the access of %(person)s to %(account)s", person=person, account=account)
                if target.person and target.account else _("Review item %(id)s", id=number))
        return f"{text} ({campaign})" if target.campaign else text
    on_account = {"policy_violation": (N_("Violation %(id)s on %(account)s"), N_("Violation %(id)s")),
                  "publish_approval": (N_("Post approval %(id)s on %(account)s"), N_("Post approval %(id)s")),
                  "policy_exception": (N_("Policy exception %(id)s on %(account)s"), N_("Policy exception %(id)s"))}
    if kind in on_account:
        with_account, alone = on_account[kind]
        return _(with_account, id=number, account=account) if target.account else _(alone, id=number)
    if kind == "console_user":
        text = _("Console user %(name)s", name=target.name or number)
        return f"{text} ({person})" if target.person else text
    if kind in ("evidence_export", "evidence_bundle"):
        return _("Evidence bundle %(id)s", id=number)
    if kind == "sync_run":
        return _("Directory sync %(id)s", id=number)
    if kind == "audit_trail":
        return _("The audit trail")
    return f"{kind} {number}"


def _details_text(summary: Any) -> str:
    """The event's recorded details (its before and after, its reason) as compact JSON, as the trail holds them."""
    if not summary:
        return ""
    return json.dumps(summary, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)


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
