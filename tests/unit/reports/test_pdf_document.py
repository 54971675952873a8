"""The PDF reads as a document: every column on the page in en and ar, codes and figures in words, percentages,
one line (not a page) for an empty table, and Arabic and Hebrew with no English heading of govern's own."""

from __future__ import annotations

import os
import re
from collections import Counter
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from govern.broker.models import ConnectionHealth
from govern.credentials.models import LegacyCredential
from govern.people.models import PersonSource, PersonStatus
from govern.people.service import upsert_person
from govern.policy.workflow_models import ViolationStatus
from govern.reports import labels
from govern.reports.render import render_report, report_html
from govern.reports.service import REPORTS, build_report
from tests import factories
from tests.unit.reports.conftest import ARABIC_NAME, HEBREW_NAME
from tests.unit.reports.test_builders import _connection, _violation
from tests.unit.reports.test_render import sample_report

pdfium = pytest.importorskip("pypdfium2")

BRANDS = {"Active Directory"}  # a product's name, written as it is in every language

# Where to save page images to look at (REPORT_PNG_DIR=/tmp/pdf pytest ...); nothing is saved otherwise.
PNG_DIR = os.environ.get("REPORT_PNG_DIR")


@pytest.fixture
def inventory(session, actor, now):
    """Accounts with long names in three scripts, a leaver owner, open violations and a rotation due: every column
    of the accounts report holds something, as in a real inventory."""
    owner = factories.person(session, actor, ARABIC_NAME)
    leaver = factories.person(session, actor, HEBREW_NAME)
    for n in range(6):
        account = factories.account(session, actor, f"acme_regional_communications_{n}", network="facebook",
                                    owner_id=(owner if n % 2 else leaver).id, business_unit="Corporate Communications EMEA",
                                    display_name=f"Acme Regional Communications {n} — {ARABIC_NAME}")
        _connection(session, account, leaver if n % 2 else owner, issued_at=now, expires_at=now + timedelta(days=3 + n),
                    health=ConnectionHealth.EXPIRING if n % 3 else ConnectionHealth.HEALTHY)
        for v in range(n % 4):
            _violation(session, account, 100 * n + v, ViolationStatus.OPEN)
        if n % 2:
            session.add(LegacyCredential(account_id=account.id, store_path=f"p{n}", store_version=1, username="u",
                                         has_password=True, rotate_now=True, updated_by="t"))
    factories.account(session, actor, "never_connected_account", network="x")
    upsert_person(session, actor, PersonSource.MANUAL, leaver.external_id, status=PersonStatus.LEAVER,
                  left_at=now - timedelta(days=1))
    session.flush()


def _pages(data: bytes, name: str):
    document = pdfium.PdfDocument(data)
    for number, page in enumerate(document):
        if PNG_DIR:
            Path(PNG_DIR).mkdir(parents=True, exist_ok=True)
            page.render(scale=1.4).to_pil().save(Path(PNG_DIR) / f"{name}-{number + 1}.png")
        yield page


def _text_off_the_page(page) -> str:
    """The characters drawn (partly) outside the page: a column cut off at either edge."""
    width, height = page.get_size()
    text = page.get_textpage()
    outside = []
    for index in range(text.count_chars()):
        left, bottom, right, top = text.get_charbox(index)
        if right > left and (left < -0.5 or right > width + 0.5 or bottom < -0.5 or top > height + 0.5):
            outside.append(text.get_text_range(index, 1))
    return "".join(outside)


def _bare(text: str) -> str:
    """Without the marks (Arabic shadda, vowels) a PDF's text layer may place apart from their letter."""
    return "".join(char for char in text if not unicodedata.combining(char))


def _page_text(page) -> str:
    return _bare(page.get_textpage().get_text_range())


