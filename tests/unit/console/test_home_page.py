"""The console home: each role's to-do shows what that role may act on and nothing else, the charts it may read draw
the figures of the data, and the page reads right to left in Arabic."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from flask_babel import refresh

from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.broker.models import ConnectionHealth
from govern.db import utcnow
from govern.directory.models import SyncMode, SyncRun, SyncStatus
from govern.home import service as home
from govern.policy.workflow_models import ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from tests import factories
from tests.support.console import signed_in_client
from tests.unit.reports.test_builders import _connection, _violation

EVERY_CHART = {"health", "risk", "expiring", "violations", "leavers", "reviews"}
EXPECTED = {
    # role: (to-dos shown, charts shown)
    Role.ADMIN: ({"approvals", "escalated", "violations_open", "violations_assigned", "held_runs", "reconnect"}, EVERY_CHART),
    Role.GOVERNANCE: ({"approvals", "reviews", "escalated", "violations_open", "violations_assigned", "held_runs"},
                      EVERY_CHART),
    Role.IT: ({"reviews", "reconnect"}, EVERY_CHART - {"reviews"}),
    Role.AUDITOR: (set(), EVERY_CHART),
    Role.REVIEWER: ({"reviews"}, set()),
}
# What waits in `world`, per to-do.
WAITING = {"approvals": 1, "reviews": 0, "escalated": 0, "violations_open": 2, "violations_assigned": 1, "held_runs": 1,
           "reconnect": 1}


@pytest.fixture
def world(session, actor):
    now = utcnow().replace(microsecond=0)
    owner = factories.person(session, actor, "ليلى حداد")
    calm = factories.account(session, actor, owner_id=owner.id)
    _connection(session, calm, owner, issued_at=now, has_refresh_token=True, refresh_expires_at=now + timedelta(days=60))
    broken = factories.account(session, actor, owner_id=owner.id)
    _connection(session, broken, owner, issued_at=now, expires_at=now + timedelta(days=5),
                health=ConnectionHealth.NEEDS_RECONNECT)
    factories.account(session, actor)  # no owner, never connected
    _violation(session, broken, 1, ViolationStatus.OPEN)
    _violation(session, broken, 2, ViolationStatus.OPEN, categories=("brand",))
    _violation(session, broken, 3, ViolationStatus.ASSIGNED, categories=("confidentiality",))
    session.add(PublishApproval(account_id=calm.id, person_id=owner.id, requested_by="t", network_action="publish",
                                params={}, findings=[], pack_version="v1", status=ApprovalStatus.PENDING))
    session.add(SyncRun(source="openldap", mode=SyncMode.FULL, status=SyncStatus.HELD))
    session.commit()
    return owner


@pytest.fixture
def console(app, session, world):
    """A client signed in as a new console user of `role` (linked to a person: the account owner), in `locale`."""

    def sign_in(role: Role, locale: str = "en"):
        user = ensure_console_user(session, Actor.system("tests"), f"home-{uuid.uuid4().hex[:8]}@console.test",
                                   "home tester", role, person_id=None if role is Role.ADMIN else world.id)
        session.commit()
        client = signed_in_client(app, user.id)
        with client.session_transaction() as cookie:
            cookie["locale"] = locale
        refresh()  # the test's app context outlives the request, and Flask-Babel caches the locale on it
        return client

    return sign_in


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _todos(page: str) -> dict[str, int]:
    return {key: int(count) for key, count in
            re.findall(r'data-todo="(\w+)">\s*<a href="[^"]*"><span class="todo-count">(\d+)</span>', page)}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_what_it_may_act_on_and_the_charts_it_may_read(console, role):
    page = _page(console(role))
    todos, charts = EXPECTED[role]
    assert _todos(page) == {key: WAITING[key] for key in todos}
    assert set(re.findall(r'data-chart="(\w+)"', page)) == charts
    assert "style=" not in page and not re.search(r"<script(?![^>]*\ssrc=)", page)  # the CSP allows neither inline


def test_each_to_do_links_to_the_page_that_handles_it(console):
    page = _page(console(Role.ADMIN))
    links = dict(re.findall(r'data-todo="(\w+)">\s*<a href="([^"]+)"', page))
    assert links == {"approvals": "/policy/approvals", "escalated": "/reviews",
                     "violations_open": "/policy/violations?status=open",
                     "violations_assigned": "/policy/violations?status=assigned", "held_runs": "/directory/runs",
                     "reconnect": "/accounts?health=needs_reconnect"}


def _chart(page: str, key: str) -> str:
    return page.split(f'data-chart="{key}"', 1)[1].split("</section>", 1)[0]


def test_the_charts_draw_the_numbers_of_the_data_and_list_them_in_a_table(console, session):
    page = _page(console(Role.AUDITOR))
    health = _chart(page, "health")
    drawn = [(label, float(value)) for label, value in re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', health)]
    expected = home.accounts_by_health(session).bars
    assert [value for _label, value in drawn] == [value for _key, value in expected] == [1, 0, 1, 0, 1]
    assert [label for label, _value in drawn] == ["Healthy", "Expiring", "Needs reconnecting", "Revoked", "Not connected"]
    table = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', health)
    assert [(label, float(shown)) for label, shown in table] == drawn
    by_category, by_week = _chart(page, "violations").split("</svg>")[:2]
    assert dict(re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', by_category)) == {
        "Privacy": "1", "Confidentiality": "1", "Copyright": "0", "Brand": "1"}
    weekly = re.findall(r'data-value="([^"]+)"', by_week)
    assert weekly == ["0"] * 7 + ["3"]  # each violation once, in the week it was found (this one)
    assert re.findall(r'data-value="([^"]+)"', _chart(page, "risk")) == [
        f"{value:g}" for _key, value in home.accounts_by_risk(session).bars]


def test_the_home_page_in_arabic_reads_right_to_left(console):
    page = _page(console(Role.ADMIN, "ar"))
    assert re.search(r'<html lang="ar" dir="rtl">', page)
    assert "<h1>الرئيسية</h1>" in page and "حسابات تحتاج إلى إعادة ربط" in page and "الحسابات حسب الخطورة" in page
    assert page.count('direction="rtl"') == len(EVERY_CHART)  # every SVG drawn (no campaign is open; two for violations) is mirrored
    assert 'data-label="منخفضة"' in page or 'data-label="منخفض"' in page
    for english in ("Accounts that need reconnecting", "Accounts by risk", "Open violations by category", "At a glance"):
        assert english not in page
