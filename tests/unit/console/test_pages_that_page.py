"""Account and person pages page their grants (with totals, each grant read once), show the latest events with a
link to the audit log, and pick a person by searching, never from a list of everyone."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.actor import Actor

from govern.audit.service import record
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.db import utcnow
from govern.extensions import db
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant, revoke_grant
from tests import factories
from tests.support.console import signed_in_client

GRANT_ROW = re.compile(r'href="/people/(\d+)"')


@pytest.fixture
def admin_console(app, session):
    user = ensure_console_user(session, Actor.system("tests"), "pages@console.test", "Pages", Role.ADMIN)
    session.commit()
    return signed_in_client(app, user.id)


@pytest.fixture
def crowded_account(session, actor):
    """An account with 60 grants in force and 3 revoked ones; people named so that they are easy to find."""
    account = factories.account(session, actor)
    people = [factories.person(session, actor, display_name=f"Crowd ليلى {n:02d}") for n in range(63)]
    grants = [create_grant(session, actor, person.id, account.id, GrantRole.ANALYST, "crowd") for person in people]
    for grant in grants[:3]:
        revoke_grant(session, actor, grant.id, "moved on")
    session.commit()
    return account, people


def _access_rows(page: str) -> list[str]:
    """Person ids linked in the "Access in force" card."""
    card = page.split('id="access-title"', 1)[1].split("</section>", 1)[0]
    return GRANT_ROW.findall(card)


def _next_link(page: str, name: str) -> str | None:
    found = re.search(r'rel="next" class="button" href="([^"]*' + name + r'=[^"]*)"', page)
    return html.unescape(found.group(1)).split("#")[0] if found else None


def test_an_account_page_shows_a_page_of_its_grants_with_the_total_and_the_next_page(admin_console, crowded_account):
    account, people = crowded_account
    first = admin_console.get(f"/accounts/{account.id}")
    page = html.unescape(first.get_data(as_text=True))
    assert first.status_code == 200
    shown = _access_rows(page)
    assert len(shown) == 50 and "Showing 50 of 60." in page
    following = admin_console.get(_next_link(page, "cursor"))
    rest = _access_rows(html.unescape(following.get_data(as_text=True)))
    assert len(rest) == 10 and not set(rest) & set(shown)
    assert {int(i) for i in shown + rest} == {p.id for p in people[3:]}  # every grant in force, once, newest first


def test_an_account_page_never_reads_all_its_grants(app, admin_console, crowded_account):
    account, _people = crowded_account
    statements: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _executemany):
        if re.search(r"\bFROM grants\b", statement):
            statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert admin_console.get(f"/accounts/{account.id}").status_code == 200
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert statements, "the page read no grants"
    unbounded = [s for s in statements if "LIMIT" not in s and "count(" not in s]
    assert unbounded == []  # each list is a page (LIMIT) and a count; before, every grant was loaded, twice


def test_a_stale_cursor_is_a_readable_problem_and_the_first_page(admin_console, crowded_account):
    account, _people = crowded_account
    response = admin_console.get(f"/accounts/{account.id}", query_string={"cursor": "not-a-cursor"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "this page link is no longer valid" in page and len(_access_rows(page)) == 50


def test_a_person_page_pages_their_grants(admin_console, session, actor):
    person = factories.person(session, actor, display_name="Busy נועה")
    accounts = [factories.account(session, actor) for _ in range(55)]
    for account in accounts:
        create_grant(session, actor, person.id, account.id, GrantRole.PUBLISHER, "busy")
    session.commit()
    page = html.unescape(admin_console.get(f"/people/{person.id}").get_data(as_text=True))
    assert "Showing 50 of 55." in page
    assert _next_link(page, "cursor") is not None


def test_history_shows_the_latest_events_and_links_to_the_whole_log(admin_console, session, actor):
    account = factories.account(session, actor)
    for n in range(25):
        record(session, actor, "accounts:account:update", "account", account.id, reason=f"change {n:02d}")
    record(session, actor, "accounts:account:update", "account", account.id + 1000, reason="someone else's")
    session.commit()
    page = html.unescape(admin_console.get(f"/accounts/{account.id}").get_data(as_text=True))
    history = page.split('id="history-title"', 1)[1].split("</section>", 1)[0]
    assert "change 24" in history and "change 04" not in history  # the latest 20
    link = re.search(r'href="(/audit\?[^"]+)"', history)
    assert link, "no link to the whole history"
    log_page = admin_console.get(html.unescape(link.group(1)))
    log = html.unescape(log_page.get_data(as_text=True))
    assert log_page.status_code == 200
    assert "change 24" in log and "someone else's" not in log
    older = admin_console.get(_next_link(log, "before_seq") or "/audit?target_type=account&target_id=0")
    assert "change 00" in html.unescape(older.get_data(as_text=True)) or "change 00" in log


def test_the_audit_log_refuses_bad_filters_readably(admin_console):
    response = admin_console.get("/audit", query_string={"from": "yesterday"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert re.search(r'id="audit-from"[^>]*aria-invalid="true"', page)
    assert 'id="audit-from-error">Pick a day between 1970-01-01 and 2199-12-31.' in page


def test_the_person_picker_is_a_search_not_a_list_of_everyone(admin_console, crowded_account):
    account, _people = crowded_account
    page = html.unescape(admin_console.get(f"/accounts/{account.id}").get_data(as_text=True))
    picker = page.split('id="person_id"', 1)[1].split("</select>", 1)[0]
    assert picker.count("<option") == 1  # only "Choose a person" until something is searched for
    found = html.unescape(admin_console.get(f"/accounts/{account.id}", query_string={"person_q": "ليلى"}).get_data(as_text=True))
    picker = found.split('id="person_id"', 1)[1].split("</select>", 1)[0]
    assert picker.count("<option") == 21  # at most 20 matches, and the placeholder
    narrowed = html.unescape(admin_console.get(f"/accounts/{account.id}", query_string={"person_q": "crowd ليلى 07"}).get_data(as_text=True))
    assert narrowed.split('id="person_id"', 1)[1].split("</select>", 1)[0].count("<option") == 2


def test_the_person_search_endpoint_answers_at_most_twenty(admin_console, crowded_account):
    response = admin_console.get("/people/search", query_string={"q": "CROWD ليلى"})
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert len(items) == 20 and all("ليلى" in item["label"] for item in items)
    assert admin_console.get("/people/search").get_json() == {"items": []}


def test_the_api_pages_an_accounts_and_a_persons_grants_with_totals(client, auth_headers, crowded_account):
    account, people = crowded_account
    headers = auth_headers(Role.AUDITOR)
    first = client.get(f"/api/v1/accounts/{account.id}/grants", query_string={"limit": 40}, headers=headers).get_json()
    assert first["total"] == 60 and len(first["items"]) == 40 and first["next_cursor"]
    rest = client.get(f"/api/v1/accounts/{account.id}/grants", query_string={"limit": 40, "cursor": first["next_cursor"]},
                      headers=headers).get_json()
    assert len(rest["items"]) == 20 and rest["next_cursor"] is None
    past = client.get(f"/api/v1/accounts/{account.id}/grants", query_string={"state": "not_in_force"}, headers=headers).get_json()
    assert past["total"] == 3 and {g["state"] for g in past["items"]} == {"revoked"}
    mine = client.get(f"/api/v1/people/{people[10].id}/grants", headers=headers).get_json()
    assert mine["total"] == 1 and mine["items"][0]["account"]["id"] == account.id
    detail = client.get(f"/api/v1/people/{people[10].id}", headers=headers).get_json()
    assert detail["access_total"] == 1 and detail["access_next_cursor"] is None
    bad = client.get(f"/api/v1/accounts/{account.id}/grants", query_string={"cursor": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.content_type.startswith("application/problem+json")
    assert client.get("/api/v1/accounts/999999/grants", headers=headers).status_code == 404


def test_grants_pages_are_newest_first(session, actor):
    from govern.grants.service import GrantFilter, grants_page

    account = factories.account(session, actor)
    people = [factories.person(session, actor) for _ in range(3)]
    now = utcnow()
    for n, person in enumerate(people):
        create_grant(session, actor, person.id, account.id, GrantRole.ANALYST, "order", starts_at=now - timedelta(days=3 - n))
    session.flush()
    page = grants_page(session, GrantFilter(account_id=account.id), limit=2)
    assert [g.person_id for g in page.items] == [people[2].id, people[1].id] and page.total == 3
    assert [g.person_id for g in grants_page(session, GrantFilter(account_id=account.id), 2, page.next_cursor).items] == [people[0].id]
    assert session.scalar(sa.select(sa.func.count(Grant.id)).where(Grant.account_id == account.id)) == 3


def test_the_leavers_page_shows_fifty_leavers_newest_first_and_pages_to_the_rest(admin_console, session, actor):
    from govern.directory.models import Departure

    start = utcnow() - timedelta(days=1)
    people = [factories.person(session, actor, display_name=f"Leaver {n:02d}") for n in range(55)]
    for n, person in enumerate(people):
        session.add(Departure(person_id=person.id, source="ldap", signals=["disabled"], first_seen_at=start + timedelta(minutes=n),
                              steps={"grants_revoked": 1}))
    session.commit()

    first = admin_console.get("/directory/departures")
    page = html.unescape(first.get_data(as_text=True))
    shown = [int(found) for found in GRANT_ROW.findall(page)]
    assert shown == [person.id for person in reversed(people)][:50]
    following = _next_link(page, "cursor")
    assert following is not None
    rest = html.unescape(admin_console.get(following).get_data(as_text=True))
    assert [int(found) for found in GRANT_ROW.findall(rest)] == [person.id for person in reversed(people[:5])]
    assert _next_link(rest, "cursor") is None

    forged = admin_console.get("/directory/departures?cursor=not-a-cursor")
    assert forged.status_code == 200
    assert [int(found) for found in GRANT_ROW.findall(html.unescape(forged.get_data(as_text=True)))] == shown


def test_the_leavers_page_pages_the_removals_to_do_at_the_networks(admin_console, session, actor):
    from govern.directory.models import Departure, OffboardingTask

    person = factories.person(session, actor, display_name="Leaver with pages")
    account = factories.account(session, actor)
    departure = Departure(person_id=person.id, source="ldap", signals=["disabled"], steps={"grants_revoked": 1})
    session.add(departure)
    session.flush()
    for n in range(30):
        session.add(OffboardingTask(departure_id=departure.id, account_id=account.id, network="linkedin",
                                    steps=f"Remove the admin role, step {n:02d}"))
    session.commit()

    first = html.unescape(admin_console.get("/directory/departures").get_data(as_text=True))
    assert "Showing 25 of 30." in first
    assert re.findall(r"step (\d\d)", first) == [f"{n:02d}" for n in range(25)]
    rest = html.unescape(admin_console.get(_next_link(first, "tasks_cursor")).get_data(as_text=True))
    assert re.findall(r"step (\d\d)", rest) == [f"{n:02d}" for n in range(25, 30)]