@pytest.mark.parametrize("locale", ["en", "ar", "he"])
def test_no_column_of_the_accounts_report_is_cut(app, session, inventory, period, settings, locale):
    report = build_report(session, "accounts", period, settings)
    with app.app_context():
        data = render_report(report, "pdf", locale=locale)
    pages = list(_pages(data, f"accounts-{locale}"))
    assert all(_text_off_the_page(page) == "" for page in pages), [_text_off_the_page(page) for page in pages]
    text = "\n".join(_page_text(page) for page in pages)
    flat = re.sub(r"\s+", " ", text)
    with app.app_context(), force_locale(locale):
        for label in report.section("accounts").labels:
            words = _bare(gettext(label)).split()
            # a heading may wrap: each of its words is on the page
            # (an Arabic letter with a mark may come out of the text layer away from its word: then its letters count)
            assert all(word in flat or Counter(word) <= Counter(flat) for word in words), \
                f"column {label!r} ({gettext(label)!r}) is not on the page"
        assert gettext("Risk score") in flat and gettext("High") in flat
    if locale != "en":  # not one English heading, column name or figure of govern's own on any page
        english = [*report.section("accounts").labels, report.section("accounts").title, "Summary", "Based on",
                   "Accounts by risk", *(labels.FIGURES[key] for key in report.summary)]
        assert [words for words in english if words in text] == []


def test_codes_and_figures_read_as_words(app, session, inventory, period, settings):
    report = build_report(session, "accounts", period, settings)
    with app.app_context():
        html = report_html(report, "en")
    assert ">Facebook</td>" in html and ">facebook</td>" not in html
    assert "Expiring" in html and "Current employee" in html and ">expiring<" not in html
    assert "Accounts without an active owner" in html and "Accounts without active owner" not in html


def test_percentages_and_the_sla_label(app):
    report = sample_report()
    report = type(report)(**{**report.__dict__, "summary": {"completion": 2 / 9, "sla_target_hours": 4.0,
                                                             "false_positive_rate": 0.25}})
    with app.app_context():
        html = report_html(report, "en")
    assert "22%" in html and "25%" in html and "0.2222" not in html
    assert "SLA target (hours)" in html and "Sla" not in html


def test_an_empty_table_is_one_line_not_a_page(app):
    report = sample_report(rows=3)
    with app.app_context():
        html = report_html(report, "ar")
        data = render_report(report, "pdf", locale="ar")
    assert "لا شيء" in html.split(">Nothing here", 1)[-1] or "لا شيء" in html
    document = pdfium.PdfDocument(data)
    assert len(document) == 3  # the title page, the summary, one page with the table and the empty section


def test_every_label_has_arabic_and_hebrew(app):
    with app.app_context():
        for locale in ("ar", "he"):
            with force_locale(locale):
                missing = sorted(m for m in labels.every_message() - BRANDS if gettext(m) == m)
            assert not missing, f"{locale}: {missing}"


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("locale", ["ar", "he"])
def test_no_english_heading_in_arabic_and_hebrew_pdfs(app, session, inventory, period, settings, name, locale):
    report = build_report(session, name, period, settings)
    with app.app_context():
        html = report_html(report, locale)
    headings = re.findall(r"<(?:h1|h2|th)[^>]*>([^<]+)<", html)
    headings += re.findall(r'<td class="figure">([^<]+)</td>', html)
    headings += [line for line in re.findall(r"<li>([^<]+)</li>", html)]
    headings += re.findall(r'<p class="alert"[^>]*>([^<]+)</p>', html)
    english = [text for text in headings if re.search(r"[A-Za-z]{3,}", text) and not re.search(r"[\u0590-\u06ff]", text)]
    assert not english, english


