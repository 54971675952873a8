"""The audit log pages both ways, shows its total (counted up to 10,000, then "10,000+"), and downloads as CSV: every
event the filters select, named and labelled in the reader's language; the API pages both ways too."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from govern.actor import Actor
from govern.audit import service as audit
from govern.audit.service import EventFilter, count_events, events_page, record
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from tests import factories
from tests.support.console import signed_in_with_role

SEQ = re.compile(r'<tr id="event-(\d+)">')
JOB = "tables-audit"
MINE = f"/audit?actor=system:{JOB}"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" class="button" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _seqs(page: str) -> list[int]:
    return [int(seq) for seq in SEQ.findall(page)]


def _in(client, language: str, path: str):
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


@pytest.fixture
def events(session, actor) -> list[int]:
    """Seven events by one job about one account, the last with a reason that would run as a formula; newest last."""
    account = factories.account(session, actor, handle="tables_audit")
    job = Actor.system(JOB)
    seqs = [record(session, job, "accounts:account:update", "account", account.id, reason=f"change {n}").seq
            for n in range(6)]
    seqs.append(record(session, job, "accounts:account:retire", "account", account.id, reason="=cmd|' /C calc'!A0").seq)
    session.commit()
    return seqs


def test_the_log_counts_and_pages_both_ways(app, session, events, monkeypatch):
    import govern.audit.views as views

    monkeypatch.setattr(views, "EVENTS_PER_PAGE", 3)
    client = signed_in_with_role(app, session, Role.AUDITOR)
    newest = list(reversed(events))
    first = _text(client.get(MINE))
    assert "7 events" in first and "/audit/export.csv?actor=system" in first
    assert _seqs(first) == newest[:3] and _link(first, "prev") is None
    second = _text(client.get(_link(first, "next")))
    assert _seqs(second) == newest[3:6] and "7 events" in second and "First page" in second
    third = _text(client.get(_link(second, "next")))
    assert _seqs(third) == newest[6:] and _link(third, "next") is None
    back = _text(client.get(_link(third, "prev")))
    assert _seqs(back) == newest[3:6], "Previous comes back across the boundary"
    start = _text(client.get(_link(back, "prev")))
    assert _seqs(start) == newest[:3] and _link(start, "prev") is None and _link(start, "next")


def test_a_period_pages_both_ways_along_its_time_order(app, session, events, monkeypatch):
    """With a period and no indexed key the log is ordered by (occurred_at, seq): Previous follows that order too."""
    import govern.audit.views as views
    from govern.db import utcnow

    monkeypatch.setattr(views, "EVENTS_PER_PAGE", 2)
    client = signed_in_with_role(app, session, Role.AUDITOR)
    today = utcnow().date().isoformat()
    path = f"/audit?target_type=account&from={today}&to={today}"
    first = _text(client.get(path))
    second = _text(client.get(_link(first, "next")))
    assert _seqs(second) and set(_seqs(second)).isdisjoint(_seqs(first))
    assert _seqs(_text(client.get(_link(second, "prev")))) == _seqs(first)


def test_the_count_stops_at_its_cap(app, session, events, monkeypatch):
    assert count_events(session, EventFilter(actor=f"system:{JOB}")) == 7
    assert count_events(session, EventFilter(actor=f"system:{JOB}"), cap=5) == 6, "cap + 1: enough to say 'more'"
    import govern.audit.views as views

    monkeypatch.setattr(views, "COUNT_CAP", 5)
    client = signed_in_with_role(app, session, Role.AUDITOR)
    assert "5+ events" in _text(client.get(MINE))
    assert "7 events" not in _text(client.get(MINE))


def test_a_page_reads_either_way_from_its_ends(session, events):
    mine = EventFilter(actor=f"system:{JOB}")
    first = events_page(session, mine, 3)
    assert [e.seq for e in first.items] == events[::-1][:3] and first.prev_after_seq is None
    second = events_page(session, mine, 3, before_seq=first.next_before_seq)
    assert second.prev_after_seq == second.items[0].seq
    assert [e.seq for e in events_page(session, mine, 3, after_seq=second.prev_after_seq).items] == [e.seq for e in first.items]
    assert audit.COUNT_CAP == 10_000


def test_the_csv_holds_every_filtered_event_named_and_in_the_readers_language(app, session, actor, events):
    user = ensure_console_user(session, actor, "csv.reader@audit.test", "Rina Reader", Role.IT)
    session.commit()
    record(session, Actor(f"console_user:{user.id}", user.email), "accounts:account:update", "account", 1, reason="x")
    session.commit()
    client = signed_in_with_role(app, session, Role.AUDITOR)
    exported = client.get(f"/audit/export.csv?actor=system:{JOB}&cursor=ignored&before_seq={events[-1]}")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert 'filename="govern-audit-log-' in exported.headers["Content-Disposition"]
    rows = _rows(exported)
    assert rows[0] == ["Event", "When", "Who", "What", "About", "Reason", "Details"]
    assert [int(row[0]) for row in rows[1:]] == list(reversed(events)), "every page of the filter, newest first"
    newest = rows[1]
    assert newest[2] == f"govern ({JOB})" and newest[3] != "accounts:account:retire" and newest[4] == "tables_audit"
    assert newest[5] == "'=cmd|' /C calc'!A0", "a reason never runs as a formula"
    assert '"reason": "=cmd' in newest[6] and newest[1].endswith("+00:00")
    by_user = _rows(client.get("/audit/export.csv?actor=csv.reader@audit.test"))
    assert len(by_user) == 2 and by_user[1][2] == "Rina Reader <csv.reader@audit.test>"
    arabic = _rows(_in(client, "ar", f"/audit/export.csv?actor=system:{JOB}"))
    assert arabic[0][0] != "Event" and arabic[0][3] != "What" and len(arabic) == 8
    assert arabic[1][3] != newest[3], "the action's label in Arabic"


def test_bad_filters_are_a_readable_400_and_the_export_needs_audit_read(app, session, events):
    client = signed_in_with_role(app, session, Role.AUDITOR)
    bad = client.get("/audit/export.csv?from=yesterday")
    assert bad.status_code == 400 and "Pick a day between 1970-01-01 and 2199-12-31." in _text(bad)
    assert client.get("/audit?after_seq=x").status_code == 400
    assert client.get("/audit?after_seq=3&before_seq=4").status_code == 400
    for role in (Role.REVIEWER, Role.IT):
        assert signed_in_with_role(app, session, role).get("/audit/export.csv").status_code == 403


def test_the_api_pages_both_ways(client, auth_headers, events):
    auditor = auth_headers(Role.AUDITOR)
    query = {"actor": f"system:{JOB}", "limit": 3}
    first = client.get("/api/v1/audit/events", query_string=query, headers=auditor).get_json()
    assert first["prev_after_seq"] is None and first["next_before_seq"]
    second = client.get("/api/v1/audit/events", query_string={**query, "before_seq": first["next_before_seq"]},
                        headers=auditor).get_json()
    assert second["prev_after_seq"] == second["items"][0]["seq"]
    back = client.get("/api/v1/audit/events", query_string={**query, "after_seq": second["prev_after_seq"]},
                      headers=auditor).get_json()
    assert [e["seq"] for e in back["items"]] == [e["seq"] for e in first["items"]] and back["prev_after_seq"] is None
    both = client.get("/api/v1/audit/events", query_string={**query, "after_seq": 1, "before_seq": 9}, headers=auditor)
    assert both.status_code == 422 and "after_seq" in str(both.get_json())
