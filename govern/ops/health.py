"""Liveness and readiness probes."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from govern import app_services
from govern.extensions import db, talisman
from govern.web.authz import probe

bp = Blueprint("ops", __name__)
PROBE_TIMEOUT = 2.0


def _check_database() -> str:
    db.session.execute(text("SELECT 1"))
    return "ok"


def _check_broker(url: str) -> str:
    celery = current_app.extensions["celery"]
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT)
    return "ok"


def _check_secret_store() -> str:
    app_services.broker().store.check()
    return "ok"


def _check_ldap(urls: str) -> str:
    parsed = urlparse(urls.split(",")[0])
    port = parsed.port or (636 if parsed.scheme == "ldaps" else 389)
    with socket.create_connection((parsed.hostname, port), timeout=PROBE_TIMEOUT):
        return "ok"


# Probes answer over plain HTTP even with GOVERN_FORCE_HTTPS (kubelets and load balancers do not follow
# redirects), and never identify the caller (@probe): liveness must not depend on the database.
@bp.get("/healthz")
@probe
@talisman(force_https=False)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@probe
@talisman(force_https=False)
def readyz():
    settings = app_services.settings()
    probes = {"database": lambda: _check_database()}
    if settings.celery_broker_url:
        probes["broker"] = lambda: _check_broker(settings.celery_broker_url)
    probes["secret_store"] = _check_secret_store
    if settings.ldap_url:
        probes["directory"] = lambda: _check_ldap(settings.ldap_url)
    checks = {}
    for name, check in probes.items():
        try:
            checks[name] = check()
        except Exception as exc:  # a probe reports, it never raises
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
