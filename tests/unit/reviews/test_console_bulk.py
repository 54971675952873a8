"""The reviewer's page at Okta's level: keep all shown, remove the selected (asked first), the context to decide with,
handing an item over, "decided by" when it was not the reviewer; the campaign page's filters and the launch preview."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.audit.service import record
from govern.auth.roles import Role
from govern.grants.models import Grant
from govern.reviews import service
from govern.reviews.models import ItemDecision, ReviewCampaign, ReviewItem, ScopeKind
from tests import factories
from tests.unit.reviews.conftest import item_for


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_keep_all_shown_keeps_every_waiting_item_on_the_page(console, session, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    owner = console(Role.REVIEWER, world.people["owner"])
    page = text_of(owner.get("/reviews"))
    shown = re.findall(r'<input type="hidden" name="shown" value="(\d+)">', page)
    assert len(shown) == 2 and "Keep all 2 shown" in page and 'form="bulk" name="item"' in page
    kept = owner.post("/reviews/bulk/keep", data={"shown": shown}, follow_redirects=True)
    assert kept.status_code == 200 and "Kept 2 people's access." in text_of(kept)
    session.expire_all()
    for name in ("dana_news", "noa_news"):
        assert item_for(session, campaign, world.grants[name]).decision is ItemDecision.CERTIFIED
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "reviews:item:certify")).all()) == 2


def test_remove_selected_asks_first_names_the_people_and_needs_a_reason(console, session, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    dana, noa = (item_for(session, campaign, world.grants[name]).id for name in ("dana_news", "noa_news"))
    owner = console(Role.REVIEWER, world.people["owner"])
    none = owner.post("/reviews/bulk/remove", data={})
    assert none.status_code == 422 and "Select the access to remove first" in text_of(none)
    asked = owner.post("/reviews/bulk/remove", data={"item": [str(dana), str(noa)]})
    page = text_of(asked)
    assert asked.status_code == 200 and "You are about to remove 2 people's access" in page
    assert "Dana Levi" in page and "Noa Bar" in page and f'name="items" value="{min(dana, noa)},{max(dana, noa)}"' in page
    session.expire_all()
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is None, "asking changes nothing"
    no_reason = owner.post("/reviews/bulk/remove", data={"items": f"{dana},{noa}", "confirmed": "1", "reason": " "})
    assert no_reason.status_code == 422 and "Write a short reason" in text_of(no_reason)
    done = owner.post("/reviews/bulk/remove", data={"items": f"{dana},{noa}", "confirmed": "1", "reason": "team moved"},
                      follow_redirects=True)
    assert "Removed 2 people's access." in text_of(done)
    session.expire_all()
    assert all(session.get(Grant, world.grants[name]).revoked_at for name in ("dana_news", "noa_news"))


def test_a_stale_item_in_a_bulk_action_is_reported_not_skipped(console, session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    dana, noa = (item_for(session, campaign, world.grants[name]).id for name in ("dana_news", "noa_news"))
    owner = console(Role.REVIEWER, world.people["owner"])
    page = text_of(owner.get("/reviews"))  # the page is read, then someone else decides one of its items
    service.decide_item(session, actor, service.Decider(None, manages=True), noa, "revoke", "governance override")
    session.commit()
    shown = re.findall(r'name="shown" value="(\d+)"', page)
    answer = text_of(owner.post("/reviews/bulk/keep", data={"shown": shown}, follow_redirects=True))
    assert "Kept 1 person's access." in answer
    assert ("\u2068Noa Bar\u2069's access to \u2068@acme_news\u2069 was not changed: \u2068pytest\u2069 already decided it "
            "(Removed).") in answer
    session.expire_all()
    assert session.get(ReviewItem, dana).decision is ItemDecision.CERTIFIED
    assert session.get(ReviewItem, noa).decision is ItemDecision.REVOKED


def test_someone_elses_items_are_not_named_on_a_bulk_confirmation(console, session, world, open_campaign):
    campaign = open_campaign()
    noa = item_for(session, campaign, world.grants["noa_news"]).id
    stranger = console(Role.REVIEWER, world.people["dana"])
    refused = stranger.post("/reviews/bulk/remove", data={"item": [str(noa)]})
    assert refused.status_code == 409 and "Noa Bar" not in text_of(refused) and "no longer yours" in text_of(refused)


def test_the_reviewer_sees_the_context_and_who_overrode_them(console, session, actor, world, open_campaign):
    earlier = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="Spring review")
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, earlier, world.grants["dana_news"]).id, "certify")
    service.close_campaign(session, actor, earlier.id, "done")
    record(session, Actor("console_user:1", "x"), "broker:action:publish", "account", world.accounts["news"], outcome="ok",
           person_id=world.people["dana"])
    session.commit()
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", name="Autumn review")
    service.decide_item(session, actor, service.Decider(None, manages=True),
                        item_for(session, campaign, world.grants["noa_news"]).id, "revoke", "governance override")
    session.commit()
    page = text_of(console(Role.REVIEWER, world.people["owner"]).get("/reviews"))
    dana = page[page.index('data-person="Dana Levi"'):]
    dana = dana[:dana.index("</tr>")]
    assert "Published" in dana and "Kept" in dana and "Spring review" in dana and "granted by" in dana
    noa = page[page.index('data-person="Noa Bar"'):]
    noa = noa[:noa.index("</tr>")]
    assert "Decided by \u2068pytest\u2069" in noa and "None through govern" in noa and "Never" in noa


def test_a_reviewer_hands_an_item_to_a_colleague_found_by_search(console, session, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    colleague = factories.person(session, Actor.system("tests"), display_name="Rania Colleague")
    session.commit()
    dana = item_for(session, campaign, world.grants["dana_news"]).id
    owner = console(Role.REVIEWER, world.people["owner"])
    assert f'/reviews/items/{dana}/reassign' in text_of(owner.get("/reviews"))
    found = text_of(owner.get(f"/reviews/items/{dana}/reassign", query_string={"person_q": "Rania"}))
    assert f'<option value="{colleague.id}"' in found
    missing = owner.post(f"/reviews/items/{dana}/reassign", data={"person_id": ""})
    assert missing.status_code == 422 and "Choose who reviews this access instead." in text_of(missing)
    own = owner.post(f"/reviews/items/{dana}/reassign", data={"person_id": str(world.people["dana"])})
    assert own.status_code == 422 and "Nobody reviews their own access" in text_of(own)
    moved = owner.post(f"/reviews/items/{dana}/reassign", data={"person_id": str(colleague.id), "reason": "she runs it"},
                       follow_redirects=True)
    assert "\u2068Dana Levi\u2069's access to \u2068@acme_news\u2069 is now reviewed by \u2068Rania Colleague\u2069" in text_of(moved)
    assert f'id="item-{dana}"' not in text_of(moved), "it left the owner's list"
    assert f'id="item-{dana}"' in text_of(console(Role.REVIEWER, colleague.id).get("/reviews")), "the new reviewer sees it"
    again = owner.post(f"/reviews/items/{dana}/reassign", data={"person_id": str(world.people["ceo"])})
    assert again.status_code == 403


def test_governance_filters_a_campaign_by_reviewer_and_state_with_totals(console, session, actor, world, open_campaign):
    campaign = open_campaign()
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, campaign, world.grants["dana_news"]).id, "certify")
    session.commit()
    governance = console(Role.GOVERNANCE)
    everything = text_of(governance.get(f"/reviews/campaigns/{campaign.id}"))
    assert "5 items; 5 on this page." in everything and '<option value="governance"' in everything
    waiting = text_of(governance.get(f"/reviews/campaigns/{campaign.id}",
                                     query_string={"reviewer": world.people["owner"], "state": "waiting"}))
    assert "1 of the campaign's 5 items match; 1 on this page." in waiting and waiting.count('<tr id="item-') == 1
    assert "Noa Bar" in waiting and "/reassign?from=campaign" in waiting
    mine = text_of(governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"reviewer": "governance"}))
    assert mine.count('<tr id="item-') == 1 and "acme_orphan" in mine
    bad = governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"state": "lost", "reviewer": "x"})
    assert bad.status_code == 400 and "Choose a state from the list." in text_of(bad) and "Choose a reviewer" in text_of(bad)
    first = text_of(governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"state": "waiting", "limit": 2}))
    assert 'rel="next"' in first and "state=waiting" in re.search(r'href="([^"]+)"[^>]*>Next page', first.replace('rel="next" class="button" ', "")).group(1)


def test_the_launch_preview_warns_about_a_running_campaign_over_the_same_access(console, session, world, open_campaign):
    running = open_campaign(ScopeKind.NETWORK, "x", name="Everything on X")
    governance = console(Role.GOVERNANCE)
    last_day = (date.today() + timedelta(days=30)).isoformat()
    form = {"name": "News again", "scope": "business_unit:News", "deadline": last_day}
    preview = text_of(governance.post("/reviews/campaigns", data=form))
    assert "4 people's access in this scope is already waiting" in preview and "Everything on X" in preview
    assert f'/reviews/campaigns/{running.id}"' in preview
    assert preview.count('name="confirmed" value="1"') == 0, "nothing new to ask: it cannot be opened"
    assert "already waiting for a decision in a running campaign, so there is nothing new to review" in preview
    assert session.scalar(select(ReviewCampaign.id).where(ReviewCampaign.name == "News again")) is None


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_the_new_words_are_translated(console, session, actor, world, open_campaign, locale):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    service.decide_item(session, actor, service.Decider(None, manages=True),
                        item_for(session, campaign, world.grants["noa_news"]).id, "revoke", "override")
    session.commit()
    owner = console(Role.REVIEWER, world.people["owner"])
    owner.post("/locale", data={"locale": locale})
    page = text_of(owner.get("/reviews"))
    for english in ("Keep all", "Remove selected", "Last activity", "Last reviewed", "None through govern", "Decided by",
                    "Ask someone else to review", "granted by"):
        assert english not in page, english


def test_the_campaign_page_lists_the_ten_busiest_reviewers_and_more_on_asking(console, session, actor, world, open_campaign):
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant

    for n in range(11):
        owner = factories.person(session, actor, display_name=f"Owner {n:02d}")
        account = factories.account(session, actor, business_unit="Many", owner_id=owner.id)
        create_grant(session, actor, world.people["dana"], account.id, GrantRole.ANALYST, "work")
    session.commit()
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "Many")
    governance = console(Role.GOVERNANCE)

    def reviewer_rows(page: str) -> int:
        table = page[page.index('class="data review-reviewers"'):]
        return table[:table.index("</table>")].count("<tr>") - 1  # less the header row

    page = text_of(governance.get(f"/reviews/campaigns/{campaign.id}"))
    assert reviewer_rows(page) == 10 and "The 10 reviewers with most still waiting, of 11." in page
    assert "Show more reviewers" in page and page.count('<tr id="item-') == 11
    everyone = text_of(governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"reviewers": "all"}))
    assert reviewer_rows(everyone) == 11 and "Show more reviewers" not in everyone


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_the_new_pages_speak_the_readers_language(console, session, actor, world, open_campaign, locale):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    dana = item_for(session, campaign, world.grants["dana_news"]).id
    owner = console(Role.REVIEWER, world.people["owner"])
    owner.post("/locale", data={"locale": locale})
    governance = console(Role.GOVERNANCE)
    governance.post("/locale", data={"locale": locale})
    pages = {
        "bulk confirmation": owner.post("/reviews/bulk/remove", data={"item": [str(dana)]}),
        "hand-over page": owner.get(f"/reviews/items/{dana}/reassign", query_string={"person_q": "Eleanor"}),
        "refused hand-over": owner.post(f"/reviews/items/{dana}/reassign", data={"person_id": str(world.people["dana"])}),
        "filtered campaign": governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"state": "waiting"}),
        "bad filter": governance.get(f"/reviews/campaigns/{campaign.id}", query_string={"state": "lost"}),
        "launch preview": governance.post("/reviews/campaigns", data={"name": "x", "scope": "network:x",
                                                                      "deadline": (date.today() + timedelta(days=9)).isoformat()}),
    }
    english = ("You are about to remove", "Ask someone else to review", "Who reviews it instead", "Nobody reviews their own",
               "Hand it over", "items; ", "of the campaign's", "Choose a state", "Before you open it", "already waiting",
               "Preview again", "Reviewers asked", "Show all", "Remove the selected access")
    for name, response in pages.items():
        assert response.status_code in (200, 400, 422), (name, response.status_code)
        page = text_of(response)
        leaks = [words for words in english if words in page]
        assert not leaks, (name, leaks)
