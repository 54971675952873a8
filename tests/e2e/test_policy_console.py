"""The policy test bench in a real Chromium, in Hebrew and Arabic: the page is right-to-left and a finding is highlighted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from govern.auth.roles import Role

pytestmark = pytest.mark.e2e

EMAIL = "dana.levi@acme.example"
HEBREW_POST = f"שלום לכולם, לפרטים כתבו אל {EMAIL} עד יום חמישי"
ARABIC_POST = "بطاقة الدفع 4111 1111 1111 1111 لا تنشروها"


def test_the_test_bench_in_hebrew_highlights_an_email_address(sign_in, screenshot):
    page = sign_in(Role.GOVERNANCE, "he-IL")
    page.goto("/policy/test")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "he")
    page.locator("#bench-text").fill(HEBREW_POST)
    page.locator("form[action$='/policy/test'] button[type=submit]").click()

    result = page.locator("section.bench-result")
    expect(result.locator(".policy-text")).to_have_attribute("dir", "auto")
    mark = result.locator(".policy-text bdi mark.finding")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(EMAIL)
    expect(mark).to_have_attribute("title", re.compile("EMAIL_ADDRESS"))
    findings = result.locator("table.findings")
    expect(findings.locator("tbody tr")).to_have_count(1)
    expect(findings).to_contain_text("EMAIL_ADDRESS")
    expect(findings).not_to_contain_text(EMAIL)  # only the masked preview
    # the marks change nothing in the text itself; only the finding's reference number follows it
    expect(result.locator(".policy-text")).to_have_text(HEBREW_POST.replace(EMAIL, f"{EMAIL}1"))
    screenshot(page, "he-policy-test-bench")


def test_the_test_bench_in_arabic_blocks_a_payment_card(sign_in, screenshot):
    page = sign_in(Role.AUDITOR, "ar")
    page.goto("/policy/test")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.locator("#bench-text").fill(ARABIC_POST)
    page.locator("form[action$='/policy/test'] button[type=submit]").click()
    result = page.locator("section.bench-result")
    expect(result.locator(".decision-block").first).to_be_visible()
    expect(result.locator("mark.finding-block")).to_have_text("4111 1111 1111 1111")
    expect(result.locator("table.findings")).to_contain_text("4111 **** **** 1111")
    screenshot(page, "ar-policy-test-bench")

    page.locator("#bench-text").fill("   ")
    page.locator("form[action$='/policy/test'] button[type=submit]").click()
    expect(page.locator(".flashes .alert-error")).to_be_visible()  # a readable message, not an error page
