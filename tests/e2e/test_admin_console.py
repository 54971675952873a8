"""The admin pages in a real Chromium, in English and Hebrew: create an API token, see it once, revoke it after a confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from govern.auth.roles import Role

pytestmark = pytest.mark.e2e

AXE_OPTIONS = {"resultTypes": ["violations"],
               "rules": {rule: {"enabled": True} for rule in ("duplicate-id", "duplicate-id-active", "duplicate-id-aria")}}


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations (and duplicate ids) on the page; its script ships with
    axe-playwright-python and runs through the DevTools protocol, outside the page's Content-Security-Policy."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [f"{violation['id']} ({violation['impact']}) at {node['target']}" for violation in results["violations"]
            if violation["impact"] in ("serious", "critical") or violation["id"].startswith("duplicate-id")
            for node in violation["nodes"]]

WORDS = {
    "en-US": {"admin": "Admin", "tokens": "API tokens", "create": "Create token", "done": "Done", "revoke": "Revoke token",
              "asked": "stops working at once", "revoked": "is revoked", "state": "Revoked", "once": "shown once"},
    "he-IL": {"admin": "ניהול", "tokens": "אסימוני API", "create": "יצירת האסימון", "done": "בוצע", "revoke": "שלילת האסימון",
              "asked": "מפסיק לפעול מיד", "revoked": "נשלל", "state": "בוטלה", "once": "מוצג פעם אחת"},
}


@pytest.mark.parametrize("locale", WORDS)
def test_create_a_token_see_it_once_then_revoke_it_after_a_confirmation(sign_in, screenshot, locale):
    words, name = WORDS[locale], f"e2e-bot-{locale.lower()}"
    page = sign_in(Role.ADMIN, locale)
    page.get_by_role("navigation", name="Main" if locale == "en-US" else "ניווט ראשי").get_by_role("link", name=words["admin"]).click()
    page.wait_for_url("**/admin/users")
    screenshot(page, f"admin-users-{locale}")
    problems = accessibility_problems(page)
    page.get_by_role("link", name="it@e2e.test").click()
    expect(page.locator("h1")).to_have_text("נועה ברק")
    screenshot(page, f"admin-user-{locale}")
    problems += accessibility_problems(page)
    page.get_by_role("link", name=words["tokens"]).click()
    page.wait_for_url("**/admin/tokens")
    if locale == "he-IL":
        assert page.locator("html").get_attribute("dir") == "rtl"
    problems += accessibility_problems(page)

    page.locator("#name").fill(name)
    page.locator("#role").select_option("auditor")
    page.locator("#lifetime").select_option("30")
    page.get_by_role("button", name=words["create"]).click()
    shown = page.locator("#shown-once")
    expect(shown).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(words["once"])
    token = shown.inner_text().strip()
    assert token.startswith("gov_") and page.content().count(token) == 1
    screenshot(page, f"admin-token-created-{locale}")
    problems += accessibility_problems(page)
    assert page.request.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status == 200

    page.get_by_role("link", name=words["done"]).click()
    page.wait_for_url("**/admin/tokens")
    row = page.locator("tr", has_text=name)
    expect(row).to_be_visible()
    assert token not in page.content(), "the token is never shown again"
    page.reload()
    assert token not in page.content()

    row.get_by_role("button").click()  # "Revoke…": asks first
    expect(page.locator("#confirm-title")).to_be_visible()
    expect(page.locator(".confirm-consequence")).to_contain_text(words["asked"])
    screenshot(page, f"admin-token-revoke-confirm-{locale}")
    problems += accessibility_problems(page)
    assert page.request.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status == 200, "asking revokes nothing"
    page.get_by_role("button", name=words["revoke"]).click()
    page.wait_for_url("**/admin/tokens")
    expect(page.locator(".flashes")).to_contain_text(words["revoked"])
    expect(page.locator("tr", has_text=name)).to_contain_text(words["state"])
    screenshot(page, f"admin-token-revoked-{locale}")
    assert page.request.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status == 401
    assert problems == [], "the admin pages have serious accessibility problems"
