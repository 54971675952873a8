"""The pauses console page (list, the pause form, resume), each action confirmed first; and the banner every console
page shows while anything is paused."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from govern.accounts.models import Network, SocialAccount
from govern.auth.roles import Permission
from govern.console import confirm
from govern.console.blueprint import ConsolePages
from govern.console.responses import refusal
from govern.console.templating import isolate
from govern.db import utcnow
from govern.errors import DomainError
from govern.extensions import db
from govern.pauses import service
from govern.pauses.models import PauseScope, PublishingPause
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()
FORM_FIELDS = ("scope_type", "scope_value", "resume_at")


def active_publishing_pauses() -> list[PublishingPause]:
    """For the banner in the layout: the active pauses, read on every page (no cache: a pause shows at once)."""
    if current_principal() is None:
        return []
    try:
        return service.active_pauses(db.session)
    except SQLAlchemyError:  # an error page for a broken database still renders
        return []


def pause_scope_label(pause: PublishingPause) -> str:
    labels = {PauseScope.ALL: _("everything"), PauseScope.BUSINESS_UNIT: _("business unit %(value)s"),
              PauseScope.NETWORK: _("network %(value)s"), PauseScope.ACCOUNT: _("account %(value)s")}
    if pause.scope_type is PauseScope.ALL:
        return labels[PauseScope.ALL]
    value = pause.scope_value or ""
    if pause.scope_type is PauseScope.ACCOUNT and value.isdigit():
        account = db.session.get(SocialAccount, int(value))
        value = f"@{account.handle}" if account is not None else value
    return labels[pause.scope_type] % {"value": isolate(value)}


routes.template_globals(active_publishing_pauses, pause_scope_label)


def _pauses_page(status: int = 200, errors: dict[str, str] | None = None, page_refusal: str | None = None):
    now = utcnow()
    pauses = service.list_pauses(db.session)
    networks = list(db.session.scalars(select(Network.key).order_by(Network.key)))
    units = list(db.session.scalars(select(SocialAccount.business_unit).where(SocialAccount.business_unit.is_not(None))
                                    .distinct().order_by(SocialAccount.business_unit).limit(500)))
    return render_template("pauses/pauses.html", active=[p for p in pauses if p.is_active(now)],
                           past=[p for p in pauses if not p.is_active(now)], networks=networks, units=units,
                           scopes=list(PauseScope), errors=errors or {}, page_refusal=page_refusal,
                           form=request.form if request.method == "POST" else {}), status


@routes.get("/pauses")
@requires(Permission.PAUSES_READ)
def pauses():
    return _pauses_page()


def _read_form() -> tuple[dict[str, object], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, object] = {"reason": request.form.get("reason", "").strip()}
    try:
        values["scope_type"] = PauseScope(request.form.get("scope_type", ""))
    except ValueError:
        errors["scope_type"] = _("Choose what to pause.")
    values["scope_value"] = request.form.get("scope_value", "").strip()[:255] or None
    resume_at = request.form.get("resume_at", "").strip()
    values["resume_at"] = None
    if resume_at:
        try:
            values["resume_at"] = datetime.fromisoformat(resume_at).replace(tzinfo=timezone.utc)
        except ValueError:
            errors["resume_at"] = _("Write the time as YYYY-MM-DD HH:MM (UTC).")
    return values, errors


@routes.post("/pauses")
@requires(Permission.PUBLISHING_PAUSE)
def pause():
    values, errors = _read_form()
    if errors:
        return _pauses_page(422, errors)
    if not confirm.confirmed() or len(str(values["reason"])) < 3:
        pending = PublishingPause(scope_type=values["scope_type"], scope_value=values["scope_value"])
        return confirm.ask(
            title=_("Pause publishing"),
            consequence=_("You are about to pause publishing for %(scope)s: posts, replies and post deletions on the "
                          "accounts in scope are refused, hand-offs are not issued and approvals do not publish, in "
                          "every process at once. Hiding comments goes on. Another person must resume it.",
                          scope=pause_scope_label(pending)),
            button=_("Pause publishing"), cancel=url_for(".pauses"), irreversible=False,
            reason=confirm.Reason(_("Why publishing is paused")),
            errors={"reason": _("Say why publishing is paused (at least 3 characters).")} if confirm.confirmed() else None,
            carry={name: request.form.get(name, "") for name in FORM_FIELDS})
    try:
        paused = service.pause(db.session, current_actor(), current_principal().person_id, values["scope_type"],
                               values["scope_value"], str(values["reason"]), values["resume_at"])
    except DomainError as error:
        return _pauses_page(error.status, page_refusal=refusal(error))
    flash(_("Publishing is paused for %(scope)s (pause %(id)s).", scope=pause_scope_label(paused), id=paused.id), "success")
    return redirect(url_for(".pauses"))


@routes.post("/pauses/<int:pause_id>/resume")
@requires(Permission.PUBLISHING_PAUSE)
def resume(pause_id: int):
    try:
        found = service.get_pause(db.session, pause_id)
    except DomainError as error:
        return _pauses_page(error.status, page_refusal=refusal(error))
    if not found.is_active(utcnow()):
        return confirm.already_done(_("Pause %(id)s has already ended.", id=pause_id), url_for(".pauses"))
    if not confirm.confirmed():
        return confirm.ask(
            title=_("Resume publishing"),
            consequence=_("You are about to resume publishing for %(scope)s (pause %(id)s, paused by %(who)s): posts "
                          "and replies on those accounts go out again.", scope=pause_scope_label(found), id=found.id,
                          who=isolate(found.paused_by_name)),
            button=_("Resume publishing"), cancel=url_for(".pauses"), irreversible=False,
            reason=confirm.Reason(_("Note (optional)"), required=False))
    try:
        service.resume(db.session, current_actor(), current_principal().person_id, pause_id,
                       request.form.get("reason", ""))
    except DomainError as error:
        return _pauses_page(error.status, page_refusal=refusal(error))
    flash(_("Publishing resumed for %(scope)s (pause %(id)s).", scope=pause_scope_label(found), id=found.id), "success")
    return redirect(url_for(".pauses"))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
