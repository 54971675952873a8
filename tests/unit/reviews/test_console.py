"""The console's access review pages: a reviewer keeps or removes access; governance opens, follows and closes campaigns."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.grants.models import Grant
from govern.reviews import service
from govern.reviews.models import CampaignStatus, ItemDecision, ReviewCampaign, ScopeKind
from tests.unit.reviews.conftest import item_for


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_reviewer_lands_on_their_reviews_and_keeps_and_removes_access(console, session, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = console(Role.REVIEWER, world.people["owner"])
    home = text_of(owner.get("/"))
    assert 'data-todo="reviews"' in home and '<span class="todo-count">2</span>' in home and 'href="/reviews"' in home
    page = text_of(owner.get("/reviews"))
    assert "acme_news" in page and "Dana Levi" in page and "Noa Bar" in page and "Publisher" in page
    assert page.count('class="primary keep-access"') == 2 and "acme_orphan" not in page, "only the owner's own items"
    dana = item_for(session, campaign, world.grants["dana_news"])
    noa = item_for(session, campaign, world.grants["noa_news"])
    kept = owner.post(f"/reviews/items/{dana.id}/keep")
    assert kept.status_code == 302
    no_reason = owner.post(f"/reviews/items/{noa.id}/remove", data={"reason": "  ", "confirmed": "1"})
    assert no_reason.status_code == 422 and "Write a short reason" in text_of(no_reason)
    session.expire_all()
    assert session.get(Grant, world.grants["noa_news"]).revoked_at is None
    removed = owner.post(f"/reviews/items/{noa.id}/remove", data={"reason": "moved to sales", "confirmed": "1"},
                         follow_redirects=True)
    assert removed.status_code == 200 and "no longer has access" in text_of(removed)
    session.expire_all()
    assert item_for(session, campaign, world.grants["dana_news"]).decision is ItemDecision.CERTIFIED
    assert session.get(Grant, world.grants["noa_news"]).revoke_reason.endswith("moved to sales")
    twice = owner.post(f"/reviews/items/{noa.id}/keep")
    assert twice.status_code == 409 and "already decided" in text_of(twice)
    assert owner.get("/reviews/campaigns").status_code == 403
    assert owner.get("/accounts").status_code == 403


def test_a_reviewer_not_linked_to_a_person_is_told_why_the_page_is_empty(console, world, open_campaign):
    open_campaign()
    page = text_of(console(Role.REVIEWER).get("/reviews"))
    assert "not linked to a person" in page


def test_governance_opens_a_campaign_in_the_console(console, session, world):
    governance = console(Role.GOVERNANCE)
    form = text_of(governance.get("/reviews/campaigns/new"))
    assert 'value="business_unit:News"' in form and 'value="network:instagram"' in form
    bad = governance.post("/reviews/campaigns", data={"name": "", "scope": "all", "deadline": "not a date"})
    assert bad.status_code == 422 and "Give the campaign a name" in text_of(bad) and "Pick the last day" in text_of(bad)
    last_day = date.today() + timedelta(days=60)
    empty = governance.post("/reviews/campaigns", data={"name": "Empty", "scope": "business_unit:Nobody", "deadline": last_day.isoformat()})
    assert empty.status_code == 422 and "nothing to review" in text_of(empty)
    form = {"name": "Brand check", "scope": "business_unit:Brand", "deadline": last_day.isoformat(), "on_deadline": "escalate",
            "reminder_every_hours": "48"}
    preview = text_of(governance.post("/reviews/campaigns", data=form))
    assert "Before you open it" in preview and 'data-count="items">1<' in preview and 'data-count="reviewers">1<' in preview
    assert session.query(ReviewCampaign).filter_by(name="Brand check").count() == 0, "the preview opens nothing"
    opened = governance.post("/reviews/campaigns", data={**form, "confirmed": "1"}, follow_redirects=True)
    assert opened.status_code == 200
    page = text_of(opened)
    assert "Brand check" in page and "is opening" in page, "the request only asks: a job reads the access in scope"
    assert "0 of 1 decided" in page and "Dana Levi" in page and "ليلى حداد" in page, "embedded, the job ran after the request"
    campaign = session.query(ReviewCampaign).filter_by(name="Brand check").one()
    assert (campaign.scope_kind, campaign.scope_value, campaign.on_deadline.value, campaign.reminder_every_hours) == (
        ScopeKind.BUSINESS_UNIT, "Brand", "escalate", 48)
    assert campaign.deadline.isoformat() == f"{last_day + timedelta(days=1)}T00:00:00+00:00", "the review runs through its last day"
    listing = text_of(governance.get("/reviews/campaigns"))
    assert "Brand check" in listing and "0 of 1 decided" in listing
    closed = governance.post(f"/reviews/campaigns/{campaign.id}/close", data={"reason": "wrong scope", "confirmed": "1"},
                            follow_redirects=True)
    assert closed.status_code == 200 and "Nothing was removed" in text_of(closed)
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.CLOSED


def test_an_auditor_follows_campaigns_but_cannot_act(console, world, open_campaign):
    campaign = open_campaign()
    auditor = console(Role.AUDITOR)
    home = text_of(auditor.get("/"))
    assert 'data-todo=' not in home and 'data-chart="reviews"' in home and "Q4 review" in home
    listing = text_of(auditor.get("/reviews/campaigns"))
    assert "Q4 review" in listing and "Open a campaign" not in listing
    detail = text_of(auditor.get(f"/reviews/campaigns/{campaign.id}"))
    assert "Close early" not in detail and "Governance" in detail
    assert auditor.get("/reviews").status_code == 403
    assert auditor.post(f"/reviews/campaigns/{campaign.id}/close").status_code == 403
    assert auditor.get("/reviews/campaigns/new").status_code == 403


def test_a_held_campaign_shows_the_confirmation_and_governance_confirms(console, session, actor, world, open_campaign):
    config = service.ReviewSettings(mass_revocation_threshold=1)
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", config=config)
    from sqlalchemy import update

    from tests.unit.reviews.conftest import later

    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    service.process_deadline(session, actor, config, campaign.id)
    session.commit()
    governance = console(Role.GOVERNANCE)
    page = text_of(governance.get(f"/reviews/campaigns/{campaign.id}"))
    assert "Waiting for your confirmation" in page and "remove 4 people" in page
    confirmed = governance.post(f"/reviews/campaigns/{campaign.id}/approve-held", data={"confirmed": "1"},
                                follow_redirects=True)
    assert confirmed.status_code == 200 and "Confirmed" in text_of(confirmed)
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.CLOSED
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is not None


@pytest.mark.parametrize(("locale", "keep", "direction"), [("ar", "إبقاء الصلاحية", "rtl"), ("he", "להשאיר את ההרשאה", "rtl")])
def test_the_reviewer_page_in_arabic_and_hebrew(console, world, open_campaign, locale, keep, direction):
    open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = console(Role.REVIEWER, world.people["owner"])
    owner.post("/locale", data={"locale": locale})
    page = text_of(owner.get("/reviews"))
    assert f'dir="{direction}"' in page and keep in page and "Keep access" not in page


@pytest.mark.parametrize("last_day", ["9999-12-31", "2150-06-01"])
def test_an_out_of_range_deadline_is_shown_next_to_its_field(console, open_campaign, last_day):
    """Item 8: 9999-12-31 had no next day (a 500); a deadline past a year is refused too, in the reader's language."""
    governance = console(Role.GOVERNANCE)
    opened = governance.post("/reviews/campaigns", data={"name": "Far", "scope": "all", "deadline": last_day},
                             headers={"Accept-Language": "ar"})
    page = text_of(opened)
    assert opened.status_code == 422
    assert 'id="campaign-deadline-error"' in page and 'aria-describedby="campaign-deadline-error"' in page
    assert "سنة واحدة" in page and "up to a year ahead" not in page
    campaign = open_campaign()
    extended = governance.post(f"/reviews/campaigns/{campaign.id}/extend", data={"deadline": last_day},
                               headers={"Accept-Language": "ar"})
    page = text_of(extended)
    assert extended.status_code == 422
    assert 'id="extend-deadline-error"' in page and "سنة واحدة" in page


