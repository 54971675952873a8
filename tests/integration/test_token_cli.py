"""`govern token create` refuses leavers and the console-only reviewer role with a clear message; `revoke` works."""

from __future__ import annotations

from click.testing import CliRunner

from govern.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def _leaver(email: str) -> None:
    from govern import create_app
    from govern.audit.service import Actor
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
