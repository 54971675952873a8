"""The console's notification delivery page (administrators): deliveries and their state, webhook endpoints.

An endpoint's signing secret is shown once, on the answer to the POST that made it: never flashed, never shown again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.auth.roles import Permission
from govern.console import templating
from govern.console.blueprint import ConsolePages
from govern.console.responses import refusal
from govern.errors import DomainError
from govern.extensions import db
from govern.locales import SUPPORTED_LOCALES
from govern.notifications import delivery, endpoints
from govern.notifications.models import DeliveryState, WebhookKind
from govern.secret_value import SecretValue
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()


def _page(status: int = 200, **state: Any):
    wanted = request.args.get("state", "")
    state_filter = next((s for s in DeliveryState if s.value == wanted), None)
    context = {"deliveries": delivery.list_deliveries(db.session, state_filter, 100), "counts": delivery.counts(db.session),
               "state_filter": state_filter, "states": list(DeliveryState), "endpoints": endpoints.list_endpoints(db.session),
               "kinds": list(WebhookKind), "locales": SUPPORTED_LOCALES, "submitted": request.form, "errors": {},
               "smtp_host": app_services.settings().smtp_host}
    return render_template("notifications/admin.html", **context | state), status


@routes.get("/admin/notifications")
@requires(Permission.ADMIN_MANAGE)
def admin_notifications():
    return _page()


@routes.post("/admin/notifications/webhooks")
@requires(Permission.ADMIN_MANAGE)
def admin_notification_webhook_add():
    form, errors = request.form, {}
    name, url = form.get("name", "").strip(), form.get("url", "").strip()
    kind = next((k for k in WebhookKind if k.value == form.get("kind")), None)
    if not name or len(name) > endpoints.MAX_NAME:
        errors["name"] = _("Enter a name of 1 to 128 characters.")
    if not url.startswith(("https://", "http://")) or len(url) > endpoints.MAX_URL:
        errors["url"] = _("Enter the endpoint's https:// address.")
    if kind is None:
        errors["kind"] = _("Choose a kind from the list.")
    if form.get("locale") not in SUPPORTED_LOCALES:
        errors["locale"] = _("Choose a language from the list.")
    if errors:
        return _page(422, errors=errors)
    try:
        endpoint, secret = endpoints.add_endpoint(db.session, app_services.broker().store, current_actor(), name,
                                                  SecretValue(url), kind, form["locale"])
    except DomainError as error:
        return _page(error.status, refusal=refusal(error))
    return render_template("notifications/secret_once.html", endpoint=endpoint, secret=secret.reveal(),
                           back=url_for(".admin_notifications"))


@routes.post("/admin/notifications/webhooks/<int:endpoint_id>/remove")
@requires(Permission.ADMIN_MANAGE)
def admin_notification_webhook_remove(endpoint_id: int):
    try:
        endpoint = endpoints.remove_endpoint(db.session, app_services.broker().store, current_actor(), endpoint_id)
    except DomainError as error:
        return _page(error.status, refusal=refusal(error))
    flash(_("Webhook endpoint %(name)s removed.", name=templating.isolate(endpoint.name)), "success")
    return redirect(url_for(".admin_notifications"))


@routes.post("/admin/notifications/deliveries/<int:delivery_id>/retry")
@requires(Permission.ADMIN_MANAGE)
def admin_notification_delivery_retry(delivery_id: int):
    try:
        delivery.retry(db.session, current_actor(), delivery_id)
    except DomainError as error:
        return _page(error.status, refusal=refusal(error))
    flash(_("The delivery will be tried again now."), "success")
    return redirect(url_for(".admin_notifications", state="pending"))


def register(console: Blueprint) -> None:
    routes.register(console)