@pytest.mark.parametrize("locale, words", [("en", "You are about to close the access review"), ("ar", "أنت على وشك إغلاق")])
def test_closing_early_asks_first_and_says_nothing_is_removed(console, session, app, open_campaign, locale, words):
    campaign = open_campaign()
    governance = console(Role.GOVERNANCE)
    governance.post("/locale", data={"locale": locale})
    asked = governance.post(f"/reviews/campaigns/{campaign.id}/close", data={"reason": "wrong scope"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page and "\u2068Q4 review\u2069" in page
    assert 'name="confirmed" value="1"' in page and 'value="wrong scope"' in page
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.OPEN, "asking changes nothing"


def test_closing_early_needs_a_reason_shown_at_its_field_and_it_reaches_the_audit_event(console, session, open_campaign):
    campaign = open_campaign()
    governance = console(Role.GOVERNANCE)
    refused = governance.post(f"/reviews/campaigns/{campaign.id}/close", data={"reason": "", "confirmed": "1"})
    assert refused.status_code == 422 and 'id="confirm-reason-error"' in text_of(refused)
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.OPEN
    governance.post(f"/reviews/campaigns/{campaign.id}/close", data={"reason": "merged into the yearly review", "confirmed": "1"})
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "reviews:campaign:close",
                                                       AuditEvent.target_id == str(campaign.id)))
    assert event.summary["reason"] == "merged into the yearly review"


