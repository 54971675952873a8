"""The audit log in a real Chromium, as an auditor: names instead of ids, a filter, verifying the trail, the way to
the evidence bundles; and in Hebrew, right to left."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from govern.auth.roles import Role

pytestmark = pytest.mark.e2e


def test_an_auditor_reads_filters_and_verifies_the_trail_then_asks_for_evidence(sign_in, seeded, screenshot):
    page = sign_in(Role.AUDITOR)
    page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")

    page.get_by_label("Action").fill("grants:")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("section[aria-labelledby='events-title'] tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="Access of דנה לוי to shalom.brand")).to_have_count(1)
    expect(rows.first).not_to_contain_text("system:")
    screenshot(page, "en-audit-log-filtered")

    page.get_by_label("To (included)").fill("2001-01-01")
    page.get_by_label("From").fill("2001-01-02")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-to-error")).to_have_text("The last day comes before the first day.")

    page.get_by_role("button", name="Verify the trail now").click()
    verification = page.locator("#verification")
    expect(verification).to_contain_text("Intact.")
    expect(verification).to_contain_text("Audrey Auditor")
    screenshot(page, "en-audit-verified")

    rows.filter(has_text="shalom.brand").first.get_by_role("link", name="shalom.brand").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("shalom.brand")
    history = page.locator("section[aria-labelledby='history-title']")
    expect(history).to_contain_text("Access of דנה לוי to shalom.brand")  # the grant is in the account's history
    history.scroll_into_view_if_needed()
    screenshot(page, "en-account-history")

    page.goto("/audit")
    page.get_by_role("link", name="Evidence bundles").click()
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To (included)").fill("2099-12-31")
    page.get_by_role("button", name="Prepare a bundle").click()
    expect(page.locator(".flashes")).to_contain_text("being prepared")


def test_the_audit_log_in_hebrew_reads_right_to_left(sign_in, seeded, screenshot):
    page = sign_in(Role.AUDITOR, "he-IL")
    page.goto("/audit?action=grants:")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("יומן ביקורת")
    expect(page.locator("section[aria-labelledby='events-title'] tbody tr").first).to_contain_text("הגישה של")
    screenshot(page, "he-audit-log")
