"""The campaigns list pages both ways, shows its total, filters by status and downloads as CSV; a campaign's items
(filtered by reviewer and state) download as CSV too, and its pager goes back as well as on."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from govern.auth.roles import Role
from govern.db import utcnow
from govern.reviews import service
from govern.reviews.models import CampaignStatus, DeadlineAction, ReviewCampaign, ScopeKind
from tests.unit.reviews.conftest import item_for

CAMPAIGN_ROW = re.compile(r'<tr id="campaign-(\d+)">')
ITEM_ROW = re.compile(r'<tr id="item-(\d+)">')


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" class="button" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


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


def _campaigns(session, count: int = 5) -> list[ReviewCampaign]:
    """`count` campaigns opened a day apart (newest last); every second one closed; the first named like a formula."""
    start = utcnow() - timedelta(days=count)
    campaigns = []
    for n in range(count):
        campaign = ReviewCampaign(name="=HYPERLINK(\"http://x\")" if n == 0 else f"Campaign {n}", scope_kind=ScopeKind.ALL,
                                  status=CampaignStatus.CLOSED if n % 2 else CampaignStatus.OPEN,
                                  on_deadline=DeadlineAction.ESCALATE, opened_by="tests", opened_at=start + timedelta(days=n),
                                  deadline=start + timedelta(days=n + 14), reminder_every_hours=24,
                                  snapshot_at=start + timedelta(days=n))
        session.add(campaign)
        campaigns.append(campaign)
    session.commit()
    return campaigns


def test_the_campaigns_list_counts_pages_both_ways_and_filters(console, session):
    campaigns = _campaigns(session)
    auditor = console(Role.AUDITOR)
    newest = [campaign.id for campaign in reversed(campaigns)]
    first = _text(auditor.get("/reviews/campaigns?limit=2"))
    assert "5 campaigns" in first and "/reviews/campaigns/export.csv" in first
    assert [int(n) for n in CAMPAIGN_ROW.findall(first)] == newest[:2] and _link(first, "prev") is None
    second = _text(auditor.get(_link(first, "next")))
    assert [int(n) for n in CAMPAIGN_ROW.findall(second)] == newest[2:4] and "First page" in second
    back = _text(auditor.get(_link(second, "prev")))
    assert [int(n) for n in CAMPAIGN_ROW.findall(back)] == newest[:2], "Previous comes back across the boundary"
    closed = _text(auditor.get("/reviews/campaigns?status=closed"))
    assert "2 campaigns" in closed and {int(n) for n in CAMPAIGN_ROW.findall(closed)} == {campaigns[1].id, campaigns[3].id}
    assert "No campaign matches these filters." in _text(auditor.get("/reviews/campaigns?status=held"))


def test_a_bad_campaigns_filter_is_a_readable_400(console, session):
    governance = console(Role.GOVERNANCE)
    bad = governance.get("/reviews/campaigns?status=sideways")
    assert bad.status_code == 400 and "Status: choose a status from the list." in _text(bad)
    assert governance.get("/reviews/campaigns?cursor=forged").status_code == 400
    exported = governance.get("/reviews/campaigns/export.csv?status=sideways")
    assert exported.status_code == 400 and "Status: choose a status from the list." in _text(exported)


def test_the_campaigns_csv(console, session, world, open_campaign):
    campaigns = _campaigns(session)
    real = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="News review")
    governance = console(Role.GOVERNANCE)
    exported = governance.get("/reviews/campaigns/export.csv")
    rows = _rows(exported)
    assert exported.mimetype == "text/csv" and 'filename="govern-review-campaigns-' in exported.headers["Content-Disposition"]
    assert rows[0][:4] == ["Campaign", "Name", "Scope", "Status"] and len(rows) == 1 + 6
    by_id = {int(row[0]): row for row in rows[1:]}
    news = by_id[real.id]
    progress = service.progress_of(session, [real.id])[real.id]
    assert news[1] == "News review" and news[2] == "Business unit: News" and news[3] == "Open"
    assert int(news[7]) == progress.total > 0 and int(news[9]) == progress.pending and news[12] == "0%"
    assert by_id[campaigns[0].id][1] == "'=HYPERLINK(\"http://x\")", "a name never runs as a formula"
    closed = _rows(governance.get("/reviews/campaigns/export.csv?status=closed"))
    assert [int(row[0]) for row in closed[1:]] == [campaigns[3].id, campaigns[1].id] and closed[1][3] == "Closed"
    arabic = _rows(_in(governance, "ar", "/reviews/campaigns/export.csv?status=closed"))
    assert arabic[0][0] != "Campaign" and arabic[1][3] != "Closed" and len(arabic) == 3


def test_a_campaigns_items_download_as_csv_under_the_pages_filters(console, session, actor, world, open_campaign):
    campaign = open_campaign()
    kept = item_for(session, campaign, world.grants["dana_news"])
    service.decide_item(session, actor, service.Decider(None, True), kept.id, "certify", "=still needed")
    session.commit()
    governance = console(Role.GOVERNANCE)
    page = _text(governance.get(f"/reviews/campaigns/{campaign.id}?state=kept"))
    assert f"/reviews/campaigns/{campaign.id}/export.csv?state=kept" in page
    exported = governance.get(f"/reviews/campaigns/{campaign.id}/export.csv?state=kept")
    rows = _rows(exported)
    assert f'filename="govern-review-{campaign.id}-' in exported.headers["Content-Disposition"]
    assert rows[0][:4] == ["Item", "Account", "Network", "Person"] and len(rows) == 2
    assert rows[1][0] == str(kept.id) and rows[1][3] == "Dana Levi" and rows[1][7] == "Kept"
    assert rows[1][10] == "'=still needed", "a comment never runs as a formula"
    everything = _rows(governance.get(f"/reviews/campaigns/{campaign.id}/export.csv"))
    assert len(everything) == 1 + service.progress_of(session, [campaign.id])[campaign.id].total
    waiting = _rows(governance.get(f"/reviews/campaigns/{campaign.id}/export.csv?state=waiting"))
    assert len(waiting) == len(everything) - 1 and kept.id not in {int(row[0]) for row in waiting[1:]}
    hebrew = _rows(_in(governance, "he", f"/reviews/campaigns/{campaign.id}/export.csv?state=kept"))
    assert hebrew[0][0] != "Item" and hebrew[1][7] != "Kept"
    bad = governance.get(f"/reviews/campaigns/{campaign.id}/export.csv?state=maybe")
    assert bad.status_code == 400 and "Choose a state from the list." in _text(bad)
    assert governance.get("/reviews/campaigns/999999/export.csv").status_code == 404


def test_a_campaigns_items_page_goes_back(console, session, world, open_campaign):
    campaign = open_campaign()
    governance = console(Role.GOVERNANCE)
    first = _text(governance.get(f"/reviews/campaigns/{campaign.id}?limit=2"))
    second = _text(governance.get(_link(first, "next")))
    assert ITEM_ROW.findall(second) and _link(first, "prev") is None
    assert ITEM_ROW.findall(_text(governance.get(_link(second, "prev")))) == ITEM_ROW.findall(first)


def test_the_exports_need_reviews_read(console, session, open_campaign):
    campaign = open_campaign()
    reviewer = console(Role.REVIEWER)
    for path in ("/reviews/campaigns", "/reviews/campaigns/export.csv", f"/reviews/campaigns/{campaign.id}/export.csv"):
        assert reviewer.get(path).status_code == 403, path
    auditor = console(Role.AUDITOR)
    assert auditor.get(f"/reviews/campaigns/{campaign.id}/export.csv").status_code == 200
