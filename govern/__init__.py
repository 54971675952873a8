"""govern: security and governance for a company's social media accounts."""

from __future__ import annotations

import os
import secrets
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from sqlalchemy import event

from govern import app_services
from govern import database_timeouts
from govern.audit.chain import canonical_json
from govern.config import Settings, load_settings
from govern.locales import RTL_LOCALES, SUPPORTED_LOCALES


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    key_file = settings.instance_path / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def select_locale() -> str:

    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    default = app_services.settings().default_locale
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or default


def _sqlite_pragmas(engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from settings (defaults < config file < GOVERN_* env < `config`)."""
    from govern.extensions import babel, celery, csrf, db, talisman
    from govern.jobs import init_celery
    from govern.logs import configure_logging
    from govern.web.problems import register_error_handlers
    from govern.web.input_guard import register_input_guard
    from govern.web.request_cycle import register_request_cycle

    settings = load_settings(config)
    timeouts = database_timeouts.DatabaseTimeouts(
        connect=settings.database_connect_timeout_seconds, web_statement=settings.database_statement_timeout_seconds,
        job_statement=settings.database_job_statement_timeout_seconds, pool=settings.database_pool_timeout_seconds,
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(Path(settings.instance_path).resolve()))
    app_services.install_settings(app, settings)
    configure_logging(settings.log_level, settings.log_format)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        # JSON columns hold canonical text (sorted keys, compact): audit summaries are then hashed as stored.
        SQLALCHEMY_ENGINES={"default": {"url": settings.effective_database_url, "pool_pre_ping": True,
                                        "json_serializer": canonical_json,
                                        **database_timeouts.engine_options(settings.effective_database_url, timeouts)}},
        SESSION_COOKIE_NAME="govern_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.console_session_max_hours * 3600,  # the server-side session ends it anyway
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        API_TITLE="govern",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
            "info": {"description": "govern REST API. Errors are application/problem+json (RFC 9457)."},
        },
    )
    register_request_cycle(app)  # first, so every later hook (CSRF too) sees the request id
    register_input_guard(app)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    app.json.ensure_ascii = False  # Arabic and Hebrew names as UTF-8 text, not \u escapes
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(db.engine)
        database_timeouts.install(db.engine, db.sessionmaker, timeouts, in_web_request=has_request_context)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    talisman.init_app(
        app,
        force_https=settings.force_https,
        strict_transport_security=settings.force_https,
        session_cookie_secure=settings.secure_cookies,
        content_security_policy={
            "default-src": "'self'",
            "img-src": "'self' data:",
            "style-src": "'self'",
            "script-src": "'self'",
            "frame-ancestors": "'none'",
            "form-action": "'self'",
            "base-uri": "'self'",
        },
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    init_celery(celery, app, settings)
    _register_tasks()
    _init_throttle(app, settings)
    _init_broker(app, settings)
    _connect_receivers()
    _register_blueprints(app, csrf)
    register_error_handlers(app)
    return app


def _init_throttle(app: Flask, settings: Settings) -> None:
    from govern.auth.throttle import Throttle

    app_services.install_throttle(app, Throttle.from_settings(settings))


def _init_broker(app: Flask, settings: Settings) -> None:

    from govern.broker.wiring import build_broker_context
    from PIL import Image

    from govern.policy.images.limits import ImageLimits
    from govern.policy.service import PolicyRuntime

    limits = ImageLimits(max_pixels=settings.media_max_pixels_per_image, max_pixels_per_request=settings.media_max_pixels_per_request,
                         max_decode_seconds=settings.media_max_decode_seconds)
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, limits.max_pixels)  # Pillow's own guard, for any other use of it
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # Exceptions keep a keyed digest of the value they lift, so a listed digest cannot be reversed by trying values.
    exception_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                         info=b"govern policy exception digest").derive(app.config["SECRET_KEY"].encode())
    policy = PolicyRuntime(Path(settings.policy_packs_dir), tuple(settings.company_names), limits, exception_key)
    app_services.install_policy(app, policy)
    app_services.install_broker(app, build_broker_context(settings, app.config["SECRET_KEY"]))
    from govern.publishing.service import Publisher

    # Posts and replies are checked against the policy only when GOVERN_POLICY_ENFORCED is on.
    app_services.install_publisher(app, Publisher(app_services.broker(app), policy if settings.policy_enforced else None))
    from govern.audit.signing import build_signer

    app_services.install_signer(app, build_signer(settings, app_services.broker(app).store))


def _register_tasks() -> None:
    """Every domain's Celery tasks, imported once here so that a worker knows them all (they register on import)."""
    import govern.alerts.tasks  # noqa: F401
    import govern.audit.tasks  # noqa: F401
    import govern.broker.tasks  # noqa: F401
    import govern.credentials.tasks  # noqa: F401
    import govern.directory.tasks  # noqa: F401
    import govern.evidence.tasks  # noqa: F401
    import govern.notifications.tasks  # noqa: F401
    import govern.outbox.tasks  # noqa: F401
    import govern.pauses.tasks  # noqa: F401
    import govern.publishing.tasks  # noqa: F401
    import govern.retention.tasks  # noqa: F401
    import govern.reviews.tasks  # noqa: F401
    import govern.runbooks.tasks  # noqa: F401


def _connect_receivers() -> None:
    """Every reaction of one domain to another's signal (govern/signals.py) is connected here, and nowhere else, so
    none depends on which modules happen to be imported. Each call is idempotent: tests build many apps."""
    from govern.accounts.service import connect_receivers as accounts
    from govern.alerts.wiring import connect_receivers as alerts
    from govern.auth.wiring import connect_receivers as auth
    from govern.broker.wiring import connect_receivers as broker
    from govern.credentials.service import connect_receivers as credentials
    from govern.directory.network_roles import connect_receivers as directory
    from govern.grants.service import connect_receivers as grants
    from govern.notifications.service import connect_receivers as notifications
    from govern.publishing.wiring import connect_receivers as publishing
    from govern.runbooks.wiring import connect_receivers as runbooks

    for connect in (accounts, partial(alerts, app_services.settings), auth, partial(broker, app_services.broker), credentials,
                    directory, grants, notifications, publishing, runbooks):
        connect()


def _register_blueprints(app: Flask, csrf) -> None:
    from govern.accounts.api import blp as accounts_api
    from govern.alerts.api import blp as alerts_api
    from govern.audit.api import blp as audit_api
    from govern.auth.api import blp as console_users_api
    from govern.broker.api import blp as broker_api
    from govern.broker.views import bp as oauth_views
    from govern.credentials.api import blp as credentials_api
    from govern.directory.api import blp as directory_api
    from govern.evidence.api import blp as evidence_api
    from govern.policy.api import blp as policy_api
    from govern.pauses.api import blp as pauses_api
    from govern.runbooks.api import blp as runbooks_api
    from govern.publishing.api import blp as publishing_api
    from govern.publishing.posts_api import blp as posts_api
    from govern.reports.api import blp as reports_api
    from govern.reviews.api import blp as reviews_api
    from govern.grants.api import blp as grants_api
    from govern.notifications.api import blp as notifications_api
    from govern.ops.health import bp as ops
    from govern.scim.api import bp as scim_api
    from govern.people.api import blp as people_api
    from govern.retention.api import blp as retention_api

    from govern.web.api_base import GovernApi

    api = GovernApi(app)
    for blueprint in (accounts_api, people_api, grants_api, audit_api, evidence_api, broker_api, credentials_api, notifications_api, directory_api, policy_api, publishing_api, posts_api, pauses_api, runbooks_api, alerts_api, retention_api, reviews_api, reports_api, console_users_api):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    csrf.exempt(ops)
    app.register_blueprint(ops)
    app.register_blueprint(oauth_views)
    _register_console(app)
    app.register_blueprint(csrf.exempt(scim_api))
    if app_services.settings(app).demo_network:  # make run's stand-in social network; the settings refuse it in production
        from govern.demo.network import register as serve_demo_network

        serve_demo_network(app, csrf)
    from flask_babel import get_locale

    app.jinja_env.globals.update(RTL_LOCALES=RTL_LOCALES, get_locale=get_locale)


def _register_console(app: Flask) -> None:
    """The console: its shell, then every domain's pages, each added by the one call listed here."""
    from govern.accounts import views as account_pages
    from govern.alerts import views as alert_pages
    from govern.audit import views as audit_pages
    from govern.auth import views as sign_in_pages
    from govern.broker import views as broker_pages
    from govern.console import views as console_shell
    from govern.console.blueprint import console_blueprint
    from govern.credentials import views as credential_pages
    from govern.directory import views as directory_pages
    from govern.grants import views as grant_pages
    from govern.notifications import views as notification_pages
    from govern.people import views as people_pages
    from govern.policy import views as policy_pages
    from govern.pauses import views as pause_pages
    from govern.publishing import views as publishing_pages
    from govern.evidence import views as evidence_pages
    from govern.reports import views as report_pages
    from govern.reviews import views as review_pages
    from govern.runbooks import views as runbook_pages
    from govern.scim import views as scim_group_pages

    console = console_blueprint()
    add_pages = (
        console_shell.register,
        sign_in_pages.register,
        account_pages.register,
        grant_pages.register,
        people_pages.register,
        broker_pages.register,
        publishing_pages.register,
        pause_pages.register,
        alert_pages.register,
        runbook_pages.register,
        directory_pages.register,
        scim_group_pages.register,
        credential_pages.register,
        policy_pages.register,
        report_pages.register,
        evidence_pages.register,
        review_pages.register,
        notification_pages.register,
        audit_pages.register,
    )
    for register in add_pages:
        register(console)
    app.register_blueprint(console)
