"""The account list as a table people work with: every page both ways, its total, the connection health filter the
home page links to, more sortable columns, and the whole filtered list as a CSV file."""

from __future__ import annotations

import csv
import html
import io

import pytest
from flask_babel import refresh

from govern.accounts.service import AccountFilter, count_accounts, list_accounts
from govern.auth.roles import Role
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.db import utcnow
from govern.pagination import InvalidCursor
from tests import factories
from tests.support.console import signed_in_with_role


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def seven(session, actor):
    accounts = [factories.account(session, actor, handle=f"brand_{letter}", network="facebook", business_unit=unit)
                for letter, unit in zip("abcdefg", ["Retail", "Retail", "Cloud", "Cloud", "=HYPERLINK(\"x\")", "Retail", "HR"])]
    session.commit()
    return accounts


def handles(page):
    return [account.handle for account in page.items]


def test_pages_walk_forward_and_back_to_the_same_rows(session, seven):
    first = list_accounts(session, AccountFilter(), "handle", 3)
    assert handles(first) == ["brand_a", "brand_b", "brand_c"] and first.prev_cursor is None
    second = list_accounts(session, AccountFilter(), "handle", 3, first.next_cursor)
    assert handles(second) == ["brand_d", "brand_e", "brand_f"] and second.prev_cursor
    third = list_accounts(session, AccountFilter(), "handle", 3, second.next_cursor)
    assert handles(third) == ["brand_g"] and third.next_cursor is None
    back_to_second = list_accounts(session, AccountFilter(), "handle", 3, third.prev_cursor)
    assert handles(back_to_second) == handles(second) and back_to_second.prev_cursor and back_to_second.next_cursor
    back_to_first = list_accounts(session, AccountFilter(), "handle", 3, back_to_second.prev_cursor)
    assert handles(back_to_first) == handles(first) and back_to_first.prev_cursor is None
    assert handles(list_accounts(session, AccountFilter(), "handle", 3, back_to_first.next_cursor)) == handles(second)


def test_a_cursor_with_an_unknown_direction_is_refused(session, seven):
    import base64
    forged = base64.urlsafe_b64encode(b'["handle", "brand_c", 3, "sideways"]').decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        list_accounts(session, AccountFilter(), "handle", 3, forged)


def test_the_health_filter_matches_what_the_home_page_counts(app, session, actor, seven):
    connected, broken = seven[0], seven[1]
    for account, health in ((connected, ConnectionHealth.HEALTHY), (broken, ConnectionHealth.NEEDS_RECONNECT)):
        session.add(AccountConnection(account_id=account.id, store_kind="vault", store_path=f"accounts/{account.id}/oauth",
                                      store_version=1, token_type="bearer", scopes=[], issued_at=utcnow(), health=health,
                                      access_fingerprint=f"fp-{account.id}", external_identity=f"id-{account.id}",
                                      connected_by="test:pytest"))
    session.commit()
    client = signed_in_with_role(app, session, Role.IT)
    page = html.unescape(client.get("/accounts?health=needs_reconnect").get_data(as_text=True))
    assert "brand_b" in page and "brand_a" not in page and "1 account" in page
    page = html.unescape(client.get("/accounts?health=not_connected").get_data(as_text=True))
    assert "brand_c" in page and "brand_a" not in page and "brand_b" not in page and "5 accounts" in page
    assert client.get("/accounts?health=sideways").status_code == 400


def test_the_api_filters_by_health_and_pages_back(client, auth_headers, session, actor, seven):
    headers = auth_headers(Role.IT)
    first = client.get("/api/v1/accounts?health=not_connected&limit=4", headers=headers).get_json()
    assert len(first["items"]) == 4 and first["prev_cursor"] is None
    second = client.get(f"/api/v1/accounts?health=not_connected&limit=4&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [a["handle"] for a in second["items"]] == ["brand_e", "brand_f", "brand_g"] and second["prev_cursor"]
    back = client.get(f"/api/v1/accounts?health=not_connected&limit=4&cursor={second['prev_cursor']}", headers=headers).get_json()
    assert back["items"] == first["items"]


def test_the_list_shows_its_total_and_sorts_by_business_unit(app, session, seven):
    client = signed_in_with_role(app, session, Role.IT)
    page = html.unescape(client.get("/accounts?sort=business_unit&limit=3").get_data(as_text=True))
    assert "7 accounts" in page and 'rel="next"' in page and "Download CSV" in page
    assert page.index("brand_e") < page.index("brand_c") < page.index("brand_d") and "brand_g" not in page  # "=…", Cloud
    assert count_accounts(session, AccountFilter(business_unit="Retail")) == 3


def test_the_csv_holds_every_filtered_row_and_no_formula(app, session, seven):
    client = signed_in_with_role(app, session, Role.IT)
    answer = client.get("/accounts/export.csv?limit=2&cursor=ignored&business_unit=%3DHYPERLINK(%22x%22)")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="govern-accounts-' in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Handle" and [row[0] for row in rows[1:]] == ["brand_e"]
    assert rows[1][3] == "'=HYPERLINK(\"x\")", "a cell never starts a formula"
    every = list(csv.reader(io.StringIO(client.get("/accounts/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(every) == 8


def test_the_csv_headers_are_in_the_readers_language(app, session, seven):
    client = signed_in_with_role(app, session, Role.IT)
    client.post("/locale", data={"locale": "ar"})
    refresh()
    first_line = client.get("/accounts/export.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()[0]
    assert first_line.startswith("المعرّف") or "Handle" not in first_line
