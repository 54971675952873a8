"""Destructive console actions ask first: a page naming what will happen, acted on only when posted again with
`confirmed=1` (a page, not a dialog: the CSP allows no script); a stale or repeated action says what happened instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, redirect, render_template, request
from flask_babel import format_datetime
from sqlalchemy.orm import Session

from govern.audit.service import last_event
from govern.auth.service import actor_name
from govern.console.templating import isolate


@dataclass(frozen=True)
class Reason:
    """The reason field the confirmation asks for (the text typed on the card, if any, is carried over)."""

    label: str
    required: bool = True
    min_length: int = 3
    max_length: int = 2000


def confirmed() -> bool:
    """The person saw the confirmation page and pressed its button."""
    return request.form.get("confirmed") == "1"


def ask(*, title: str, consequence: str, button: str, cancel: str, reason: Reason | None = None,
        errors: dict[str, str] | None = None, irreversible: bool = True, carry: dict[str, str] | None = None):
    """The confirmation page for this POST: what will happen, the reason field, Confirm (posts back here with
    confirmed=1) and Cancel. 200 when asking; 422 when the confirmed post had a problem, shown next to its field."""
    page = render_template("console/confirm.html", title=title, consequence=consequence, button=button, cancel=cancel,
                           reason=reason, reason_value=request.form.get("reason", ""), errors=errors or {},
                           irreversible=irreversible, carried=carry or {}, action=request.full_path.rstrip("?"))
    return page, 422 if errors else 200


def already_done(message: str, back: str):
    """A stale or repeated action: nothing more happens; the person is told what did, on the page they came from."""
    flash(message, "info")
    return redirect(back)


def moment(value: datetime | None) -> str:
    """A past moment in the reader's locale, for the "already done on ... by ..." sentences."""
    return format_datetime(value, "medium") + " UTC" if value else "—"


def who_did(session: Session, action: str, target_type: str, target_id: object, fallback: str | None = None) -> str:
    """Who last did `action` to the target, by name (isolated, so a Hebrew name keeps the sentence in order)."""
    event = last_event(session, action, target_type, target_id)
    return isolate(actor_name(session, event.actor if event else fallback))
