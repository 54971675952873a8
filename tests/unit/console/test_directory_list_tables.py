"""The leavers list and the sync runs list page both ways, show their totals, filter, sort, and download as CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from govern.auth.roles import Role
from govern.db import utcnow
from govern.directory.models import Departure, OffboardingTask, SyncMode, SyncRun, SyncStatus
from tests import factories
from tests.support.console import signed_in_with_role

PERSON_LINK = re.compile(r'href="/people/(\d+)"')


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" class="button" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _in(client, language: str, path: str):
    """A request in the reader's language (the test's app context would otherwise keep the language chosen first)."""
    from flask_babel import refresh

    refresh()
    try:
        return client.get(path, headers={"Accept-Language": language})
    finally:
        refresh()


def _rows(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff"), "a byte-order mark, so spreadsheets read Arabic and Hebrew"
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _leavers(session, actor, count: int = 7):
    """`count` leavers seen a minute apart; the first two were slow (over the 4 h SLA), the last one is pending."""
    start = utcnow() - timedelta(days=1)
    people = [factories.person(session, actor, display_name=f"Leaver {n:02d}") for n in range(count)]
    departures = []
    for n, person in enumerate(people):
        seen = start + timedelta(minutes=n)
        slow = n < 2
        departure = Departure(person_id=person.id, source="openldap" if n % 2 else "scim", signals=["disabled"],
                              first_seen_at=seen, steps={"grants_revoked": 1},
                              access_removed_at=seen + timedelta(hours=6 if slow else 0, seconds=3),
                              time_to_revoke_seconds=6 * 3600 + 3 if slow else 3)
        session.add(departure)
        departures.append(departure)
    session.flush()
    account = factories.account(session, actor)
    session.add(OffboardingTask(departure_id=departures[-1].id, account_id=account.id, network="linkedin",
                                steps="Remove the admin role"))
    session.commit()
    return people


def test_the_leavers_list_counts_and_pages_both_ways(app, session, actor):
    people = _leavers(session, actor)
    client = signed_in_with_role(app, session, Role.AUDITOR)
    first = _text(client.get("/directory/departures?limit=3"))
    assert "7 leavers" in first and "/directory/departures/export.csv" in first
    newest = [person.id for person in reversed(people)]
    assert [int(found) for found in PERSON_LINK.findall(first)] == newest[:3]
    assert _link(first, "prev") is None
    second = _text(client.get(_link(first, "next")))
    assert [int(found) for found in PERSON_LINK.findall(second)] == newest[3:6]
    back = _text(client.get(_link(second, "prev")))
    assert [int(found) for found in PERSON_LINK.findall(back)] == newest[:3], "Previous comes back across the boundary"
    assert "7 leavers" in second and "First page" in second


def test_the_leavers_list_filters_and_sorts(app, session, actor):
    people = _leavers(session, actor)
    client = signed_in_with_role(app, session, Role.GOVERNANCE)
    breached = _text(client.get("/directory/departures?sla=breached"))
    assert "2 leavers" in breached and {int(n) for n in PERSON_LINK.findall(breached)} == {people[0].id, people[1].id}
    assert "5 leavers" in _text(client.get("/directory/departures?sla=met"))
    pending = _text(client.get("/directory/departures?state=pending"))
    assert "1 leaver" in pending and [int(n) for n in PERSON_LINK.findall(pending)] == [people[-1].id]
    assert "6 leavers" in _text(client.get("/directory/departures?state=complete"))
    assert "3 leavers" in _text(client.get("/directory/departures?source=openldap"))
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    assert "No leaver matches these filters." in _text(client.get(f"/directory/departures?from_date={tomorrow}"))
    assert "7 leavers" in _text(client.get("/directory/departures?from_date=0001-01-01&to_date=9999-12-31"))
    by_name = _text(client.get("/directory/departures?sort=person&limit=4"))
    assert [int(n) for n in PERSON_LINK.findall(by_name)] == [person.id for person in people[:4]]
    rest = _text(client.get(_link(by_name, "next")))
    assert [int(n) for n in PERSON_LINK.findall(rest)] == [person.id for person in people[4:]]
    assert [int(n) for n in PERSON_LINK.findall(_text(client.get(_link(rest, "prev"))))] == [p.id for p in people[:4]]


def test_a_bad_leavers_filter_is_a_readable_400(app, session, actor):
    client = signed_in_with_role(app, session, Role.IT)
    page = client.get("/directory/departures?sla=sometimes")
    assert page.status_code == 400 and "SLA: choose met or breached." in _text(page)
    exported = client.get("/directory/departures/export.csv?from_date=yesterday")
    assert exported.status_code == 400 and "From: use a date such as 2026-01-31." in _text(exported)


def test_the_leavers_csv_holds_every_filtered_row_in_the_readers_language(app, session, actor):
    people = _leavers(session, actor)
    factories.person(session, actor)  # not a leaver
    formula = factories.person(session, actor, display_name="=HYPERLINK(\"http://x\")")
    session.add(Departure(person_id=formula.id, source="scim", signals=["disabled"], steps={},
                          first_seen_at=utcnow() - timedelta(days=2), access_removed_at=utcnow(), time_to_revoke_seconds=1))
    session.commit()
    client = signed_in_with_role(app, session, Role.AUDITOR)
    exported = client.get("/directory/departures/export.csv?sla=breached")
    rows = _rows(exported)
    assert exported.mimetype == "text/csv" and 'filename="govern-leavers-' in exported.headers["Content-Disposition"]
    assert rows[0][:3] == ["Person", "Email", "Source"] and len(rows) == 1 + 2
    assert [row[0] for row in rows[1:]] == ["Leaver 01", "Leaver 00"]
    assert rows[1][8] == "SLA breached" and rows[1][9] == "Complete" and rows[1][2] == "OpenLDAP directory"
    everyone = _rows(client.get("/directory/departures/export.csv"))
    assert len(everyone) == 1 + 8 and everyone[1][9] == "Pending"
    assert "'=HYPERLINK(\"http://x\")" in [row[0] for row in everyone], "a name never runs as a formula"
    arabic = _rows(_in(client, "ar", "/directory/departures/export.csv"))
    assert arabic[0][0] != "Person" and arabic[0][8] != "SLA" and len(arabic) == 9


def _runs(session, count: int = 7):
    start = utcnow() - timedelta(hours=2)
    runs = []
    for n in range(count):
        status = SyncStatus.FAILED if n % 3 == 0 else SyncStatus.SUCCEEDED
        run = SyncRun(source="openldap", mode=SyncMode.FULL if n % 2 else SyncMode.INCREMENTAL, status=status,
                      started_at=start + timedelta(minutes=n), finished_at=start + timedelta(minutes=n, seconds=5),
                      counts={"seen": n, "created": 0}, error="@SUM(1+1)" if status is SyncStatus.FAILED else None)
        session.add(run)
        runs.append(run)
    session.commit()
    return runs


RUN_ROW = re.compile(r'<tr(?: class="is-held")?>\s*<td dir="ltr">(?:<a href="#run-\d+">)?(\d+)')


def test_the_sync_runs_list_counts_pages_both_ways_and_filters(app, session, actor):
    runs = _runs(session)
    client = signed_in_with_role(app, session, Role.AUDITOR)
    first = _text(client.get("/directory/runs?limit=3"))
    newest = [run.id for run in reversed(runs)]
    assert "7 runs" in first and [int(n) for n in RUN_ROW.findall(first)] == newest[:3]
    second = _text(client.get(_link(first, "next")))
    assert [int(n) for n in RUN_ROW.findall(second)] == newest[3:6]
    assert [int(n) for n in RUN_ROW.findall(_text(client.get(_link(second, "prev"))))] == newest[:3]
    failed = _text(client.get("/directory/runs?status=failed"))
    assert "3 runs" in failed and [int(n) for n in RUN_ROW.findall(failed)] == [runs[6].id, runs[3].id, runs[0].id]
    assert "3 runs" in _text(client.get("/directory/runs?mode=full"))
    assert "No run matches these filters." in _text(client.get("/directory/runs?source=scim"))
    assert "7 runs" in _text(client.get("/directory/runs?to_date=9999-12-31"))
    by_status = [int(n) for n in RUN_ROW.findall(_text(client.get("/directory/runs?sort=status")))]
    assert set(by_status[:3]) == {runs[0].id, runs[3].id, runs[6].id} or set(by_status[-3:]) == {runs[0].id, runs[3].id, runs[6].id}
    bad = client.get("/directory/runs?status=exploded")
    assert bad.status_code == 400 and "Status: choose a status from the list." in _text(bad)
    assert client.get("/directory/runs?cursor=forged").status_code == 400


def test_the_sync_runs_csv(app, session, actor):
    runs = _runs(session)
    client = signed_in_with_role(app, session, Role.IT)
    exported = client.get("/directory/runs/export.csv?status=failed")
    rows = _rows(exported)
    assert exported.mimetype == "text/csv" and rows[0][:4] == ["Run", "Source", "Mode", "Status"]
    assert [int(row[0]) for row in rows[1:]] == [runs[6].id, runs[3].id, runs[0].id]
    assert rows[1][3] == "Failed" and rows[1][1] == "OpenLDAP directory" and rows[1][8] == "'@SUM(1+1)"
    hebrew = _rows(_in(client, "he", "/directory/runs/export.csv?status=failed"))
    assert hebrew[0][0] != "Run" and hebrew[1][3] != "Failed" and len(hebrew) == 4
    assert client.get("/directory/runs/export.csv?mode=sideways").status_code == 400


def test_the_exports_need_the_lists_permission(app, session, actor):
    reviewer = signed_in_with_role(app, session, Role.REVIEWER)
    for path in ("/directory/runs", "/directory/runs/export.csv", "/directory/departures",
                 "/directory/departures/export.csv"):
        assert reviewer.get(path).status_code == 403, path
