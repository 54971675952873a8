"""Opening a campaign as one INSERT ... SELECT run by a job: reviewers resolved in SQL as the Python rule resolves
them, the "opening" state, paging by cursor, progress per reviewer, idempotence, who may read what, bad cursors."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from govern.accounts.models import SocialAccount
from govern.auth.roles import Role
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonStatus
from govern.reviews import service, tasks
from govern.reviews.models import CampaignStatus, DeadlineAction, ItemDecision, ReviewItem, ScopeKind
from tests import factories
from tests.unit.reviews.conftest import SETTINGS, later

BASE = "/api/v1/reviews"


# --- who reviews: SQL against the Python rule -----------------------------------------------------
@pytest.fixture
def every_case(session, actor):
    """One account per case of the reviewer rule; the grant holder is named per case. Returns {case: grant_id}."""
    people = {}

    def person(name, manager=None, left=False):
        people[name] = factories.person(session, actor, display_name=name, manager_id=people[manager].id if manager else None)
        if left:
            people[name].status = PersonStatus.LEAVER
        return people[name]

    person("top")
    person("boss", "top")
    person("gone boss", "top", left=True)
    person("owner", "boss")
    person("holder")
    person("lone owner")  # active, no manager
    person("gone owner", "boss", left=True)
    person("gone owner, gone boss", "gone boss", left=True)
    person("gone, no manager", left=True)
    person("owner under gone boss", "gone boss")
    person("owner with holder boss", left=True)  # manager set below: the holder of their account's grant
    person("cycle a", left=True)
    person("cycle b", "cycle a", left=True)
    person("cycle active", "cycle b")  # active, but the holder; their manager chain loops through b and a
    session.flush()
    people["cycle a"].manager_id = people["cycle b"].id
    people["owner with holder boss"].manager_id = people["boss"].id
    session.flush()

    cases = {  # case: (owner, holder)
        "owner reviews": ("owner", "holder"),
        "the owner's own access goes to their manager": ("owner", "owner"),
        "a departed owner's manager": ("gone owner", "holder"),
        "a departed owner and manager: further up": ("gone owner, gone boss", "holder"),
        "nobody owns it": (None, "holder"),
        "a departed owner with no manager": ("gone, no manager", "holder"),
        "the owner's own access, no manager": ("lone owner", "lone owner"),
        "a departed owner whose manager holds the grant: the next up": ("owner with holder boss", "boss"),
        "a loop of leavers ends": ("cycle a", "holder"),
        "the owner's own access, manager left: further up": ("owner under gone boss", "owner under gone boss"),
        "the holder in a loop of leavers: nobody": ("cycle active", "cycle active"),
        "a departed owner, the holder above: skipped": ("gone owner", "boss"),
    }
    grants = {}
    for case, (owner, holder) in cases.items():
        account = factories.account(session, actor, business_unit="Cases", owner_id=people[owner].id if owner else None)
        grants[case] = create_grant(session, actor, people[holder].id, account.id, GrantRole.ANALYST, "case").id
    session.commit()
    return grants


def test_reviewers_resolved_in_sql_are_the_python_rule_in_every_case(session, actor, every_case):
    campaign = service.open_campaign(session, actor, SETTINGS, name="Cases", scope_kind=ScopeKind.BUSINESS_UNIT,
                                     scope_value="Cases", deadline=later(days=7))
    items = {item.grant_id: item for item in session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id))}
    assert set(items) == set(every_case.values())
    resolved = {case: items[grant_id].reviewer_person_id for case, grant_id in every_case.items()}
    expected = {case: service.reviewer_for(session.get(SocialAccount, items[grant_id].account_id), items[grant_id].person_id)
                for case, grant_id in every_case.items()}
    assert resolved == expected
    assert {case for case, reviewer in resolved.items() if reviewer is None} == {
        "nobody owns it", "a departed owner with no manager", "the owner's own access, no manager", "a loop of leavers ends",
        "the holder in a loop of leavers: nobody"}
    assert len({reviewer for reviewer in resolved.values() if reviewer}) >= 3


# --- opening as a job -----------------------------------------------------------------------------
def test_a_requested_campaign_is_opening_until_its_job_runs(client, session, actor, world, console, token_for):
    campaign = service.request_campaign(session, actor, SETTINGS, name="Later", scope_kind=ScopeKind.ALL, deadline=later(days=7))
    session.commit()
    assert campaign.status is CampaignStatus.OPENING and campaign.snapshot_at is None
    assert session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign.id)) == 0
    page = html.unescape(console(Role.GOVERNANCE).get(f"/reviews/campaigns/{campaign.id}").get_data(as_text=True))
    assert "Opening…" in page
    owner = world.people["owner"]
    assert service.items_for(session, service.Decider(owner)) == []
    shown = client.get(f"{BASE}/campaigns/{campaign.id}", headers=token_for(Role.AUDITOR)).get_json()["campaign"]
    assert shown["status"] == "opening" and shown["progress"]["total"] == 0
    opened = service.fill_campaign(session, actor, campaign.id)
    session.commit()
    assert (opened.items, opened.reviewers, opened.for_governance) == (5, 2, 1)
    assert campaign.status is CampaignStatus.OPEN and campaign.snapshot_at is not None


def test_the_job_runs_once_however_often_it_is_delivered(client, session, actor, world, token_for):
    governance = token_for(Role.GOVERNANCE)
    body = {"name": "Once", "scope_kind": "all", "deadline": later(days=7).isoformat()}
    opened = client.post(f"{BASE}/campaigns", json=body, headers=governance).get_json()
    campaign_id, job_id = opened["campaign"]["id"], opened["job"]["job_id"]
    count = session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign_id))
    assert count == 5
    tasks.open_campaign.apply(args=[campaign_id, "test:pytest", "pytest"], task_id=job_id)  # a redelivery
    tasks.open_campaign.apply(args=[campaign_id, "test:pytest", "pytest"])  # even without the outbox's guard
    session.expire_all()
    assert session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign_id)) == count
    job = client.get(f"{BASE}/campaigns/{campaign_id}/opening-job", headers=token_for(Role.AUDITOR))
    assert job.status_code == 200 and job.get_json()["state"] == "done"


def test_nothing_left_in_scope_when_the_job_runs_closes_the_campaign(session, actor, world):
    from govern.grants.service import revoke_grant

    campaign = service.request_campaign(session, actor, SETTINGS, name="Brand", scope_kind=ScopeKind.BUSINESS_UNIT,
                                        scope_value="Brand", deadline=later(days=7))
    revoke_grant(session, actor, world.grants["dana_brand"], "left")
    assert service.fill_campaign(session, actor, campaign.id).items == 0
    assert campaign.status is CampaignStatus.CLOSED


# --- pages ----------------------------------------------------------------------------------------
def walk(client, url: str, headers, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = client.get(url, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.get_json()
        seen += [item["id"] for item in page.get_json()["items"]]
        assert len(page.get_json()["items"]) <= limit
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_paging_walks_every_item_exactly_once(client, session, open_campaign, token_for, world, governance_person):
    campaign = open_campaign()
    governance = token_for(Role.GOVERNANCE)
    all_ids = set(session.scalars(select(ReviewItem.id).where(ReviewItem.campaign_id == campaign.id)))
    for limit in (1, 2, 3, 200):
        walked = walk(client, f"{BASE}/campaigns/{campaign.id}/items", governance, limit)
        assert len(walked) == len(set(walked)) and set(walked) == all_ids
    owner = token_for(Role.IT, world.people["owner"])
    mine = walk(client, f"{BASE}/items/mine", owner, 1)
    assert set(mine) == set(session.scalars(select(ReviewItem.id).where(ReviewItem.reviewer_person_id == world.people["owner"])))


def test_my_reviews_page_waiting_first_then_decided(session, actor, open_campaign, world, console):
    campaign = open_campaign()
    owner = world.people["owner"]
    first = session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id,
                                                     ReviewItem.reviewer_person_id == owner).order_by(ReviewItem.id)).first()
    service.decide_item(session, actor, service.Decider(owner), first.id, "certify")
    session.commit()
    page = service.items_for_page(session, service.Decider(owner), limit=10, pending_only=False)
    assert [item.settled for item in page.items] == [0, 1] and page.items[-1].id == first.id
    shown = html.unescape(console(Role.REVIEWER, owner).get("/reviews?limit=1").get_data(as_text=True))
    assert shown.count('<tr id="item-') == 1 and 'rel="next"' in shown and "Still to decide: 1" in shown


def test_progress_per_reviewer_is_counted_in_sql(session, actor, open_campaign, world, console):
    campaign = open_campaign()
    owner, manager = world.people["owner"], world.people["manager"]
    items = session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id).order_by(ReviewItem.id)).all()
    mine = [i for i in items if i.reviewer_person_id == owner]
    service.decide_item(session, actor, service.Decider(owner), mine[0].id, "certify")
    service.decide_item(session, actor, service.Decider(owner), mine[1].id, "revoke", "moved on")
    session.commit()
    progress = {(row.person.id if row.person else None): (row.total, row.pending) for row in
                service.reviewer_progress(session, campaign.id)}
    assert progress == {owner: (2, 0), manager: (2, 2), None: (1, 1)}
    assert [row.person.id if row.person else None for row in service.reviewer_progress(session, campaign.id)][-1] is None
    assert service.reviewer_count(session, campaign.id) == 3
    assert [row.pending for row in service.reviewer_progress(session, campaign.id, limit=1)] == [2]
    assert service.progress_of(session, [campaign.id])[campaign.id].as_dict()["decided"] == 2
    overview = service.campaign_overview(session, campaign.id, limit=2)
    assert overview.progress == service.progress_of(session, [campaign.id])[campaign.id]
    assert (len(overview.reviewers), overview.reviewers_total) == (2, 3)
    assert service.campaign_overview(session, 999_999) == service.CampaignOverview(service.Progress(), [], 0)


def test_escalating_keeps_the_former_reviewer_in_one_statement(session, actor, open_campaign, world):
    from sqlalchemy import update

    from govern.reviews.models import ReviewCampaign

    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", on_deadline=DeadlineAction.ESCALATE)
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    before = dict(session.execute(select(ReviewItem.id, ReviewItem.reviewer_person_id)
                                  .where(ReviewItem.campaign_id == campaign.id)).all())
    service.process_deadline(session, actor, SETTINGS, campaign.id)
    after = session.execute(select(ReviewItem.id, ReviewItem.escalated_from_person_id, ReviewItem.reviewer_person_id,
                                   ReviewItem.decision).where(ReviewItem.campaign_id == campaign.id)).all()
    assert {row.id: row.escalated_from_person_id for row in after} == before
    assert {(row.reviewer_person_id, row.decision) for row in after} == {(None, ItemDecision.ESCALATED)}


# --- who may read, and bad input -------------------------------------------------------------------
@pytest.mark.parametrize(("role", "allowed"), [(Role.GOVERNANCE, True), (Role.AUDITOR, True), (Role.IT, False),
                                               (Role.SCIM, False)])
def test_who_may_read_a_campaign_its_items_and_its_job(client, open_campaign, token_for, role, allowed):
    campaign = open_campaign()
    headers = token_for(role)
    for url in (f"{BASE}/campaigns/{campaign.id}/items", f"{BASE}/campaigns/{campaign.id}/opening-job"):
        status = client.get(url, headers=headers).status_code
        assert (status in (200, 404)) is allowed and (status == 403) is not allowed, (url, status)
    assert client.get(f"{BASE}/campaigns/{campaign.id}/items").status_code == 401


def test_a_campaign_opened_without_a_job_has_no_opening_job(client, open_campaign, token_for):
    campaign = open_campaign()
    missing = client.get(f"{BASE}/campaigns/{campaign.id}/opening-job", headers=token_for(Role.AUDITOR))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ4Ijox", "WyJuYW1lIiwgIngiLCAxXQ", "x" * 3000])
def test_bad_cursors_are_refused(client, open_campaign, token_for, world, console, cursor):
    campaign = open_campaign()
    for url, headers in ((f"{BASE}/campaigns/{campaign.id}/items", token_for(Role.GOVERNANCE)),
                         (f"{BASE}/items/mine", token_for(Role.IT, world.people["owner"]))):
        response = client.get(url, query_string={"cursor": cursor}, headers=headers)
        assert response.status_code in (400, 422) and response.content_type == "application/problem+json", (url, cursor)
    for url, who in ((f"/reviews/campaigns/{campaign.id}", console(Role.GOVERNANCE)),
                     ("/reviews", console(Role.REVIEWER, world.people["owner"]))):
        page = who.get(url, query_string={"cursor": cursor})
        assert page.status_code == 400 and "start again from the first page" in html.unescape(page.get_data(as_text=True))


def test_limits_outside_1_to_200_are_refused(client, open_campaign, token_for):
    campaign = open_campaign()
    for limit in (0, 201, -1, "many"):
        response = client.get(f"{BASE}/campaigns/{campaign.id}/items", query_string={"limit": limit},
                              headers=token_for(Role.GOVERNANCE))
        assert response.status_code == 422 and response.content_type == "application/problem+json"


def test_items_whose_grants_ended_elsewhere_are_closed_in_one_batch_each_audited(session, actor, open_campaign, world):
    from govern.audit.models import AuditEvent
    from govern.grants.models import Grant
    from govern.grants.service import revoke_grant

    campaign = open_campaign()
    revoke_grant(session, actor, world.grants["dana_news"], "left the project")
    session.get(Grant, world.grants["noa_news"]).expires_at = later(minutes=-1)
    session.commit()
    assert service.reconcile(session, actor, campaign) == 2
    closed = {item.grant_id: item for item in session.scalars(select(ReviewItem).where(
        ReviewItem.campaign_id == campaign.id, ReviewItem.decision.is_not(None)))}
    assert set(closed) == {world.grants["dana_news"], world.grants["noa_news"]}
    revoked, expired = closed[world.grants["dana_news"]], closed[world.grants["noa_news"]]
    assert (revoked.decided_by, revoked.comment) == (actor.id, "removed outside the review: left the project")
    assert (expired.decided_by, expired.comment) == ("system:grant-expiry", "access ended at its expiry")
    audited = session.scalars(select(AuditEvent.target_id).where(AuditEvent.action == "reviews:item:removed_elsewhere")).all()
    assert sorted(audited) == sorted([str(revoked.id), str(expired.id)])
    assert service.reconcile(session, actor, campaign) == 0