@pytest.fixture
def every_kind_of_row(session, actor, now, inventory):
    """Something in each report: a leaver past the SLA, violations in two scripts, a campaign scoped to a business unit."""
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant
    from tests.unit.reports.test_builders import _departed

    account = factories.account(session, actor, "acme_jobs_and_careers_worldwide", network="linkedin")
    _departed(session, actor, ARABIC_NAME + " الثانية", account, now - timedelta(days=3), 30)
    _violation(session, account, 900, ViolationStatus.RESOLVED, "رقم الهاتف [masked]", categories=("privacy", "brand"))
    reviews = pytest.importorskip("govern.reviews.models")
    analyst = factories.person(session, actor, HEBREW_NAME + " ב")
    grant = create_grant(session, actor, analyst.id, account.id, GrantRole.ANALYST, "Listening")
    campaign = reviews.ReviewCampaign(
        name="مراجعة الربع الرابع", scope_kind=reviews.ScopeKind.BUSINESS_UNIT, scope_value="Corporate Communications EMEA",
        status=reviews.CampaignStatus.OPEN, on_deadline=reviews.DeadlineAction.REVOKE, opened_by=actor.id,
        opened_at=now - timedelta(days=5), deadline=now + timedelta(days=5), reminder_every_hours=72)
    session.add(campaign)
    session.flush()
    session.add(reviews.ReviewItem(campaign_id=campaign.id, grant_id=grant.id, person_id=analyst.id, account_id=account.id,
                                   grant_role=grant.role.value, reviewer_person_id=analyst.id,
                                   decision=reviews.ItemDecision.CERTIFIED, decided_by=actor.id, decided_at=now))
    session.flush()


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("locale", ["en", "ar"])
def test_every_report_stays_on_its_pages(app, session, every_kind_of_row, period, settings, name, locale):
    report = build_report(session, name, period, settings)
    with app.app_context():
        html = report_html(report, locale)
        data = render_report(report, "pdf", locale=locale)
    pages = list(_pages(data, f"{name}-{locale}"))
    assert all(_text_off_the_page(page) == "" for page in pages)
    # no page holds only an empty table: the tables that have no rows follow the others on the same page
    empty = sum(1 for section in report.sections if section.count == 0)
    assert len(pages) <= 2 + len(report.sections) - empty + (1 if empty == len(report.sections) else 0)
    assert ">business_unit:" not in html and ">linkedin<" not in html and ">certified<" not in html


def test_each_kind_of_code_reads_as_words():
    present = labels.Presenter("en", lambda text, **values: text % values if values else text,
                               network_names={"acme_social": "Acme Social"}, actor_names={"console_user:7": "Maya Cohen"})
    assert present.cell("decided_by", "console_user:7") == "Maya Cohen"
    assert present.cell("granted_by", "system:directory-sync") == "directory-sync"
    assert present.cell("connector", ARABIC_NAME) == ARABIC_NAME  # a person's name stays a name
    assert present.cell("scope", "business_unit:Marketing") == "Business unit: Marketing"
    assert present.cell("scope", "network:linkedin") == "Network: LinkedIn" and present.cell("scope", "all") == "Every account"
    assert present.cell("network", "acme_social") == "Acme Social" and present.cell("network", "x") == "X"
    assert present.cell("account", "facebook:acme_news") == "Facebook: acme_news"
    assert present.cell("language", "ar+he") == "Arabic + Hebrew"
    assert present.cell("completion", 2 / 9) == "22%" and present.figure("false_positive_rate", 0.25) == "25%"
    assert present.cell("account_id", 12345) == "12345" and present.cell("accesses", 12345) == "12,345"
    assert present.cell("sla_breached", "yes") == "Yes" and present.cell("status", "false_positive") == "False positive"
    assert present.figure_label("sla_target_hours") == "SLA target (hours)"


def test_reports_know_the_console_users_names(session, actor, period, settings):
    from govern.actor import Actor
    from govern.auth.roles import Role
    from govern.auth.service import ensure_console_user

    user = ensure_console_user(session, Actor.system("tests"), "maya@reports.test", "Maya Cohen", Role.AUDITOR)
    report = build_report(session, "access", period, settings)
    assert report.actor_names[f"console_user:{user.id}"] == "Maya Cohen"
