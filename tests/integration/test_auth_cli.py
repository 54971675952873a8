"""The auth CLI: `token create` refuses leavers and the console-only reviewer role with a clear message, `token revoke`
works, and `console sign-out-everywhere` ends a user's sessions."""

from __future__ import annotations

from click.testing import CliRunner

from govern.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def _leaver(email: str) -> None:
    from govern import create_app
    from govern.actor import Actor
    from govern.extensions import db
    from govern.people.models import PersonSource, PersonStatus
    from govern.people.service import upsert_person

    with create_app().app_context():
        person = upsert_person(db.session, Actor.system("tests"), PersonSource.MANUAL, "leaver-1", username="gone",
                               email=email, display_name="Gone")
        person.status = PersonStatus.LEAVER
        db.session.commit()


def test_token_create_refuses_a_leaver_and_the_reviewer_role(cli_env):
    assert run("db", "upgrade").exit_code == 0
    _leaver("gone@example.com")
    refused = run("token", "create", "--name", "gone-bot", "--role", "it", "--person-email", "gone@example.com")
    assert refused.exit_code == 1 and "has left" in refused.output and "gov_" not in refused.output

    reviewer = run("token", "create", "--name", "reviewer-bot", "--role", "reviewer")
    assert reviewer.exit_code == 1 and "console-only" in reviewer.output and "gov_" not in reviewer.output

    made = run("token", "create", "--name", "fine-bot", "--role", "auditor")
    assert made.exit_code == 0 and made.stdout.strip().startswith("gov_")
    revoked = run("token", "revoke", "--name", "fine-bot")
    assert revoked.exit_code == 0 and "revoked" in revoked.output


def test_token_create_can_give_the_token_an_end(cli_env):
    from datetime import timedelta

    from govern import create_app
    from govern.auth.models import ApiClient
    from govern.db import utcnow
    from govern.extensions import db

    assert run("db", "upgrade").exit_code == 0
    assert run("token", "create", "--name", "ends", "--role", "it", "--expires-in-days", "30").exit_code == 0
    assert run("token", "create", "--name", "lasts", "--role", "it").exit_code == 0
    assert run("token", "create", "--name", "bad", "--role", "it", "--expires-in-days", "0").exit_code == 2
    with create_app().app_context():
        ends = {client.name: client.expires_at for client in db.session.query(ApiClient)}
    assert timedelta(days=29) < ends["ends"] - utcnow() <= timedelta(days=30) and ends["lasts"] is None and "bad" not in ends


def test_sign_out_everywhere_ends_the_users_sessions(cli_env):
    from govern import create_app
    from govern.auth.models import ConsoleSession, ConsoleUser
    from govern.auth.service import Principal
    from govern.auth.sessions import SessionPolicy, start_session
    from govern.extensions import db

    assert run("db", "upgrade").exit_code == 0
    assert run("console", "create-user", "--email", "sam@example.com", "--name", "Sam", "--role", "it").exit_code == 0
    app = create_app()
    with app.app_context():
        user = db.session.query(ConsoleUser).one()
        for _ in range(2):
            start_session(db.session, Principal("console_user", user.id, user.display_name, user.role), "login_link", None,
                          SessionPolicy())
        db.session.commit()

    done = run("console", "sign-out-everywhere", "--email", "SAM@example.com", "--reason", "laptop stolen")
    assert done.exit_code == 0 and "2 console session(s) ended" in done.output
    with app.app_context():
        assert all(s.end_reason == "sign_out_everywhere" for s in db.session.query(ConsoleSession))
    unknown = run("console", "sign-out-everywhere", "--email", "nobody@example.com", "--reason", "x-ray")
    assert unknown.exit_code == 1 and "no console user" in unknown.output
    vague = run("console", "sign-out-everywhere", "--email", "sam@example.com", "--reason", " ")
    assert vague.exit_code == 1 and "say why" in vague.output
