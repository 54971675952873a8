"""The console in a real Chromium: sign-in, search, grant and revoke, Arabic and Hebrew layouts, roles, bad input, CSRF."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from govern import app_services
from govern.auth.roles import Role

pytestmark = pytest.mark.e2e


def section(page: Page, heading_id: str):
    return page.locator(f"section[aria-labelledby='{heading_id}']")


def test_search_in_arabic_then_grant_and_revoke_access(sign_in, seeded, screenshot):
    page = sign_in(Role.IT)
    expect(page).to_have_url(re.compile(r"/$"))  # the console home: IT's to-do and the charts it may read
    expect(page.get_by_role("heading", level=1)).to_have_text("Home")
    expect(page.locator('[data-todo="reconnect"]')).to_be_visible()
    expect(page.locator('[data-todo="approvals"]')).to_have_count(0)
    expect(page.locator('[data-chart="health"] svg.chart')).to_be_visible()
    screenshot(page, "en-home")
    page.goto("/accounts")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    expect(page.locator(".whoami")).to_contain_text("נועה ברק")
    expect(page.locator(".whoami")).to_contain_text("IT")

    # Typed without harakat and with ه for ة: the service folds both sides, so this still finds "قناة النُّور".
    page.get_by_label("Search").fill("قناه النور")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("قناة النُّور الإخبارية")
    screenshot(page, "en-accounts-search")

    page.get_by_role("link", name="alnoor_news").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("alnoor_news")
    expect(page.get_by_role("heading", name="History")).to_have_count(0)  # IT may not read the audit trail

    page.get_by_label("Find a person").fill("ساره")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_label("Person", exact=True).select_option(str(seeded.people["sara"]))
    page.get_by_label("Role").select_option("publisher")
    page.get_by_label("Last day of access").fill((date.today() + timedelta(days=30)).isoformat())
    page.locator("#reason").fill("Runs the Ramadan campaign")
    page.get_by_role("button", name="Grant access").click()

    expect(page.locator(".flashes")).to_contain_text("Access granted to")
    in_force = section(page, "access-title")
    sara_row = in_force.locator("tbody tr", has_text="سارة الحسيني")
    expect(sara_row).to_contain_text("Publisher")
    screenshot(page, "en-account-granted")

    sara_row.get_by_placeholder("Reason").fill("Campaign finished")
    sara_row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".confirm")).to_contain_text("You are about to revoke")  # nothing happens without confirming
    expect(page.locator("#confirm-reason")).to_have_value("Campaign finished")
    screenshot(page, "en-revoke-confirmation")
    page.locator(".confirm").get_by_role("button", name="Revoke access").click()
    expect(page.locator(".flashes")).to_contain_text("revoked")
    expect(section(page, "access-title").locator("tbody tr", has_text="سارة الحسيني")).to_have_count(0)
    expect(section(page, "past-title").locator("tbody tr", has_text="سارة الحسيني")).to_contain_text("Revoked")


def test_arabic_console_is_right_to_left(sign_in, seeded, screenshot):
    page = sign_in(Role.GOVERNANCE)
    page.get_by_role("button", name="العربية").click()

    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("الرئيسية")
    expect(page.locator('[data-chart="risk"] svg.chart')).to_have_attribute("direction", "rtl")
    screenshot(page, "ar-home")
    page.goto("/accounts")
    expect(page.get_by_role("heading", level=1)).to_have_text("الحسابات")
    expect(page.get_by_role("link", name="الأشخاص")).to_be_visible()
    expect(page.locator(".role-tag")).to_have_text("الحوكمة")
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > 1280 / 2, "in RTL the brand sits at the right-hand edge"
    screenshot(page, "ar-accounts")

    page.goto(f"/accounts/{seeded.accounts['alnoor_news']}")
    expect(page.get_by_role("heading", name="صلاحيات الوصول السارية")).to_be_visible()
    expect(page.get_by_role("heading", name="سجل الأحداث")).to_be_visible()
    expect(page.locator(".details")).to_contain_text("نشط")
    screenshot(page, "ar-account")


def test_hebrew_console_and_a_person_with_their_access(sign_in, seeded, screenshot):
    page = sign_in(Role.AUDITOR)
    page.get_by_role("button", name="עברית").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "he")
    expect(page.get_by_role("heading", level=1)).to_have_text("בית")
    screenshot(page, "he-home")
    page.goto("/accounts")
    expect(page.get_by_role("heading", level=1)).to_have_text("חשבונות")
    screenshot(page, "he-accounts")

    page.get_by_role("link", name="אנשים").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("אנשים")
    screenshot(page, "he-people")
    page.get_by_label("חיפוש").fill("דנה")
    page.get_by_role("button", name="חיפוש").click()
    page.get_by_role("link", name="דנה לוי").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("דנה לוי")
    expect(page.locator(".details")).to_contain_text("Omar Haddad")
    expect(page.locator(".details")).to_contain_text("שיווק")
    in_force = section(page, "access-title")
    expect(in_force.locator("tbody tr")).to_have_count(2)
    expect(in_force).to_contain_text("alnoor_news")
    expect(in_force).to_contain_text("אנליסט/ית")
    screenshot(page, "he-person")


def test_an_auditor_reads_history_but_sees_no_forms(sign_in, seeded):
    page = sign_in(Role.AUDITOR)
    page.goto(f"/accounts/{seeded.accounts['shalom_brand']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("shalom.brand")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_role("heading", name="Access in force")).to_be_visible()
    expect(page.locator("form[action$='/grants']")).to_have_count(0)
    expect(page.locator("form[action$='/revoke']")).to_have_count(0)
    expect(page.locator("form[action$='/retire']")).to_have_count(0)
    expect(page.get_by_role("button", name="Grant access")).to_have_count(0)


def test_bad_input_gets_a_readable_message_not_a_500(sign_in, seeded):
    page = sign_in(Role.IT)
    page.goto(f"/accounts/{seeded.accounts['acme_corp']}")
    page.get_by_label("Find a person").fill("Omar")  # the picker lists nobody until a search
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_label("Person", exact=True).select_option(str(seeded.people["omar"]))
    page.get_by_label("Role").select_option("analyst")
    page.get_by_label("Last day of access").fill((date.today() - timedelta(days=1)).isoformat())
    page.locator("#reason").fill("Quarterly report")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Grant access").click()
    assert posted.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Last day of access: pick a date from today onwards")
    expect(page.locator("#reason")).to_have_value("Quarterly report")

    page.goto(f"/accounts/{seeded.accounts['alnoor_news']}")
    page.get_by_label("Find a person").fill("דנה")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_label("Person", exact=True).select_option(str(seeded.people["dana"]))
    page.get_by_label("Role").select_option("analyst")
    page.locator("#reason").fill("Second analyst grant")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Grant access").click()
    assert posted.value.status == 409  # the service refuses an overlapping grant; its reason is shown
    expect(page.get_by_role("alert")).to_contain_text("already has the analyst role")
    page.get_by_role("button", name="العربية").click()  # from a re-rendered POST, the switcher returns to the page
    expect(page).to_have_url(re.compile(rf"/accounts/{seeded.accounts['alnoor_news']}(\?person_q=[^&]*)?$"))  # with the search
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.get_by_role("button", name="English").click()

    response = page.goto("/accounts?status=bogus&limit=0")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("Status: choose a status from the list.")
    expect(page.get_by_role("alert")).to_contain_text("Rows per page: show between 1 and 200 rows.")

    response = page.goto("/accounts?cursor=not-a-real-cursor")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("start again from the first page")


def test_the_person_picker_fills_as_one_types(sign_in, seeded):
    page = sign_in(Role.IT)
    page.goto(f"/accounts/{seeded.accounts['acme_corp']}")
    picker = page.get_by_label("Person", exact=True)
    expect(picker.locator("option")).to_have_count(1)  # nobody is listed before a search
    page.get_by_label("Find a person").fill("سارة")  # no click on Find: the page asks /people/search as one types
    expect(picker.locator("option")).to_have_count(2)
    picker.select_option(str(seeded.people["sara"]))


def test_a_post_without_its_csrf_token_is_refused(sign_in, seeded):
    page = sign_in(Role.ADMIN)
    account_url = f"/accounts/{seeded.accounts['acme_careers']}"
    refused = page.request.post(f"{account_url}/retire", form={"reason": "no token on this form"})
    assert refused.status == 400
    assert "security token" in refused.text()
    page.goto(account_url)
    expect(page.locator(".details .badge")).to_have_text("Active")


def test_keyset_pages_and_sorting(sign_in):
    page = sign_in(Role.AUDITOR)
    page.goto("/accounts?limit=2")
    rows = page.locator("table.data tbody tr td:first-child")
    expect(rows).to_have_count(2)
    first_page = rows.all_inner_texts()
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    second_page = rows.all_inner_texts()
    assert second_page and not set(first_page) & set(second_page)

    page.goto("/accounts?limit=50")
    page.get_by_role("link", name="Display name").click()
    expect(page).to_have_url(re.compile(r"sort=display_name"))
    expect(page.locator("table.data tbody tr").first.locator("td").nth(1)).to_have_text("Acme Careers")


def test_signing_out_and_the_sign_in_page(sign_in, screenshot):
    page = sign_in(Role.GOVERNANCE)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".flashes")).to_contain_text("You have signed out.")
    expect(page.locator("pre.command")).to_contain_text("govern console login-link --email")
    screenshot(page, "en-login")

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    screenshot(page, "ar-login")

    page.goto("/accounts")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_an_unknown_account_gets_a_translated_error_page(sign_in, screenshot):
    page = sign_in(Role.IT)
    page.get_by_role("button", name="עברית").click()
    response = page.goto("/accounts/999999")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("לא מצאנו את מה שחיפשת")
    expect(page.get_by_role("link", name="חזרה למסוף הניהול")).to_be_visible()
    screenshot(page, "he-error")


def test_a_persons_accounts_link_filters_by_owner(sign_in, seeded):
    page = sign_in(Role.GOVERNANCE)
    page.goto(f"/people/{seeded.people['dana']}")
    page.get_by_role("link", name="Accounts this person owns").click()
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    expect(page.locator("table.data tbody")).to_contain_text("shalom.brand")
    page.get_by_role("link", name="Show every owner").click()
    expect(page.locator("table.data tbody")).to_contain_text("acme-corp")  # the owner filter is gone: Omar's account too
    expect(page.locator("table.data tbody tr").nth(len(seeded.accounts) - 1)).to_be_visible()  # other tests add accounts


def test_it_connects_an_account_through_the_network_and_sees_it_healthy(sign_in, seeded, e2e_app, screenshot):
    from govern.broker.service import register_network_app
    from govern.secret_value import SecretValue
    from tests.e2e.conftest import SEED_ACTOR, off_the_browser_thread
    from tests.support.fake_network import FakeNetwork

    with FakeNetwork() as network:
        endpoints = {"authorize_url": network.authorize_url, "token_url": network.token_url, "revocation_url": network.revocation_url,
                     "whoami_url": network.whoami_url, "api_url": network.api_url}

        def register_app():
            from govern.extensions import db

            with e2e_app.app_context():
                register_network_app(db.session, app_services.broker(e2e_app), SEED_ACTOR, "x", "govern-test",
                                     SecretValue("s3cret"), endpoints, ["publish", "read"])
                db.session.commit()

        off_the_browser_thread(register_app)
        page = sign_in(Role.IT)
        page.goto(f"/accounts/{seeded.accounts['alnoor_news']}")
        expect(page.get_by_text("Not connected")).to_be_visible()
        page.get_by_role("button", name="Connect", exact=True).click()
        expect(page.get_by_role("heading", name="Connect X")).to_be_visible()
        page.get_by_role("link", name="Continue to X").click()
        expect(page.get_by_text("The account is connected.")).to_be_visible()
        expect(page.locator("#connection-title + dl")).to_contain_text("Healthy")
        screenshot(page, "account-connected-en")
        assert network.stats["token_requests"] == 1
        page.get_by_role("button", name="Refresh now").click()
        expect(page.get_by_text("The account's tokens were refreshed.")).to_be_visible()
        assert network.stats["refresh_requests"] == 1

        def link_it_user_to_dana():  # dana is an analyst on this account: she may read, not publish
            from sqlalchemy import update

            from govern.auth.models import ConsoleUser
            from govern.extensions import db

            with e2e_app.app_context():
                db.session.execute(update(ConsoleUser).where(ConsoleUser.email == seeded.emails[Role.IT]).values(person_id=seeded.people["dana"]))
                db.session.commit()

        off_the_browser_thread(link_it_user_to_dana)
        page.reload()
        page.get_by_label("New post").fill("שלום לכולם")
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("alert")).to_contain_text("has no grant")
        assert network.posts == []
        page.get_by_role("button", name="Show recent posts").click()
        expect(page.get_by_text("No posts yet.")).to_be_visible()
