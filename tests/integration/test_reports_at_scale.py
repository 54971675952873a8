"""Reports and the evidence bundle at a size that broke them: more than 65,535 grants in force, and a review campaign
over more than 65,535 people (each was once a bound parameter of one query), on PostgreSQL through the CLI."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govern.cli import main
from govern.reports.render import parse_csv
from tests.support.large_org import load_large_org

pytestmark = pytest.mark.integration

PEOPLE, GRANTS, LEAVERS = 66_000, 70_000, 300


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def large(scratch_postgres, tmp_path_factory):
    """One database for the module: migrated, the large organisation loaded, a campaign over every grant in force."""
    url = scratch_postgres.create("govern_scale")
    instance = tmp_path_factory.mktemp("instance")
    environment = {"GOVERN_DATABASE_URL": url, "GOVERN_SECRET_KEY": "scale-secret-" + "k" * 32,
                   "GOVERN_INSTANCE_PATH": str(instance)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        assert run("db", "upgrade").exit_code == 0
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            org = load_large_org(connection, people=PEOPLE, accounts=1_000, grants=GRANTS, leavers=LEAVERS, tag="scale")
            campaign = connection.execute(sa.text(
                "INSERT INTO review_campaigns (name, scope_kind, status, on_deadline, opened_by, opened_at, deadline, "
                "reminder_every_hours) VALUES ('Everyone', 'all', 'open', 'escalate', 'tests', now() - interval '1 day', "
                "now() + interval '13 days', 24) RETURNING id")).scalar_one()
            connection.execute(sa.text(
                "INSERT INTO review_items (campaign_id, grant_id, person_id, account_id, grant_role, reviewer_person_id, "
                "decision, decided_by, decided_at) "
                "SELECT :campaign, g.id, g.person_id, g.account_id, g.role, a.owner_id, "
                "CASE WHEN g.id % 10 = 0 THEN 'certified' END, CASE WHEN g.id % 10 = 0 THEN 'tests' END, "
                "CASE WHEN g.id % 10 = 0 THEN now() - interval '1 hour' END "
                "FROM grants g JOIN social_accounts a ON a.id = g.account_id WHERE g.revoked_at IS NULL"),
                {"campaign": campaign})
            certified = connection.execute(sa.text(
                "SELECT count(*) FROM review_items WHERE decision = 'certified'")).scalar_one()
        engine.dispose()
        assert run("audit", "checkpoint").exit_code == 0
        yield {"url": url, "org": org, "certified": certified, "instance": instance}
    scratch_postgres.drop(url)


@pytest.fixture
def env(large, monkeypatch):
    monkeypatch.setenv("GOVERN_DATABASE_URL", large["url"])
    monkeypatch.setenv("GOVERN_SECRET_KEY", "scale-secret-" + "k" * 32)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(large["instance"]))
    return large


def test_access_report_csv_and_json_over_65535_grants(env, tmp_path):
    csv_file, json_file = tmp_path / "access.csv", tmp_path / "access.json"
    for fmt, target in (("csv", csv_file), ("json", json_file)):
        written = run("report", "access", "--format", fmt, "-o", str(target))
        assert written.exit_code == 0, written.output + written.stderr
    blocks = parse_csv(csv_file.read_bytes())
    summary = dict(blocks["summary"]["rows"])
    assert summary["effective_grants"] == str(GRANTS)
    assert len(blocks["section:grants"]["rows"]) == GRANTS
    assert summary["people_with_access"] == str(PEOPLE) and summary["accounts_with_access"] == "1000"
    assert summary["people_with_access_not_in_directory"] == str(LEAVERS)
    # leavers keep their grants: every grant of the last LEAVERS people is flagged (70,000 over 66,000 people)
    assert len(blocks["section:not_in_directory"]["rows"]) >= LEAVERS
    assert summary["grants_never_reviewed"] == str(GRANTS - env["certified"])
    document = json.loads(json_file.read_bytes())
    assert document["summary"]["effective_grants"] == GRANTS
    assert document["summary"]["grants_never_reviewed"] == GRANTS - env["certified"]
    grants = next(s for s in document["sections"] if s["key"] == "grants")
    assert len(grants["rows"]) == GRANTS and grants["columns"][0] == "grant_id"
    assert len({row[0] for row in grants["rows"]}) == GRANTS


def test_reviews_report_over_65535_people(env, tmp_path):
    target = tmp_path / "reviews.csv"
    written = run("report", "reviews", "--format", "csv", "-o", str(target))
    assert written.exit_code == 0, written.output + written.stderr
    blocks = parse_csv(target.read_bytes())
    summary = dict(blocks["summary"]["rows"])
    assert summary["campaigns"] == "1" and summary["items"] == str(GRANTS)
    assert summary["certified"] == str(env["certified"]) and summary["undecided"] == str(GRANTS - env["certified"])
    assert len(blocks["section:items"]["rows"]) == GRANTS
    campaign = blocks["section:campaigns"]
    assert campaign["rows"][0][campaign["header"].index("items")] == str(GRANTS)


def test_access_pdf_is_a_document_not_a_70000_row_table(env, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    target = tmp_path / "access.pdf"
    written = run("report", "access", "--format", "pdf", "-o", str(target))
    assert written.exit_code == 0, written.output + written.stderr
    document = pdfium.PdfDocument(target.read_bytes())
    assert len(document) < 40
    text = "".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    assert f"{GRANTS - 200:,} more rows are in the CSV export" in text.replace("\r\n", " ").replace("\n", " ")


def test_evidence_export_over_65535_grants_verifies(env, tmp_path):
    bundle = tmp_path / "bundle.zip"
    today = datetime.now(timezone.utc).date()
    exported = run("evidence", "export", "--from", (today - timedelta(days=30)).isoformat(),
                   "--to", (today + timedelta(days=1)).isoformat(), "-o", str(bundle))
    assert exported.exit_code == 0, exported.output + exported.stderr
    assert exported.stdout == "" or "evidence bundle written" in exported.stdout
    with zipfile.ZipFile(bundle) as archive:
        access = json.loads(archive.read("reports/access.json"))
        blocks = parse_csv(archive.read("reports/access.csv"))
        assert archive.read("reports/access.pdf").startswith(b"%PDF-")
    assert access["summary"]["effective_grants"] == GRANTS
    assert len(blocks["section:grants"]["rows"]) == GRANTS
    keys = tmp_path / "keys.json"
    keys.write_text(run("audit", "keys", "--json").stdout)
    verified = run("audit", "verify", "--bundle", str(bundle), "--public-key", str(keys))
    assert verified.exit_code == 0 and "intact" in verified.stdout
