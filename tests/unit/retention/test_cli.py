"""`govern retention` and `govern legal-hold`: the same service, readable errors, never a traceback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from govern import app_services
from govern.audit.models import LegalHold
from govern.audit.service import AuditUnavailable
from govern.cli import main
from govern.retention import service
from tests.unit.retention.conftest import exists


@pytest.fixture
def cli_app(app, monkeypatch):
    import govern

    monkeypatch.setattr(govern, "create_app", lambda *args, **kwargs: app)
    monkeypatch.setenv("GOVERN_DATABASE_URL", app_services.settings(app).effective_database_url)  # checked first
    monkeypatch.setenv("GOVERN_SECRET_KEY", app.config["SECRET_KEY"])
    return app


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_show_lists_kinds_holds_and_the_plan(cli_app, session, rows):
    rows.notification(rows.cutoff("notifications") - timedelta(days=1))
    session.commit()
    result = run("retention", "show")
    assert result.exit_code == 0, result.output
    assert "notifications        365      365  created_at, once read" in result.output
    assert "legal holds in place: 0" in result.output
    assert "notifications      would delete 1 older than" in result.output
    assert "kept (minimum retention 7 years; archive through the SIEM stream and evidence bundles)" in result.output


def test_purge_dry_run_then_purge(cli_app, session, rows):
    old = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    session.commit()
    dry = run("retention", "purge", "--dry-run")
    assert dry.exit_code == 0 and "dry run, nothing was deleted" in dry.output
    assert exists(session, "notifications", old)
    real = run("retention", "purge")
    assert real.exit_code == 0 and "notifications      deleted 1 older than" in real.output
    assert not exists(session, "notifications", old)


def test_place_list_release_a_hold(cli_app, session, rows):
    old = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    session.commit()
    placed = run("legal-hold", "place", "--name", "Matter 42", "--kinds", "notifications, sync_runs", "--reason", "litigation")
    assert placed.exit_code == 0, placed.output
    hold = session.query(LegalHold).one()
    assert placed.output.strip() == f"legal hold #{hold.id} placed on notifications, sync_runs"
    assert hold.placed_by.startswith("cli:")

    purged = run("retention", "purge")
    assert f"held by legal hold #{hold.id} 'Matter 42'" in purged.output
    assert exists(session, "notifications", old)

    listed = run("legal-hold", "list", "--active")
    assert f"#{hold.id}  Matter 42  kinds: notifications, sync_runs  ACTIVE" in listed.output
    released = run("legal-hold", "release", str(hold.id), "--reason", "settled")
    assert released.exit_code == 0 and f"legal hold #{hold.id} released" in released.output
    assert run("legal-hold", "list", "--active").output.strip() == "no legal holds in place"
    run("retention", "purge")
    assert not exists(session, "notifications", old)


@pytest.mark.parametrize("args, message", [
    (["legal-hold", "place", "--name", "M", "--kinds", "tweets", "--reason", "litigation"], "unknown data kinds tweets"),
    (["legal-hold", "place", "--name", "M", "--kinds", ",", "--reason", "litigation"], "name at least one data kind"),
    (["legal-hold", "place", "--name", "M", "--kinds", "notifications", "--reason", ""], "reason of at least 3"),
    (["legal-hold", "place", "--name", "M", "--kinds", "notifications"], "Missing option '--reason'"),
    (["legal-hold", "release", "999999", "--reason", "settled"], "legal hold 999999 does not exist"),
    (["legal-hold", "release", "abc", "--reason", "settled"], "not a valid integer"),
])
def test_bad_input_is_a_message_not_a_traceback(cli_app, args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # anything else would have been a traceback


def test_an_unwritable_audit_trail_is_a_message_and_nothing_is_placed(cli_app, session, monkeypatch):
    def fail(*args, **kwargs):
        raise AuditUnavailable("the audit chain head is missing; run 'govern db upgrade'")

    monkeypatch.setattr(service, "record", fail)
    result = run("legal-hold", "place", "--name", "M", "--kinds", "notifications", "--reason", "litigation")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "nothing was changed: the audit chain head is missing" in result.output
    assert session.query(LegalHold).count() == 0
