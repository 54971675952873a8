"""The alerts console page: spikes of inbound volume and crisis keywords, filtered and paged; acknowledging one asks
first."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern.alerts import service
from govern.alerts.models import Alert, AlertKind, AlertStatus
from govern.alerts.schemas import AlertListArgs
from govern.auth.roles import Permission
from govern.console import confirm, pages
from govern.console.blueprint import ConsolePages
from govern.console.confirm import already_done, confirmed
from govern.console.labels import N_
from govern.console.responses import refusal
from govern.console.templating import isolate
from govern.errors import DomainError
from govern.extensions import db
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()

KIND_LABELS = {AlertKind.SPIKE: N_("Volume spike"), AlertKind.KEYWORD: N_("Crisis keyword")}
STATUS_LABELS = {AlertStatus.OPEN: N_("Open"), AlertStatus.ACKNOWLEDGED: N_("Acknowledged")}
NOTE_MAX = 2000


def alert_label(value: AlertKind | AlertStatus) -> str:
    return _(KIND_LABELS.get(value) or STATUS_LABELS[value])


def _alerts_page(status: int = 200):
    results, errors = pages.listing(db.session, request.args, AlertListArgs(), service.list_alerts, service.AlertFilter)
    page = render_template("alerts/alerts.html", results=results, alerts=results.items if results else [],
                           filter_errors=errors, accounts=service.accounts_with_alerts(db.session), kinds=list(AlertKind),
                           statuses=list(AlertStatus), alert_label=alert_label)
    return page, 400 if errors and status == 200 else status


@routes.get("/alerts")
@requires(Permission.ALERTS_READ)
def alerts():
    return _alerts_page()


@routes.post("/alerts/<int:alert_id>/acknowledge")
@requires(Permission.ALERTS_ACKNOWLEDGE)
def alert_acknowledge(alert_id: int):
    alert = service.get_alert(db.session, alert_id)
    back = url_for(".alerts", **request.args)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        return already_done(_already_acknowledged(alert), back)
    if not confirmed():
        return _ask_to_acknowledge(alert)
    try:
        service.acknowledge(db.session, current_actor(), alert_id, request.form.get("reason", "")[:NOTE_MAX])
    except DomainError as error:
        flash(_("The alert was not acknowledged: %(reason)s", reason=isolate(refusal(error))), "error")
        return _alerts_page(error.status)
    flash(_("Alert %(id)s acknowledged.", id=alert_id), "success")
    return redirect(back)


def _ask_to_acknowledge(alert: Alert):
    return confirm.ask(
        title=_("Acknowledge the alert"),
        consequence=_("You are about to acknowledge alert %(id)s (%(kind)s on %(account)s): it leaves the open alerts, "
                      "and the audit trail records that you handled it.", id=alert.id, kind=alert_label(alert.kind),
                      account=isolate(f"@{alert.account.handle}")),
        button=_("Acknowledge"), cancel=url_for(".alerts", **request.args, _anchor=f"alert-{alert.id}"),
        reason=confirm.Reason(_("What was done (optional)"), required=False, max_length=NOTE_MAX), irreversible=False)


def _already_acknowledged(alert: Alert) -> str:
    return _("This alert was already acknowledged on %(when)s by %(who)s.", when=confirm.moment(alert.acknowledged_at),
             who=confirm.who_did(db.session, "alerts:alert:acknowledge", "alert", alert.id, fallback=alert.acknowledged_by))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
