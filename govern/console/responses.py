"""How a console page answers a form: the service's refusal on the page that held the form (one helper), and where to go next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import render_template, request, url_for
from flask_babel import gettext
from markupsafe import escape

from govern.console import pages
from govern.errors import DomainError
from govern.extensions import db
from govern.web.failures import answered
from govern.web.request_cycle import current_principal


def refusal(error: DomainError) -> str:
    """The service's reason for refusing, in the reader's language; keeps its audit event when the error says so (as the
    app handler does)."""
    answered(error)
    return error.worded(gettext)


def refuse(error: DomainError, page: Callable[..., Any], *args: Any,
           reason: Callable[[DomainError], str] = refusal, **form_state: Any):
    """`page(*args, status, refusal=..., **form_state)` for a refused form: the error's status, its reason in words
    (`reason` turns the error into them; by default the service's own, keeping the audit event when it says so)."""
    return page(*args, error.status, refusal=reason(error), **form_state)


def account_page(account_id: int, status: int = 200, **form_state: Any):
    """The account card, with the state of the form that was just posted (its errors, its refusal, a code shown once)."""
    context = pages.account_page(db.session, account_id, current_principal(), request.values)
    status = 400 if status == 200 and context["paging_problem"] else status
    page = render_template("console/account.html", **context, **form_state)
    refusal_text = form_state.get("refusal")
    if refusal_text and str(escape(refusal_text)) not in page:  # the refused form is not on this card (a stale link)
        page = render_template("console/account.html", **context, **form_state, page_refusal=refusal_text)
    return page, status


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page: a form's "next" never leads off the console."""
    # browsers read a backslash as a slash ("/\\evil.example" opens evil.example), and drop tabs and newlines
    cleaned = (target or "").replace("\\", "/")
    if target and cleaned == "".join(cleaned.split()) and cleaned.startswith("/") and not cleaned.startswith("//") \
            and not urlparse(cleaned).netloc:
        return target
    return url_for("console.home")
