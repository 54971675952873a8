"""Several items at once (keep all shown, remove the selected), handing an item to another reviewer, the context a
reviewer decides with, "decided by" when it was not the reviewer, the launch preview's overlap and the campaign filters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.audit.service import record
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.grants.models import Grant
from govern.grants.service import revoke_grant
from govern.notifications.models import Notification
from govern.reviews import service
from govern.reviews.models import CampaignStatus, ItemDecision, ReviewItem, ScopeKind
from tests import factories
from tests.unit.reviews.conftest import item_for
from tests.unit.reviews.test_progress_counts import assert_counts_match


def events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def ids(session, campaign, world, *names) -> list[int]:
    return [item_for(session, campaign, world.grants[name]).id for name in names]


# --- bulk -------------------------------------------------------------------------------------
def test_keep_all_decides_every_item_in_one_call_each_audited_and_counted(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = service.Decider(world.people["owner"])
    chosen = ids(session, campaign, world, "dana_news", "noa_news")
    outcome = service.decide_items(session, actor, owner, chosen, "certify")
    session.commit()
    assert sorted(item.id for item in outcome.decided) == sorted(chosen) and outcome.stale == []
    assert {item_for(session, campaign, world.grants[n]).decision for n in ("dana_news", "noa_news")} == {ItemDecision.CERTIFIED}
    certified = events(session, "reviews:item:certify")
    assert sorted(int(event.target_id) for event in certified) == sorted(chosen)
    assert all(event.summary["bulk"] == 2 for event in certified)
    assert_counts_match(session, campaign)


def test_remove_selected_revokes_each_grant_with_the_reason(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    chosen = ids(session, campaign, world, "dana_news", "noa_news")
    with pytest.raises(service.InvalidOperation, match="why"):
        service.decide_items(session, actor, service.Decider(world.people["owner"]), chosen, "revoke", "  ")
    outcome = service.decide_items(session, actor, service.Decider(world.people["owner"]), chosen, "revoke", "team moved")
    session.commit()
    assert len(outcome.decided) == 2
    for name in ("dana_news", "noa_news"):
        grant = session.get(Grant, world.grants[name])
        assert grant.revoked_at is not None and grant.revoke_reason.endswith("team moved")
    assert len(events(session, "reviews:item:revoke")) == 2
    assert_counts_match(session, campaign)


def test_stale_items_are_reported_and_the_others_still_decided(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = service.Decider(world.people["owner"])
    dana, noa, orphan, own = ids(session, campaign, world, "dana_news", "noa_news", "noa_orphan", "owner_news")
    service.decide_item(session, actor, service.Decider(None, manages=True), dana, "certify")  # decided elsewhere
    revoke_grant(session, actor, world.grants["noa_news"], "left the team")  # removed outside the review
    session.commit()
    outcome = service.decide_items(session, actor, owner, [dana, noa, orphan, own, 999_999_999], "certify")
    session.commit()
    reasons = {stale.item_id: type(stale.error).__name__ for stale in outcome.stale}
    assert reasons == {dana: "AlreadyDecided", noa: "AlreadyRemoved", orphan: "NotYourReview", 999_999_999: "NotFound",
                       own: "NotYourReview"}
    assert outcome.decided == []
    assert session.get(ReviewItem, noa).decision is ItemDecision.REVOKED, "the removal outside the review is recorded"
    assert_counts_match(session, campaign)


def test_a_bulk_keep_that_finishes_the_campaign_closes_it(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "Brand")
    service.decide_items(session, actor, service.Decider(world.people["manager"]), ids(session, campaign, world, "dana_brand"), "certify")
    session.commit()
    assert campaign.status is CampaignStatus.CLOSED


def test_own_access_cannot_be_kept_in_bulk(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    governance = service.Decider(world.people["owner"], manages=True)
    outcome = service.decide_items(session, actor, governance, ids(session, campaign, world, "owner_news", "dana_news"), "certify")
    assert [type(stale.error).__name__ for stale in outcome.stale] == ["OwnAccess"] and len(outcome.decided) == 1


# --- reassign ---------------------------------------------------------------------------------
def test_a_reviewer_hands_an_item_to_a_colleague_who_then_sees_and_decides_it(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    colleague = factories.person(session, actor, display_name="Colleague")
    dana = item_for(session, campaign, world.grants["dana_news"])
    service.reassign_item(session, actor, service.Decider(world.people["owner"]), dana.id, colleague.id, "she runs it now")
    session.commit()
    [event] = events(session, "reviews:item:reassign")
    assert (event.summary["from_reviewer_person_id"], event.summary["to_reviewer_person_id"], event.summary["reason"]) == (
        world.people["owner"], colleague.id, "she runs it now")
    mine = service.items_for(session, service.Decider(colleague.id))
    assert [item.id for item in mine] == [dana.id]
    assert dana.id not in [item.id for item in service.items_for(session, service.Decider(world.people["owner"]))]
    assert session.scalar(select(Notification).where(Notification.person_id == colleague.id,
                                                     Notification.kind == "access_review_reassigned")) is not None
    assert_counts_match(session, campaign)
    with pytest.raises(service.NotYourReview):
        service.decide_item(session, actor, service.Decider(world.people["owner"]), dana.id, "certify")
    service.decide_item(session, actor, service.Decider(colleague.id), dana.id, "certify")
    assert_counts_match(session, campaign)


def test_reassigning_is_refused_to_the_holder_a_leaver_and_by_someone_else(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    dana = item_for(session, campaign, world.grants["dana_news"])
    owner = service.Decider(world.people["owner"])
    with pytest.raises(service.NotReassignable, match="own access"):
        service.reassign_item(session, actor, owner, dana.id, world.people["dana"])
    with pytest.raises(service.NotReassignable, match="left"):
        service.reassign_item(session, actor, owner, dana.id, world.people["gone"])
    with pytest.raises(service.NotReassignable, match="already reviews"):
        service.reassign_item(session, actor, owner, dana.id, world.people["owner"])
    with pytest.raises(service.NotYourReview):
        service.reassign_item(session, actor, service.Decider(world.people["noa"]), dana.id, world.people["ceo"])
    governance = service.Decider(None, manages=True)
    orphan = item_for(session, campaign, world.grants["noa_orphan"])  # governance's own: handed to a person
    service.reassign_item(session, actor, governance, orphan.id, world.people["ceo"])
    session.commit()
    assert orphan.reviewer_person_id == world.people["ceo"]
    assert_counts_match(session, campaign)


# --- context and decided by -------------------------------------------------------------------
def test_the_context_of_each_item_is_read_in_a_fixed_number_of_queries(session, actor, world, open_campaign, app):
    earlier = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="Spring")
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, earlier, world.grants["dana_news"]).id, "certify")
    service.close_campaign(session, actor, earlier.id, "done")
    record(session, Actor("console_user:77", "x"), "broker:action:publish", "account", world.accounts["news"],
           outcome="ok", person_id=world.people["dana"])
    record(session, Actor("console_user:77", "x"), "broker:action:list_comments", "account", world.accounts["news"],
           outcome="ok", person_id=world.people["noa"])
    record(session, Actor("console_user:77", "x"), "broker:action:publish", "account", world.accounts["brand"],
           outcome="ok", person_id=world.people["noa"])  # another account: not noa's activity on news
    session.commit()
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="Autumn")
    items = service.campaign_items(session, campaign.id)
    statements = []
    from sqlalchemy import event

    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = service.contexts(session, items)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) <= 4, statements
    dana = found[item_for(session, campaign, world.grants["dana_news"]).id]
    assert dana.last_activity.action == "publish"
    assert dana.last_review.campaign_name == "Spring" and dana.last_review.decision == "certified"
    assert dana.granted_by == actor.id.partition(":")[2]
    noa = found[item_for(session, campaign, world.grants["noa_news"]).id]
    assert noa.last_activity.action == "list_comments" and noa.last_review is None
    assert found[item_for(session, campaign, world.grants["owner_news"]).id].last_activity is None


def test_decided_by_is_named_only_when_it_was_not_the_reviewer(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner_user = ensure_console_user(session, actor, "owner@reviews.test", "Owner User", Role.REVIEWER,
                                     person_id=world.people["owner"])
    admin = ensure_console_user(session, actor, "admin@reviews.test", "Ada Admin", Role.ADMIN)
    dana, noa = ids(session, campaign, world, "dana_news", "noa_news")
    service.decide_item(session, Actor(f"console_user:{owner_user.id}", "o"), service.Decider(world.people["owner"]), dana, "certify")
    service.decide_item(session, Actor(f"console_user:{admin.id}", "a"), service.Decider(None, manages=True), noa, "revoke", "override")
    found = service.contexts(session, [session.get(ReviewItem, dana), session.get(ReviewItem, noa)])
    assert found[dana].decided_by_other is None
    assert found[noa].decided_by_other == "Ada Admin"


# --- launch preview and overlap ---------------------------------------------------------------
def test_the_preview_counts_and_warns_about_a_running_campaign_over_the_same_access(session, actor, world, open_campaign):
    before = service.preview_campaign(session, ScopeKind.BUSINESS_UNIT, "News")
    assert (before.items, before.reviewers, before.accounts, before.for_governance, before.overlaps) == (4, 2, 2, 1, [])
    running = open_campaign(ScopeKind.NETWORK, "x", name="All of X")  # covers the News grants too
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, running, world.grants["dana_news"]).id, "certify")
    session.commit()
    after = service.preview_campaign(session, ScopeKind.BUSINESS_UNIT, "News")
    assert [(overlap.campaign.id, overlap.items) for overlap in after.overlaps] == [(running.id, 3)]
    assert after.items == 1, "only the access decided in the running campaign is asked about again"
    opened = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="News again")
    assert [item.grant_id for item in service.campaign_items(session, opened.id)] == [world.grants["dana_news"]]
    [event] = [e for e in events(session, "reviews:campaign:open") if e.target_id == str(opened.id)]
    assert event.summary["already_under_review"] == 3


def test_a_scope_entirely_under_review_is_refused_with_its_own_reason(session, actor, world, open_campaign):
    open_campaign(ScopeKind.BUSINESS_UNIT, "Brand")
    with pytest.raises(service.AllUnderReview):
        open_campaign(ScopeKind.NETWORK, "instagram")


# --- the campaign page's filters --------------------------------------------------------------
def test_filtering_a_campaign_by_reviewer_and_state_with_totals_from_the_kept_counts(session, actor, world, open_campaign):
    campaign = open_campaign()
    owner = world.people["owner"]
    service.decide_item(session, actor, service.Decider(owner), item_for(session, campaign, world.grants["dana_news"]).id, "certify")
    session.commit()
    by_owner = service.ItemFilter(reviewer=owner)
    page = service.campaign_items_page(session, campaign.id, limit=50, item_filter=by_owner)
    assert {item.reviewer_person_id for item in page.items} == {owner} and len(page.items) == 2
    assert service.filtered_total(session, campaign.id, by_owner) == 2
    waiting = service.ItemFilter(reviewer=owner, state="waiting")
    assert [i.grant_id for i in service.campaign_items_page(session, campaign.id, limit=50, item_filter=waiting).items] == [
        world.grants["noa_news"]]
    assert service.filtered_total(session, campaign.id, waiting) == 1
    kept = service.ItemFilter(state="kept")
    assert service.filtered_total(session, campaign.id, kept) == 1
    governance = service.ItemFilter(reviewer=service.GOVERNANCE)
    assert [i.grant_id for i in service.campaign_items_page(session, campaign.id, limit=50, item_filter=governance).items] == [
        world.grants["noa_orphan"]]
    assert service.filtered_total(session, campaign.id) == 5
    first = service.campaign_items_page(session, campaign.id, limit=1, item_filter=service.ItemFilter(state="waiting"))
    second = service.campaign_items_page(session, campaign.id, limit=10, cursor=first.next_cursor,
                                         item_filter=service.ItemFilter(state="waiting"))
    assert len(first.items) + len(second.items) == 4 and not {i.id for i in first.items} & {i.id for i in second.items}


# --- the API ----------------------------------------------------------------------------------
API = "/api/v1/reviews"


def test_the_api_decides_several_items_and_lists_the_stale_ones(client, session, actor, world, open_campaign, token_for):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    dana, noa = ids(session, campaign, world, "dana_news", "noa_news")
    service.decide_item(session, actor, service.Decider(world.people["owner"]), noa, "certify")
    session.commit()
    owner = token_for(Role.IT, world.people["owner"])  # an owner answering through the API
    answer = client.post(f"{API}/items/decisions", json={"decision": "revoke", "items": [dana, noa], "comment": "moved"},
                         headers=owner)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert [item["id"] for item in body["decided"]] == [dana] and body["decided"][0]["decision"] == "revoked"
    assert body["stale"] == [{"id": noa, "problem": "Already decided", "detail": body["stale"][0]["detail"]}]
    for bad in ({"decision": "revoke", "items": [dana]}, {"decision": "certify", "items": []},
                {"decision": "certify", "items": ["x"]}, {"decision": "maybe", "items": [dana]}):
        refused = client.post(f"{API}/items/decisions", json=bad, headers=owner)
        assert refused.status_code in (409, 422) and refused.content_type == "application/problem+json", bad


def test_the_api_reassigns_previews_and_filters(client, session, actor, world, open_campaign, token_for):
    governance = token_for(Role.GOVERNANCE)
    preview = client.post(f"{API}/campaigns/preview", json={"scope_kind": "business_unit", "scope_value": "News"},
                          headers=governance).get_json()
    assert (preview["items"], preview["reviewers"], preview["accounts"], preview["overlaps"]) == (4, 2, 2, [])
    refused = client.post(f"{API}/campaigns/preview", json={"scope_kind": "network"}, headers=governance)
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    overlap = client.post(f"{API}/campaigns/preview", json={"scope_kind": "network", "scope_value": "x"},
                          headers=governance).get_json()
    assert overlap["already_under_review"] == 4 and overlap["overlaps"][0]["campaign"]["id"] == campaign.id
    dana = item_for(session, campaign, world.grants["dana_news"]).id
    moved = client.post(f"{API}/items/{dana}/reassign", json={"reviewer_person_id": world.people["ceo"]}, headers=governance)
    assert moved.status_code == 200 and moved.get_json()["reviewer_person_id"] == world.people["ceo"]
    own = client.post(f"{API}/items/{dana}/reassign", json={"reviewer_person_id": world.people["dana"]}, headers=governance)
    assert own.status_code == 422 and own.content_type == "application/problem+json"
    page = client.get(f"{API}/campaigns/{campaign.id}/items", query_string={"reviewer": world.people["ceo"]},
                      headers=governance).get_json()
    assert [item["id"] for item in page["items"]] == [dana]
    assert client.get(f"{API}/campaigns/{campaign.id}/items?state=lost", headers=governance).status_code == 422
    assert client.post(f"{API}/campaigns/preview", json={"scope_kind": "all"},
                       headers=token_for(Role.AUDITOR)).status_code == 403


def test_out_of_range_ids_are_refused_readably(client, session, world, open_campaign, token_for, console, monkeypatch):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    headers = token_for(Role.GOVERNANCE)
    huge = 99_999_999_999_999_999_999
    refused = client.post(f"{API}/items/decisions", json={"decision": "certify", "items": [huge]}, headers=headers)
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    refused = client.post(f"{API}/items/1/reassign", json={"reviewer_person_id": huge}, headers=headers)
    assert refused.status_code == 422
    governance = console(Role.GOVERNANCE)
    monkeypatch.setitem(governance.application.config, "WTF_CSRF_ENABLED", False)  # never left off for later tests
    assert governance.post("/reviews/bulk/keep", data={"shown": [str(huge), "x"]}).status_code == 422
    dana = item_for(session, campaign, world.grants["dana_news"]).id
    assert governance.post(f"/reviews/items/{dana}/reassign", data={"person_id": str(huge)}).status_code == 422
    too_big = governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"reviewer": "9999999999"})
    assert too_big.status_code == 400 and "Choose a reviewer from the list." in too_big.get_data(as_text=True)
