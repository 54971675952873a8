"""The legacy-login card in a real Chromium: IT stores a login, a publisher gets a 2FA code and checks the password out."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from govern.auth.roles import Role
from tests.e2e.conftest import ARTIFACTS, off_the_browser_thread

pytestmark = pytest.mark.e2e

PASSWORD = "Shalom-canary-Pa55word!"
SEED = "JBSWY3DPEHPK3PXPGEZDGNBVGY3TQOJQ"
SEED_AS_SHOWN = " ".join(SEED[i:i + 4] for i in range(0, len(SEED), 4)).lower()  # as a network shows it
NEW_PASSWORD = "Rotated-canary-Pa55word?"


def card(page: Page):
    return page.locator("section[aria-labelledby='legacy-title']")


def detail(page: Page, name: str):
    return card(page).locator(".details > div", has=page.locator("dt", has_text=re.compile(f"^{name}$")))


@pytest.fixture
def linked_people(e2e_app, seeded):
    """Admin acts as dana (publisher on shalom.brand), governance as omar, IT as no one. The old links come back afterwards."""
    from sqlalchemy import select, update

    from govern.auth.models import ConsoleUser
    from govern.extensions import db

    links = {Role.ADMIN: seeded.people["dana"], Role.GOVERNANCE: seeded.people["omar"], Role.IT: None}

    def relink(wanted):
        with e2e_app.app_context():
            before = {}
            for role, person_id in wanted.items():
                user = ConsoleUser.email == seeded.emails[role]
                before[role] = db.session.scalar(select(ConsoleUser.person_id).where(user))
                db.session.execute(update(ConsoleUser).where(user).values(person_id=person_id))
            db.session.commit()
        return before

    previous = off_the_browser_thread(lambda: relink(links))
    yield links
    off_the_browser_thread(lambda: relink(previous))


def test_store_a_login_get_a_code_and_check_the_password_out(sign_in, seeded, linked_people, screenshot):
    account_url = f"/accounts/{seeded.accounts['shalom_brand']}"

    # IT stores the login. A refused form does not echo what was typed.
    it = sign_in(Role.IT)
    it.goto(account_url)
    expect(card(it)).to_contain_text("No legacy login is stored for this account.")
    it.get_by_label("Login name").fill("shalom.brand@acme.example")
    it.get_by_label("New password").fill(PASSWORD)
    it.get_by_label("2FA seed").fill("not base32 at all!")
    with it.expect_response(lambda response: response.request.method == "POST") as posted:
        it.get_by_role("button", name="Store login").click()
    assert posted.value.status == 422
    expect(card(it).get_by_role("alert")).to_contain_text("2FA seed: copy the whole setup key")
    expect(it.get_by_label("New password")).to_have_value("")
    expect(it.get_by_label("2FA seed")).to_have_value("")
    assert PASSWORD not in it.content()

    it.get_by_label("Login name").fill("shalom.brand@acme.example")
    it.get_by_label("New password").fill(PASSWORD)
    it.get_by_label("2FA seed").fill(SEED_AS_SHOWN)
    it.get_by_role("button", name="Store login").click()
    expect(it.locator(".flashes")).to_contain_text("The legacy login was stored")
    for name in ("Login name", "Password", "2FA seed"):
        expect(detail(it, name)).to_contain_text("Stored")
    expect(detail(it, "Rotate now")).to_contain_text("No")
    assert PASSWORD not in it.content() and "shalom.brand@acme.example" not in it.content()
    expect(card(it).get_by_role("button", name="Get a 2FA code")).to_have_count(0)
    expect(card(it)).to_contain_text("Your console user is not linked to a person")

    # The publisher (admin's console user, linked to dana) gets a code computed from the stored seed.
    dana = sign_in(Role.ADMIN)
    dana.goto(account_url)
    totp = pyotp.TOTP(SEED)
    before = time.time()
    with dana.expect_response(lambda response: response.request.method == "POST") as posted:
        dana.get_by_role("button", name="Get a 2FA code").click()
    after = time.time()
    assert posted.value.status == 200
    assert "no-store" in posted.value.headers["cache-control"]
    code = dana.locator("#totp-code").inner_text().strip()
    assert code in {totp.at(before), totp.at(after)}
    expect(card(dana)).to_contain_text(re.compile(r"It works for \d+ more seconds?"))
    assert code not in dana.url

    # She asks to see the password; she cannot approve her own request, not even by posting the form herself.
    dana.get_by_label("Why do you need the password?").fill("Instagram asks for the password to confirm a new phone")
    dana.get_by_label("Minutes the window stays open").fill("15")
    dana.get_by_role("button", name="Ask to see the password").click()
    expect(dana.locator(".flashes")).to_contain_text("A second person from governance must approve it")
    row = card(dana).locator("table.checkouts tbody tr").first
    expect(row).to_contain_text("Waiting for approval")
    expect(row).to_contain_text("דנה לוי")
    expect(row).to_contain_text("15 minutes")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    checkout_id = int(row.get_attribute("id").removeprefix("checkout-"))
    token = dana.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = dana.request.post(f"{account_url}/checkouts/{checkout_id}/approve", form={"csrf_token": token})
    assert refused.status == 403
    assert "you cannot approve or deny your own checkout" in refused.text()

    # Governance (omar) approves.
    omar = sign_in(Role.GOVERNANCE)
    omar.goto(account_url)
    pending = card(omar).locator(f"#checkout-{checkout_id}")
    expect(pending).to_contain_text("Instagram asks for the password")
    screenshot(omar, "en-account-checkout-pending")
    pending.get_by_role("button", name="Approve").click()
    expect(omar.locator(".flashes")).to_contain_text("may see the password for the next 15 minutes")
    expect(card(omar).locator(f"#checkout-{checkout_id}")).to_contain_text("Open")
    expect(card(omar).locator(f"#checkout-{checkout_id}")).to_contain_text("Approved by Omar Haddad")

    # Dana sees the password once, on a page no cache may keep.
    dana.reload()
    with dana.expect_response(lambda response: response.request.method == "POST" and "/reveal" in response.url) as revealed:
        card(dana).get_by_role("button", name="Show the password").click()
    assert revealed.value.status == 200
    assert "no-store" in revealed.value.headers["cache-control"]
    expect(dana.locator("#revealed-password")).to_have_text(PASSWORD)
    assert PASSWORD not in dana.url
    expect(dana.locator(".flashes")).to_have_count(0)
    screenshot(dana, "en-account-password-revealed")

    # Checking in closes the window; the password has been seen, so it must be rotated.
    card(dana).get_by_role("button", name="Check in").click()
    expect(dana.locator(".flashes")).to_contain_text("Checked in. The password is now marked “rotate now”")
    expect(dana.locator("#revealed-password")).to_have_count(0)
    assert PASSWORD not in dana.content()
    expect(card(dana).locator(".rotate-now")).to_contain_text("Rotate now")
    expect(detail(dana, "Rotate now")).to_contain_text("Yes: change the password")
    expect(card(dana).locator(f"#checkout-{checkout_id}")).to_contain_text("Checked in")

    omar.reload()
    history = omar.locator("section[aria-labelledby='history-title']")
    for event in ("Password checkout requested", "Password checkout approved", "Password shown to the requester",
                  "Password checkout ended", "2FA code generated", "Legacy login stored or changed"):
        expect(history).to_contain_text(event)

    dana.get_by_role("button", name="العربية").click()
    expect(dana.locator("html")).to_have_attribute("dir", "rtl")
    expect(card(dana).get_by_role("heading", level=2)).to_have_text("بيانات الدخول بكلمة المرور")
    expect(card(dana).locator(".rotate-now")).to_contain_text("يجب تغيير كلمة المرور الآن")
    expect(card(dana).locator(f"#checkout-{checkout_id}")).to_contain_text("انتهى الاستخدام")
    screenshot(dana, "ar-account-legacy-login")
    card(dana).screenshot(path=str(ARTIFACTS / "ar-legacy-login-card.png"))
    dana.get_by_role("button", name="English").click()

    # IT stores the new password from the network: "rotate now" clears.
    it.reload()
    it.get_by_label("New password").fill(NEW_PASSWORD)
    it.get_by_role("button", name="Store login").click()
    expect(it.locator(".flashes")).to_contain_text("The legacy login was stored")
    expect(card(it).locator(".rotate-now")).to_have_count(0)
    expect(detail(it, "Rotate now")).to_contain_text("No")
    expect(detail(it, "Last rotated")).not_to_contain_text("—")
