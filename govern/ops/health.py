"""Liveness and readiness probes."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from govern.extensions import db
from govern.web.authz import public

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


def _check_vault(addr: str) -> str:
    response = requests.get(f"{addr}/v1/sys/health", timeout=PROBE_TIMEOUT)
    if response.status_code not in (200, 429, 472, 473):
        raise RuntimeError(f"vault health answered {response.status_code}")
    return "ok"


def _check_ldap(url: str) -> str:
    parsed = urlparse(url)
    port = parsed.port or (636 if parsed.scheme == "ldaps" else 389)
    with socket.create_connection((parsed.hostname, port), timeout=PROBE_TIMEOUT):
        return "ok"


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    settings = current_app.extensions["govern.settings"]
    probes = {"database": lambda: _check_database()}
    if settings.celery_broker_url:
        probes["broker"] = lambda: _check_broker(settings.celery_broker_url)
    if settings.vault_addr:
        probes["vault"] = lambda: _check_vault(settings.vault_addr)
    if settings.ldap_url:
        probes["directory"] = lambda: _check_ldap(settings.ldap_url)
    checks = {}
    for name, probe in probes.items():
        try:
            checks[name] = probe()
        except Exception as exc:  # a probe reports, it never raises
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
