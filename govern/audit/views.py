"""The console's audit log: events newest first, filtered (an account's or a person's whole history), a page at a time."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from govern.audit.api import AuditListArgs
from govern.audit.service import EventFilter, events_query
from govern.auth.roles import Permission
from govern.console import forms
from govern.console.blueprint import ConsolePages
from govern.extensions import db
from govern.web.authz import requires

routes = ConsolePages()

EVENTS_PER_PAGE = 50


@routes.get("/audit")
@requires(Permission.AUDIT_READ)
def audit_log():
    args, errors = forms.load(AuditListArgs(), request.args)
    if errors:
        return render_template("audit/audit.html", events=[], next_before_seq=None, errors=errors), 400
    args.pop("limit", None)
    before_seq = args.pop("before_seq", None)
    events = list(db.session.scalars(events_query(EventFilter(**args), before_seq).limit(EVENTS_PER_PAGE + 1)))
    more = len(events) > EVENTS_PER_PAGE
    next_before_seq = events[EVENTS_PER_PAGE - 1].seq if more else None
    return render_template("audit/audit.html", events=events[:EVENTS_PER_PAGE], next_before_seq=next_before_seq, errors={})


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
