"""The API, the console and the CLI: the right file per format, and clear refusals for bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.actor import Actor
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.reports.render import parse_csv
from tests import factories
from tests.unit.reports.conftest import ARABIC_NAME, HEBREW_NAME
from tests.support.console import signed_in_client


@pytest.fixture
def seeded(session, actor):
    salma, dana = factories.person(session, actor, ARABIC_NAME), factories.person(session, actor, HEBREW_NAME)
    account = factories.account(session, actor, "acme_reports")
    create_grant(session, actor, salma.id, account.id, GrantRole.ADMIN, "Account owner")
    create_grant(session, actor, dana.id, account.id, GrantRole.ANALYST, "Listening")
    session.commit()


@pytest.mark.parametrize("fmt, content_type, starts", [
    ("json", "application/json", b"{"), ("csv", "text/csv; charset=utf-8", b"[metadata]"), ("pdf", "application/pdf", b"%PDF-"),
])
def test_api_serves_each_format_as_a_file(client, auth_headers, seeded, fmt, content_type, starts):
    response = client.get(f"/api/v1/reports/access?format={fmt}&from=2020-01-01&to=2099-12-31",
                          headers=auth_headers(Role.AUDITOR))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"] == f'attachment; filename="govern-access-20200101-20991231.{fmt}"'
    assert response.data.startswith(starts)
    if fmt == "json":
        document = json.loads(response.data)
        assert document["summary"]["effective_grants"] == 2
        assert {row[1] for row in document["sections"][0]["rows"]} == {ARABIC_NAME, HEBREW_NAME}
    if fmt == "csv":
        assert dict(parse_csv(response.data)["summary"]["rows"])["effective_grants"] == "2"


def test_api_lists_the_reports(client, auth_headers):
    response = client.get("/api/v1/reports/", headers=auth_headers(Role.GOVERNANCE))
    assert response.status_code == 200 and response.get_json()["reports"][0] == "access"


@pytest.mark.parametrize("query, status, field, words", [
    ("/payroll?format=json", 404, None, "no report named 'payroll'"),
    ("/access?format=json&from=yesterday", 422, "from", "'from' must be a date"),
    ("/access?format=json&from=2026-02-01&to=2026-01-01", 422, "from", "must not be after 'to'"),
    ("/access?format=xlsx", 400, None, "unknown format 'xlsx'"),
    ("/access?format=docx&from=2026-01-01", 400, None, "use one of: csv, json, pdf"),
    ("/payroll?format=docx", 404, None, "no report named 'payroll'"),
    ("/access?format=pdf&locale=fr", 422, "locale", ""),
    # item 8: dates that overflowed when converted to UTC or moved to the end of their day
    ("/access?format=json&to=9999-12-31", 422, "to", "in the years 1970 to 2199"),
    ("/access?format=json&from=0001-01-01T00:00:00%2B14:00", 422, "from", "in the years 1970 to 2199"),
    ("/access?format=json&from=1900-01-01", 422, "from", "in the years 1970 to 2199"),
])
def test_api_refuses_bad_input_with_problem_json(client, auth_headers, query, status, field, words):
    response = client.get("/api/v1/reports" + query, headers=auth_headers(Role.ADMIN))
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    if field is None:
        assert words in problem["detail"]
    else:
        assert words in " ".join(problem["errors"][field])


def test_api_needs_the_reports_permission(client, auth_headers):
    assert client.get("/api/v1/reports/access", headers=auth_headers(Role.IT)).status_code == 403


def _signed_in(app, session, role):
    user = ensure_console_user(session, Actor.system("tests"), f"{role.value}@reports.test", role.value, role)
    session.commit()
    return signed_in_client(app, user.id)


def test_console_page_links_each_format(app, session, seeded):
    client = _signed_in(app, session, Role.AUDITOR)
    page = client.get("/reports?from=2026-01-01&to=2026-01-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/reports/leavers/download?format=pdf&amp;from=2026-01-01&amp;to=2026-01-31" in html
    assert 'href="/reports"' in html  # the nav item
    download = client.get("/reports/access/download?format=csv&from=2020-01-01&to=2099-12-31")
    assert download.status_code == 200 and download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert client.get("/reports?from=2026-02-01&to=2026-01-01").status_code == 422


@pytest.mark.parametrize("query, field", [("to=9999-12-31", "report-to"), ("from=0001-01-01", "report-from"),
                                          ("from=2026-02-01&to=2026-01-01", "report-from")])
@pytest.mark.parametrize("path", ["/reports", "/reports/access/download"])
def test_console_shows_a_bad_period_next_to_its_field(app, session, path, query, field):
    client = _signed_in(app, session, Role.AUDITOR)
    page = client.get(f"{path}?format=csv&{query}", headers={"Accept-Language": "he"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert "1970-01-01" in html and "Pick a day" not in html  # the message is translated


def test_console_hides_reports_from_it(app, session):
    client = _signed_in(app, session, Role.IT)
    assert 'href="/reports"' not in client.get("/accounts").get_data(as_text=True)
    assert client.get("/reports").status_code == 403


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("GOVERN_DATABASE_URL", database_url)
    monkeypatch.setenv("GOVERN_SECRET_KEY", "cli-secret-key-" + "x" * 32)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("GOVERN_VAULT_ADDR", raising=False)
    return tmp_path


def test_cli_writes_the_file(cli_env):
    from govern.cli import main

    target = cli_env / "access.json"
    result = CliRunner().invoke(main, ["report", "access", "--format", "json", "--from", "2020-01-01", "-o", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["report"] == "access" and document["period"]["from"] == "2020-01-01T00:00:00+00:00"
    assert "written to" in result.output


@pytest.mark.parametrize("arguments, words", [
    (["report", "payroll", "-o", "x.pdf"], "'payroll' is not one of"),
    (["report", "access", "--format", "xlsx", "-o", "x"], "Invalid value for '--format'"),
    (["report", "access", "--from", "last week", "-o", "x.pdf"], "'from' must be a date"),
    (["report", "access", "--from", "2026-02-01", "--to", "2026-01-01", "-o", "x.pdf"], "starts"),
])
def test_cli_refuses_bad_input_readably(cli_env, arguments, words):
    from govern.cli import main

    result = CliRunner().invoke(main, arguments)
    assert result.exit_code != 0 and words in result.output
    assert "Traceback" not in result.output and not (cli_env / "x.pdf").exists()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_api_streams_csv_and_json_and_closes_its_session(client, auth_headers, seeded, fmt, monkeypatch):
    from govern.reports import web

    closed = []
    original = web.StreamedFile.close
    monkeypatch.setattr(web.StreamedFile, "close", lambda self: (closed.append(True), original(self)))
    response = client.get(f"/api/v1/reports/access?format={fmt}&from=2020-01-01&to=2099-12-31",
                          headers=auth_headers(Role.AUDITOR))
    assert response.status_code == 200 and response.is_streamed
    assert not closed  # nothing read yet: the rows are read while the body is sent
    body = response.get_data()
    assert closed and (b"[section:grants]" in body if fmt == "csv" else json.loads(body)["sections"][0]["count"] == 2)


@pytest.mark.parametrize("query, status, words", [
    ("/reports/access/download?format=docx", 400, "CSV, JSON או PDF, לא „"),
    ("/reports/payroll/download?format=pdf", 404, "אין דוח בשם „"),
])
def test_console_refuses_an_unknown_format_or_report_on_a_readable_page(app, session, query, status, words):
    client = _signed_in(app, session, Role.AUDITOR)
    page = client.get(query, headers={"Accept-Language": "he"})
    assert page.status_code == status and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert words in html and 'role="alert"' in html
    assert "/reports/access/download?format=pdf" in html  # the links to the files there are, to choose again


def _late_on_the_first(session, actor):
    """A violation found at 23:30 UTC on 1 December 2026: in a period that runs to=2026-12-01, not to 2026-11-30."""
    from datetime import datetime, timezone

    from govern.policy.workflow_models import ViolationStatus
    from tests.unit.reports.test_builders import _violation

    _violation(session, factories.account(session, actor, "late_news"), 1, ViolationStatus.OPEN,
               when=datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc))
    session.commit()


def test_a_to_date_includes_that_whole_day_in_the_api_and_the_console(app, session, actor, client, auth_headers):
    _late_on_the_first(session, actor)
    console = _signed_in(app, session, Role.AUDITOR)
    for last_day, found in (("2026-12-01", 1), ("2026-11-30", 0)):
        query = f"format=json&from=2026-11-01&to={last_day}"
        api = client.get(f"/api/v1/reports/policy?{query}", headers=auth_headers(Role.AUDITOR))
        page = console.get(f"/reports/policy/download?{query}")
        for response in (api, page):
            assert response.status_code == 200
            document = json.loads(response.data)
            assert document["summary"]["violations_detected"] == found
            assert document["period"]["last_day"] == last_day
            assert response.headers["Content-Disposition"].endswith(f'-20261101-{last_day.replace("-", "")}.json"')
    listing = console.get("/reports?from=2026-11-01&to=2026-12-01").get_data(as_text=True)
    assert "2026-11-01 – 2026-12-01" in listing and "2026-12-02" not in listing


def test_the_cli_reads_a_to_date_as_the_api_does(cli_env):
    from govern.cli import main

    target = cli_env / "policy.json"
    result = CliRunner().invoke(main, ["report", "policy", "--format", "json", "--from", "2026-11-01", "--to", "2026-12-01",
                                       "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "2026-11-01 to 2026-12-01 UTC, both days included" in result.output
    period = json.loads(target.read_text(encoding="utf-8"))["period"]
    assert period == {"from": "2026-11-01T00:00:00+00:00", "to": "2026-12-02T00:00:00+00:00", "last_day": "2026-12-01"}


def test_the_cli_says_a_to_date_is_included():
    from govern.reports.cli import report

    option = next(param for param in report.params if param.name == "until")
    assert "whole day included" in option.help and "2026-12-01" in option.help
