"""Running the inventory from the console in Chromium: add an account in English and in Arabic (owner picked by
search, the first problem focused), edit it, and register a network's app from /networks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from govern.auth.roles import Role

pytestmark = pytest.mark.e2e


def test_it_adds_an_account_in_english_then_changes_its_owner(sign_in, seeded, screenshot):
    page = sign_in(Role.IT)
    page.goto("/accounts")
    page.get_by_role("link", name="Add an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add an account")
    page.get_by_label("Network").select_option("tiktok")
    page.get_by_label("Handle").fill("@ramadan.campaign")
    page.get_by_label("Display name").fill("Ramadan Campaign")
    page.get_by_label("Tags").fill("campaign, " + "a-tag-far-too-long-" * 4)  # only the server knows the limit
    page.get_by_role("button", name="Add account").click()

    expect(page.locator("#tags-error")).to_contain_text("Tags: separate tags with commas")
    assert page.evaluate("document.activeElement.id") == "tags"  # the page opens on the field to fix
    expect(page.get_by_label("Display name")).to_have_value("Ramadan Campaign")
    screenshot(page, "en-account-new-problem")

    page.get_by_label("Business unit").fill("Marketing")
    page.get_by_label("Tags").fill("campaign, seasonal")
    page.get_by_label("Find the owner").fill("Omar")  # the picker asks /people/search as one types
    owner = page.get_by_label("Owner", exact=True)
    expect(owner.locator(f"option[value='{seeded.people['omar']}']")).to_have_count(1)
    owner.select_option(str(seeded.people["omar"]))
    page.get_by_role("button", name="Add account").click()

    expect(page.locator(".flashes")).to_contain_text(re.compile(r"@ramadan\.campaign\W* was added to the inventory\."))
    expect(page.get_by_role("heading", level=1)).to_contain_text("ramadan.campaign")
    details = page.locator("section[aria-labelledby='details-title']")
    expect(details).to_contain_text("Omar Haddad")
    expect(details).to_contain_text("seasonal")
    screenshot(page, "en-account-added")

    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Find the owner").fill("דנה")
    page.get_by_role("button", name="Find", exact=True).click()  # the same search without script: the form keeps its text
    page.get_by_label("Owner", exact=True).select_option(str(seeded.people["dana"]))
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flashes")).to_contain_text("The account's details were saved.")
    expect(details).to_contain_text("דנה לוי")


def test_an_admin_adds_an_account_in_arabic(sign_in, seeded, screenshot):
    page = sign_in(Role.ADMIN)
    page.get_by_role("button", name="العربية").click()
    page.goto("/accounts/new")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("إضافة حساب")
    page.get_by_label("الشبكة").select_option("threads")
    page.get_by_label("المعرّف").fill("alnoor_threads")
    page.get_by_label("الاسم المعروض").fill("النور على ثريدز")
    page.get_by_label("وحدة العمل").fill("الأخبار")
    page.get_by_label("الوسوم").fill("أخبار، ثريدز")
    page.get_by_label("الحالة").select_option("unmanaged")
    page.get_by_role("button", name="إضافة الحساب").click()

    expect(page.locator(".flashes")).to_contain_text("أُضيف الحساب")
    details = page.locator("section[aria-labelledby='details-title']")
    expect(details).to_contain_text("النور على ثريدز")
    expect(details.locator(".tags .tag")).to_have_text(["أخبار", "ثريدز"])
    expect(details.locator(".badge")).to_have_text("غير مُدار")
    screenshot(page, "ar-account-added")

    page.goto("/accounts/new")  # the same handle on the same network again: said on the handle field, in Arabic
    page.get_by_label("الشبكة").select_option("threads")
    page.get_by_label("المعرّف").fill("alnoor_threads")
    page.get_by_label("الاسم المعروض").fill("نسخة ثانية")
    page.get_by_role("button", name="إضافة الحساب").click()
    expect(page.locator("#handle-error")).to_contain_text("بهذا المعرّف")
    assert page.evaluate("document.activeElement.id") == "handle"


def test_an_admin_registers_a_network_app_and_its_secret_is_never_shown(sign_in, screenshot):
    page = sign_in(Role.ADMIN)
    page.get_by_role("link", name="Networks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Networks")
    page.locator("#network-mastodon").get_by_role("link", name="Register the app").click()
    expect(page.locator("code", has_text="/oauth/callback")).to_be_visible()  # the address to give the network
    page.get_by_label("Client id").fill("govern-mastodon")
    page.get_by_label("Client secret").fill("e2e-mastodon-secret-41c7")
    page.get_by_label("Authorization endpoint").fill("not an address")
    page.get_by_label("Extra authorization parameters").fill("lang=ar")
    page.get_by_role("button", name="Register the app").click()  # the browser checks the URL field first
    assert page.evaluate("document.activeElement.id") == "authorize_url"
    screenshot(page, "en-network-app-form")
    page.get_by_label("Authorization endpoint").fill("https://social.acme.example/oauth/authorize")
    page.get_by_label("Token endpoint").fill("https://social.acme.example/oauth/token")
    page.get_by_role("button", name="Register the app").click()

    expect(page).to_have_url(re.compile(r"/networks$"))
    expect(page.locator(".flashes")).to_contain_text("govern's app on Mastodon is registered")
    row = page.locator("#network-mastodon")
    expect(row).to_contain_text("govern-mastodon")
    screenshot(page, "en-networks")
    row.get_by_role("link", name="Replace the app").click()
    expect(page.get_by_label("Client id")).to_have_value("govern-mastodon")
    expect(page.get_by_label("Client secret")).to_have_value("")
    expect(page.get_by_label("Extra authorization parameters")).to_have_value("lang=ar")
    assert "e2e-mastodon-secret-41c7" not in page.content()
    page.get_by_role("button", name="עברית").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("החלפת האפליקציה של govern ב־Mastodon")
    expect(page.get_by_label("סוד הלקוח")).to_have_attribute("type", "password")
    screenshot(page, "he-network-app-form")
