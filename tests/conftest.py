"""Shared fixtures: a real PostgreSQL database migrated once per run, and a savepoint per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from alembic import command as alembic_command
from flask import Flask

from govern import app_services
from govern import create_app
from govern.actor import Actor
from govern.auth.roles import Role
from govern.cli import alembic_config
from tests.support.postgres import POSTGRES_ADMIN_URL, ScratchPostgres, postgres_available
from tests.support.services import IN_CI, require_service
from tests.support.standin import start_or_require


@pytest.fixture(scope="session")
def scratch_postgres() -> ScratchPostgres:
    if problem := postgres_available():
        require_service("PostgreSQL", problem)
    return ScratchPostgres(POSTGRES_ADMIN_URL)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """PostgreSQL when it answers (always under CI); SQLite only as a local fallback."""
    problem = postgres_available()
    if problem and IN_CI:
        require_service("PostgreSQL", problem)
    if problem:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'govern.sqlite'}"
        alembic_command.upgrade(alembic_config(url), "head")
        yield url
        return
    scratch = ScratchPostgres(POSTGRES_ADMIN_URL)
    url = scratch.create("govern_test")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        scratch.drop(url)


@pytest.fixture
def committed_database(scratch_postgres) -> Iterator[str]:
    """A PostgreSQL database of the test's own, migrated to head and dropped afterwards. No outer transaction wraps
    it: commits are real, so concurrent sessions, other hosts, workers and subprocesses see each other's work."""
    url = scratch_postgres.create("govern_committed")
    alembic_command.upgrade(alembic_config(url), "head")
    yield url
    scratch_postgres.drop(url)


@pytest.fixture
def make_committed_app(committed_database, tmp_path) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test's committed database: make_committed_app(**settings). Call it again for a second host
    on the same database (give each its own instance_path). Every app's engine is disposed before the database goes."""
    from govern.extensions import db

    built: list[Flask] = []

    def build(**settings) -> Flask:
        built.append(create_app({
            "database_url": committed_database,
            "secret_key": "committed-" + "k" * 32,
            "instance_path": tmp_path / "instance",
            **settings,
        }))
        return built[-1]

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def app(database_url, openbao, tmp_path_factory):
    """The app on the test PostgreSQL database, with OpenBao as its secret store (logged in with the least-privilege
    AppRole of docs/operations/vault.md, never the root token)."""
    return create_app(
        {
            "database_url": database_url,
            "secret_key": "test-secret-key-" + "x" * 32,
            "secure_cookies": False,
            "instance_path": tmp_path_factory.mktemp("instance"),
            "log_format": "json",
            **openbao.govern_settings(),  # govern's AppRole: exactly docs/operations/govern-vault-policy.hcl
        }
    )


@pytest.fixture(autouse=True)
def _transaction_per_test(request) -> Iterator[None]:
    """Every session the app opens joins one outer transaction that is rolled back after the test."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from govern.extensions import db

    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    with app.app_context():
        db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        outer.rollback()
        connection.close()
        with app.app_context():
            db.sessionmaker.configure(bind=engine, join_transaction_mode="conservative_savepoint")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request) -> None:
    """Every test starts with no refusals counted against the app's rate limits (they live in memory in tests)."""
    if "app" in request.fixturenames:
        app_services.throttle(request.getfixturevalue("app")).reset()


@pytest.fixture
def session(app):
    """The app's session inside an app context, for calling services directly."""
    from govern.extensions import db

    with app.app_context():
        yield db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def actor() -> Actor:
    return Actor("test:pytest", "pytest", "test-request-0001", "127.0.0.1")


@pytest.fixture
def make_token(app) -> Callable[[Role], str]:
    """Mint a bearer token for a role, committed so requests can see it."""
    from govern.auth.service import create_api_client
    from govern.extensions import db

    def mint(role: Role) -> str:
        with app.app_context():
            _, token = create_api_client(db.session, Actor.system("tests"), f"{role.value}-{uuid.uuid4().hex[:6]}", role)
            db.session.commit()
            return token.reveal()

    return mint


@pytest.fixture
def auth_headers(make_token) -> Callable[[Role], dict[str, str]]:
    return lambda role: {"Authorization": f"Bearer {make_token(role)}"}


@pytest.fixture(scope="session")
def openbao(tmp_path_factory):
    """A real OpenBao dev server for the whole run (KV v2 at secret/, like a fresh Vault)."""
    from tests.support.openbao import start_openbao

    server = start_or_require("OpenBao", lambda: start_openbao(tmp_path_factory.mktemp("openbao")))
    server.client().sys.enable_secrets_engine("transit")  # audit checkpoints are signed by a Transit key
    server.install_govern_policy()  # root sets govern up; govern itself only ever uses the documented policy
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    """A real OpenLDAP slapd for the whole run (accesslog, ppolicy, AD schema): tests/support/slapd.py."""
    from tests.support.slapd import start_slapd

    server = start_or_require("OpenLDAP", lambda: start_slapd(tmp_path_factory.mktemp("slapd")))
    yield server
    server.stop()
