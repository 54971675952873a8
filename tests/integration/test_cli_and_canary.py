"""The `govern` CLI end to end on its own PostgreSQL database, and the secret canary."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from click.testing import CliRunner

from govern.cli import main
from tests.support.console import redeem_link


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _database_text(url: str) -> str:
    """Every value in every table, as text, to search for leaked secrets."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    chunks = []
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                chunks.append(" ".join(str(value) for value in row))
    engine.dispose()
    return "\n".join(chunks)


def test_migrations_go_up_down_and_up_again(cli_env):
    assert run("db", "upgrade").exit_code == 0
    assert run("db", "downgrade", "base").exit_code == 0
    engine = sa.create_engine(cli_env, poolclass=sa.pool.NullPool)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert run("db", "upgrade").exit_code == 0
    assert "audit_events" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_audit_verify_names_the_first_broken_link(cli_env):
    run("db", "upgrade")
    for name in ("one", "two", "three"):
        assert run("token", "create", "--name", name, "--role", "auditor").exit_code == 0
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact: 3 events" in ok.output
    engine = sa.create_engine(cli_env, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("UPDATE audit_events SET summary = '{\"after\": {\"name\": \"evil\"}}' WHERE seq = 2"))
    engine.dispose()
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "BROKEN at event 2" in broken.output and "edited" in broken.output


def test_bad_configuration_is_a_readable_cli_error(cli_env, monkeypatch):
    monkeypatch.setenv("GOVERN_DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(main, ["token", "create", "--name", "x", "--role", "admin"])
    assert result.exit_code == 1
    assert "GOVERN_DATABASE_URL" in result.output and "Traceback" not in result.output


def test_issued_secrets_never_reach_database_logs_responses_or_audit(cli_env, caplog):
    caplog.set_level(logging.DEBUG)
    run("db", "upgrade")
    token = run("token", "create", "--name", "canary", "--role", "admin").stdout.strip()
    run("console", "create-user", "--email", "canary@example.com", "--name", "Canary", "--role", "admin")
    link = run("console", "login-link", "--email", "canary@example.com").stdout.strip()
    code = link.rsplit("/", 1)[1]
    assert token.startswith("gov_") and len(code) > 30

    from govern import create_app

    app = create_app()
    logging.getLogger().addHandler(caplog.handler)  # create_app replaced the root handlers: keep capturing
    client = app.test_client()
    bodies = []
    for response in (
        client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}),
        client.post("/api/v1/accounts", json={"network": "x", "handle": "c", "display_name": "C"}, headers={"Authorization": f"Bearer {token}"}),
        client.get("/api/v1/audit/events", headers={"Authorization": f"Bearer {token}"}),
        client.get(f"/login/{code}"),  # the page with its button
        redeem_link(client, code),
        redeem_link(client, code),  # second use fails
        client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}x"}),
    ):
        bodies.append(response.get_data(as_text=True) + str(dict(response.headers)))
    assert bodies[0].startswith("{") and '"handle"' in bodies[1]
    responses, logs, stored = "\n".join(bodies), caplog.text, _database_text(cli_env)
    assert '"route": "/login/<code>"' in logs or "'route': '/login/<code>'" in logs  # the logs were captured
    for secret in (token, code):
        assert secret not in stored, "a secret reached the database"
        assert secret not in logs, "a secret reached the logs"
        assert secret not in responses, "a secret reached an HTTP response"
    # the console session id lives in the browser's cookie only: the database holds its hash
    session_id = app.session_interface.get_signing_serializer(app).loads(client.get_cookie("govern_session").value)["sid"]
    assert session_id not in stored and session_id not in logs
    assert "auth:session:sign_in" in stored and "auth:api_client:create" in stored