def test_closing_a_closed_campaign_says_when_and_by_whom(console, session, actor, open_campaign):
    campaign = open_campaign()
    service.close_campaign(session, actor, campaign.id, "done")
    session.commit()
    again = console(Role.GOVERNANCE).post(f"/reviews/campaigns/{campaign.id}/close", data={"reason": "again", "confirmed": "1"},
                                          follow_redirects=True)
    assert again.status_code == 200 and "This campaign was already closed on" in text_of(again)
    assert "by \u2068pytest\u2069." in text_of(again)


@pytest.mark.parametrize("locale, words", [("en", "You are about to remove"), ("ar", "أنت على وشك إزالة")])
def test_removing_access_in_a_review_asks_first_and_names_whose_access(console, session, world, open_campaign, locale, words):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = console(Role.REVIEWER, world.people["owner"])
    owner.post("/locale", data={"locale": locale})
    noa = item_for(session, campaign, world.grants["noa_news"])
    asked = owner.post(f"/reviews/items/{noa.id}/remove", data={"reason": "moved to sales"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page and "\u2068Noa Bar\u2069" in page and "\u2068@acme_news\u2069" in page
    assert 'name="confirmed" value="1"' in page and 'value="moved to sales"' in page
    session.expire_all()
    assert session.get(Grant, world.grants["noa_news"]).revoked_at is None, "asking changes nothing"
    assert item_for(session, campaign, world.grants["noa_news"]).decision is None


def test_a_reviewer_cannot_see_names_on_someone_elses_removal(console, session, world, open_campaign):
    campaign = open_campaign()
    stranger = console(Role.REVIEWER, world.people["dana"])
    noa = item_for(session, campaign, world.grants["noa_news"])
    refused = stranger.post(f"/reviews/items/{noa.id}/remove", data={"reason": "x"})
    assert refused.status_code == 403 and "Noa Bar" not in text_of(refused)


def test_deciding_an_item_already_decided_says_what_when_and_by_whom(console, session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    noa = item_for(session, campaign, world.grants["noa_news"])
    service.decide_item(session, actor, service.Decider(world.people["owner"]), noa.id, "revoke", "moved to sales")
    session.commit()
    owner = console(Role.REVIEWER, world.people["owner"])
    for path, data in (("remove", {"reason": "again"}), ("remove", {"reason": "again", "confirmed": "1"}), ("keep", {})):
        stale = owner.post(f"/reviews/items/{noa.id}/{path}", data=data)
        page = text_of(stale)
        assert stale.status_code == 409 and "This access was already decided on" in page
        assert "by \u2068pytest\u2069: Removed." in page


@pytest.mark.parametrize("locale, words", [("en", "You are about to"), ("ar", "أنت على وشك")])
def test_applying_a_removing_deadline_and_confirming_a_held_one_ask_first(console, session, actor, world, open_campaign,
                                                                         locale, words):
    from sqlalchemy import update

    from tests.unit.reviews.conftest import later

    config = service.ReviewSettings(mass_revocation_threshold=1)
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", config=config)
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    governance = console(Role.GOVERNANCE)
    governance.post("/locale", data={"locale": locale})
    asked = governance.post(f"/reviews/campaigns/{campaign.id}/process-deadline")
    assert asked.status_code == 200 and words in text_of(asked) and "\u2068Q4 review\u2069" in text_of(asked)
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.OPEN, "asking changes nothing"
    service.process_deadline(session, actor, config, campaign.id)  # held: more than this config removes unasked
    session.commit()
    asked = governance.post(f"/reviews/campaigns/{campaign.id}/approve-held")
    assert asked.status_code == 200 and words in text_of(asked) and ": 4" in text_of(asked).replace("\u060c", ":")
    session.expire_all()
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.HELD
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is None


def test_the_confirmed_deadline_removes_the_access_nobody_reviewed(console, session, world, open_campaign):
    from sqlalchemy import update

    from tests.unit.reviews.conftest import later

    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    done = console(Role.GOVERNANCE).post(f"/reviews/campaigns/{campaign.id}/process-deadline", data={"confirmed": "1"},
                                         follow_redirects=True)
    assert done.status_code == 200 and "The deadline was applied" in text_of(done)
    session.expire_all()
    assert session.get(Grant, world.grants["noa_news"]).revoked_at is not None
