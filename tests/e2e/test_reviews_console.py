"""An access review end to end in Chromium: governance previews and opens it, the account owner keeps one grant and
removes another, and governance sees the campaign complete and the removed grant gone; and a reviewer on a 390 px phone,
in English and Arabic, reaches every decision button, removes the selected access and keeps the rest in bulk."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from govern.accounts.service import create_account
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.extensions import db
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.reviews import service as reviews
from govern.reviews.models import ScopeKind
from tests.e2e.conftest import SEED_ACTOR, off_the_browser_thread

pytestmark = pytest.mark.e2e

UNIT = "Reviews E2E"


@pytest.fixture
def review_world(e2e_app, seeded):
    """An account of its own business unit owned by Sara, with Dana and Omar on it, and Sara as a reviewer user."""
    def build():
        with e2e_app.app_context():
            account = create_account(db.session, SEED_ACTOR, "threads", handle="alnoor_review", display_name="النور للمراجعة",
                                     business_unit=UNIT, owner_id=seeded.people["sara"])
            kept = create_grant(db.session, SEED_ACTOR, seeded.people["dana"], account.id, GrantRole.PUBLISHER, "daily posts")
            removed = create_grant(db.session, SEED_ACTOR, seeded.people["omar"], account.id, GrantRole.ANALYST, "a past report")
            email = ensure_console_user(db.session, SEED_ACTOR, "reviewer@e2e.test", "سارة المراجِعة", Role.REVIEWER,
                                        person_id=seeded.people["sara"]).email
            db.session.commit()
            return account.id, kept.id, removed.id, email

    account_id, kept_id, removed_id, email = off_the_browser_thread(build)
    seeded.emails[Role.REVIEWER] = email
    return {"account": account_id, "kept": kept_id, "removed": removed_id}


def revoked_at(e2e_app, grant_id: int):
    def read():
        with e2e_app.app_context():
            return db.session.scalar(select(Grant.revoked_at).where(Grant.id == grant_id))

    return off_the_browser_thread(read)


def test_governance_opens_a_review_and_the_owner_keeps_one_grant_and_removes_another(sign_in, e2e_app, review_world, screenshot):
    governance = sign_in(Role.GOVERNANCE)
    governance.goto("/reviews/campaigns")
    governance.get_by_role("link", name="Open a campaign").click()
    governance.locator("#campaign-name").fill("Threads access, December")
    governance.locator("#campaign-scope").select_option(f"business_unit:{UNIT}")
    governance.locator("#campaign-on-deadline").select_option("revoke")
    governance.get_by_role("button", name="Preview the campaign").click()  # counted before anything opens
    expect(governance.locator('[data-count="items"]')).to_have_text("2")
    expect(governance.locator('[data-count="reviewers"]')).to_have_text("1")
    expect(governance.locator(".overlap-warning")).to_have_count(0)
    screenshot(governance, "en-reviews-launch-preview")
    governance.get_by_role("button", name="Open the campaign").click()
    expect(governance.locator(".alert-success")).to_contain_text("is opening")  # a job reads the access in scope
    expect(governance.locator(".campaign-progress")).to_contain_text("0 of 2 decided")  # embedded: it ran after the request
    expect(governance.locator("h1")).to_have_text("Threads access, December")
    expect(governance.locator(".review-reviewers")).to_contain_text("سارة الحسيني")
    campaign_url = governance.url

    owner = sign_in(Role.REVIEWER)  # the sign-in lands on the console home: its to-do links to the reviewer's reviews
    expect(owner.locator('[data-todo="reviews"] .todo-count')).to_have_text("2")
    expect(owner.locator("[data-chart]")).to_have_count(0)  # a reviewer reads no posture
    owner.locator('[data-todo="reviews"] a').click()
    expect(owner).to_have_url(re.compile(r"/reviews$"))
    account = owner.locator(f"#account-{review_world['account']}")
    expect(account).to_contain_text("alnoor_review")
    expect(account.locator("tbody tr")).to_have_count(2)
    dana = account.locator("tr", has_text="דנה לוי")
    omar = account.locator("tr", has_text="Omar Haddad")
    expect(dana).to_contain_text("Publisher")
    dana.get_by_role("button", name="Keep access").click()
    expect(owner.locator(".alert-success")).to_contain_text("keeps access")
    omar = owner.locator(f"#account-{review_world['account']} tr", has_text="Omar Haddad")
    omar.get_by_role("button", name="Remove access").click()  # the reason is required: the browser stops the form
    assert revoked_at(e2e_app, review_world["removed"]) is None
    omar.get_by_placeholder("Why remove it? (required)").fill("only needed for last year's report")
    omar.get_by_role("button", name="Remove access").click()
    expect(owner.locator(".confirm")).to_contain_text("You are about to remove")  # nothing happens without confirming
    assert revoked_at(e2e_app, review_world["removed"]) is None
    owner.locator(".confirm").get_by_role("button", name="Remove access").click()
    expect(owner.locator(".alert-success")).to_contain_text("no longer has access")
    expect(owner.locator(".empty")).to_contain_text("Nothing to review right now")  # both decided: the campaign is done
    screenshot(owner, "en-reviews-owner")
    assert revoked_at(e2e_app, review_world["kept"]) is None
    assert revoked_at(e2e_app, review_world["removed"]) is not None

    governance.goto(campaign_url)
    expect(governance.locator(".campaign-status")).to_have_text("Closed")
    expect(governance.locator(".campaign-progress")).to_contain_text("2 of 2 decided")
    expect(governance.locator(".review-items tr", has_text="Omar Haddad")).to_contain_text("Removed")
    expect(governance.locator(".review-items tr", has_text="Omar Haddad")).to_contain_text("only needed for last year's report")
    governance.locator("#filter-state").select_option("removed")  # the campaign's items filtered, with totals
    governance.locator(".review-filters button").click()
    expect(governance.locator(".review-items tbody tr")).to_have_count(1)
    expect(governance.locator(".review-totals")).to_contain_text("1 of the campaign's 2 items match")
    screenshot(governance, "en-reviews-campaign-filtered")
    governance.goto(f"/accounts/{review_world['account']}")
    current = governance.locator("section", has_text="Past and scheduled access")
    expect(current).to_contain_text("Omar Haddad")  # the removed grant is now only in the account's history
    screenshot(governance, "en-reviews-campaign-complete")


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone_review(e2e_app, seeded, request):
    """A campaign of its own (one business unit per language) over an account Sara owns, Dana, Omar and Yossi's
    replacement on it, opened at once; Sara is the reviewer user."""
    locale = request.param

    def build():
        with e2e_app.app_context():
            unit = f"Phone {locale}"
            account = create_account(db.session, SEED_ACTOR, "instagram", handle=f"alnoor_phone_{locale}",
                                     display_name="النور على الهاتف", business_unit=unit, owner_id=seeded.people["sara"])
            for person, role in (("dana", GrantRole.PUBLISHER), ("omar", GrantRole.ANALYST)):
                create_grant(db.session, SEED_ACTOR, seeded.people[person], account.id, role, "weekly posts")
            email = ensure_console_user(db.session, SEED_ACTOR, "reviewer@e2e.test", "سارة المراجِعة", Role.REVIEWER,
                                        person_id=seeded.people["sara"]).email
            reviews.open_campaign(db.session, SEED_ACTOR, reviews.ReviewSettings(), name=f"Phone review {locale}",
                                  scope_kind=ScopeKind.BUSINESS_UNIT, scope_value=unit,
                                  deadline=datetime.now(timezone.utc) + timedelta(days=7))
            db.session.commit()
            return account.id, email

    account_id, email = off_the_browser_thread(build)
    seeded.emails[Role.REVIEWER] = email
    return locale, account_id


def within_the_phone(page, locator) -> None:
    """The element is shown, and once scrolled to it lies entirely inside the 390 px wide window."""
    expect(locator).to_be_visible()
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_in_viewport(ratio=1)
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


@pytest.mark.parametrize("phone_review", ["en", "ar"], indirect=True)
def test_a_reviewer_decides_on_a_phone_in_english_and_arabic(sign_in, e2e_app, phone_review, screenshot):
    locale, account_id = phone_review
    owner = sign_in(Role.REVIEWER, "en-US" if locale == "en" else "ar")
    owner.set_viewport_size(PHONE)
    owner.goto("/reviews")
    expect(owner.locator("html")).to_have_attribute("dir", "ltr" if locale == "en" else "rtl")
    assert owner.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing runs off the side"
    rows = owner.locator(f"#account-{account_id} tbody tr")
    expect(rows).to_have_count(2)
    for index in range(2):
        row = rows.nth(index)
        within_the_phone(owner, row.locator("button.keep-access"))
        within_the_phone(owner, row.locator("button.remove-access"))
        within_the_phone(owner, row.locator("input[type=checkbox]"))
    expect(rows.first.locator(".last-activity")).to_be_visible()  # the context is on the card too
    within_the_phone(owner, owner.locator("button.keep-all"))
    within_the_phone(owner, owner.locator("button.remove-selected"))
    owner.evaluate("window.scrollTo(0, 0)")
    screenshot(owner, f"{locale}-reviews-phone")

    omar = owner.locator(f"#account-{account_id} tr", has_text="Omar Haddad")
    omar.locator("input[type=checkbox]").check()
    owner.locator("button.remove-selected").click()
    confirm = owner.locator(".confirm")
    expect(confirm).to_contain_text("Omar Haddad")  # the confirmation names whose access goes
    within_the_phone(owner, confirm.locator("button.danger"))
    confirm.locator("#confirm-reason").fill("لم يعد في الفريق" if locale == "ar" else "no longer on the team")
    screenshot(owner, f"{locale}-reviews-phone-confirm")
    confirm.locator("button.danger").click()
    expect(owner.locator(".alert-success")).to_have_count(1)
    rows = owner.locator(f"#account-{account_id} tbody tr")
    expect(rows.filter(has=owner.locator(".review-revoked"))).to_have_count(1)
    owner.locator("button.keep-all").click()  # the one still waiting
    expect(owner.locator(".alert-success")).to_have_count(1)
    expect(owner.locator(".empty")).to_be_visible()  # the campaign is done: nothing left to review
    screenshot(owner, f"{locale}-reviews-phone-done")


def test_the_launch_preview_warns_in_arabic_about_access_already_under_review(sign_in, e2e_app, seeded, screenshot):
    def build():
        with e2e_app.app_context():
            account = create_account(db.session, SEED_ACTOR, "x", handle="alnoor_overlap", display_name="النور المتداخل",
                                     business_unit="Overlap", owner_id=seeded.people["sara"])
            create_grant(db.session, SEED_ACTOR, seeded.people["dana"], account.id, GrantRole.ANALYST, "reports")
            reviews.open_campaign(db.session, SEED_ACTOR, reviews.ReviewSettings(), name="مراجعة جارية",
                                  scope_kind=ScopeKind.BUSINESS_UNIT, scope_value="Overlap",
                                  deadline=datetime.now(timezone.utc) + timedelta(days=7))
            db.session.commit()

    off_the_browser_thread(build)
    governance = sign_in(Role.GOVERNANCE, "ar")
    governance.goto("/reviews/campaigns/new")
    governance.locator("#campaign-name").fill("مراجعة ثانية")
    governance.locator("#campaign-scope").select_option("business_unit:Overlap")
    governance.locator("form button.primary").click()
    warning = governance.locator(".overlap-warning")
    expect(warning).to_contain_text("مراجعة جارية")  # names the running campaign that already asks
    expect(governance.locator('[data-count="items"]')).to_have_text("0")
    expect(governance.locator('button[name="confirmed"]')).to_have_count(0)  # nothing new: it cannot be opened
    screenshot(governance, "ar-reviews-launch-overlap")
