"""Access reviews at a large company's size, on PostgreSQL: more than 65,535 grants in force opened in one campaign,
its pages and API bounded, reviewers resolved in SQL the way the Python rule resolves them."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select, text

from govern.accounts.models import SocialAccount
from govern.auth.roles import Role
from govern.db import utcnow
from govern.grants.models import Grant
from govern.reviews import service
from govern.reviews.models import CampaignStatus, ReviewCampaign, ReviewItem
from tests.support.large_org import load_large_org
from tests.unit.reviews.conftest import later

BASE = "/api/v1/reviews"
PAGE_BYTES = 400_000  # a page of 50 items is well under this; all 70,000 were about 27 MB


@pytest.fixture
def large_org(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the large organisation is loaded with PostgreSQL's generate_series")
    org = load_large_org(session.connection(), people=30_000, accounts=1_000, grants=70_000, leavers=500, tag="rv")
    first_owner = org.first_person_id + 1  # account n is owned by person n (in turn), all active
    # the owners of 100 accounts left (their managers review), 20 accounts are owned by nobody (governance decides)
    session.execute(text("UPDATE people SET status = 'leaver' WHERE id BETWEEN :a AND :b"),
                    {"a": first_owner, "b": first_owner + 99})
    session.execute(text("UPDATE social_accounts SET owner_id = NULL WHERE id BETWEEN :a AND :b"),
                    {"a": org.first_account_id + 500, "b": org.first_account_id + 519})
    session.commit()
    return org


def in_force(session) -> int:
    return session.scalar(select(func.count()).select_from(Grant).where(Grant.is_effective_at(utcnow())))


def test_a_campaign_over_more_than_65535_grants_opens_in_one_job_and_pages(client, session, large_org, token_for, console):
    expected = in_force(session)
    assert expected > 65_535
    governance = token_for(Role.GOVERNANCE)
    opened = client.post(f"{BASE}/campaigns", json={"name": "Everything", "scope_kind": "all",
                                                    "deadline": later(days=14).isoformat()}, headers=governance)
    assert opened.status_code == 202, opened.get_data(as_text=True)[:500]
    campaign_id = opened.get_json()["campaign"]["id"]
    detail = client.get(opened.headers["Location"], headers=governance).get_json()
    assert detail["campaign"]["status"] == "open" and detail["campaign"]["progress"]["total"] == expected
    assert session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign_id)) == expected
    assert len(detail["reviewers"]) <= service.REVIEWER_ROWS < detail["reviewers_total"]

    # reviewers resolved in SQL are the ones the Python rule picks, on a sample across the whole campaign
    sample = session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign_id, ReviewItem.id % 97 == 0)).all()
    assert len(sample) > 500
    for item in sample:
        assert item.reviewer_person_id == service.reviewer_for(session.get(SocialAccount, item.account_id), item.person_id), item.id
    unowned = session.scalar(select(func.count()).select_from(ReviewItem).join(SocialAccount, SocialAccount.id == ReviewItem.account_id).where(
        ReviewItem.campaign_id == campaign_id, SocialAccount.owner_id.is_(None), ReviewItem.reviewer_person_id.is_(None)))
    assert unowned > 0

    # the items API answers one bounded page with a cursor to the next
    page = client.get(f"{BASE}/campaigns/{campaign_id}/items?limit=200", headers=governance)
    assert page.status_code == 200 and len(page.get_json()["items"]) == 200 and page.get_json()["next_cursor"]
    following = client.get(f"{BASE}/campaigns/{campaign_id}/items",
                           query_string={"limit": 200, "cursor": page.get_json()["next_cursor"]}, headers=governance).get_json()
    assert len(following["items"]) == 200
    assert not {i["id"] for i in following["items"]} & {i["id"] for i in page.get_json()["items"]}
    assert client.get(f"{BASE}/campaigns/{campaign_id}/items?limit=100000", headers=governance).status_code == 422

    # the campaign page shows one page of items, the reviewers' progress, and a link to the next page
    governance_console = console(Role.GOVERNANCE)
    shown = governance_console.get(f"/reviews/campaigns/{campaign_id}")
    body = html.unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and len(shown.get_data()) < PAGE_BYTES
    assert body.count('<tr id="item-') == 50 and 'rel="next"' in body
    assert f"of {detail['reviewers_total']}" in body

    # an owner's page: a page of their items, waiting first
    owner_id = session.scalar(select(ReviewItem.reviewer_person_id).where(ReviewItem.campaign_id == campaign_id,
                                                                          ReviewItem.reviewer_person_id.is_not(None))
                              .group_by(ReviewItem.reviewer_person_id).order_by(func.count().desc()).limit(1))
    mine = client.get(f"{BASE}/items/mine?limit=20", headers=token_for(Role.IT, owner_id)).get_json()
    assert len(mine["items"]) == 20 and mine["next_cursor"] and {i["reviewer_person_id"] for i in mine["items"]} == {owner_id}
    owner_page = console(Role.REVIEWER, owner_id).get("/reviews")
    assert owner_page.status_code == 200 and len(owner_page.get_data()) < PAGE_BYTES


def test_running_the_opening_job_again_adds_nothing(session, actor, large_org):
    campaign = service.request_campaign(session, actor, service.ReviewSettings(), name="Twice", scope_kind=service.ScopeKind.ALL,
                                        deadline=later(days=7))
    first = service.fill_campaign(session, actor, campaign.id)
    again = service.fill_campaign(session, actor, campaign.id)
    assert first.items == in_force(session) > 65_535 and not first.already_open
    assert again.already_open and again.items == first.items
    assert session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign.id)) == first.items
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.OPEN
