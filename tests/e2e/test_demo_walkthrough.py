"""Issue 15's walk through the demo network in Chromium, as a new admin would try govern: register the demo network's
app from the values on its own page, add an account on it, grant a publisher, connect it through the network's
consent page, publish one post and see another blocked with the policy's explanation in Arabic; then the auditor
downloads the evidence bundle of the period."""

from __future__ import annotations

import re
import zipfile

from playwright.sync_api import expect

from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.demo.flows import ensure_demo_network
from govern.extensions import db
from govern.jobs import relay
from tests.e2e.conftest import SEED_ACTOR, off_the_browser_thread


def _the_demo_network_and_a_person_for_the_admin(app, base_url: str, email: str, person_id: int) -> None:
    """What `govern demo seed` does on `make run`: the demo network is one of the inventory's networks; and the admin
    is a person of the company (people act on accounts through govern, console users alone do not)."""
    with app.app_context():
        ensure_demo_network(db.session, SEED_ACTOR, base_url)
        db.session.query(ConsoleUser).filter_by(email=email).update({"person_id": person_id})
        db.session.commit()


def test_register_connect_publish_and_get_blocked_in_arabic_then_download_the_evidence(
        sign_in, e2e_app, live_server, seeded, screenshot, tmp_path):
    off_the_browser_thread(lambda: _the_demo_network_and_a_person_for_the_admin(
        e2e_app, live_server, seeded.emails[Role.ADMIN], seeded.people["omar"]))
    admin = sign_in(Role.ADMIN)

    # The demo network's own page shows its app's values; the networks page takes them.
    admin.goto("/demo-network/")
    values = [code.inner_text() for code in admin.locator("dl dd code").all()]
    client_id, client_secret, scopes = values[0], values[1], values[2]
    admin.goto("/networks/demo")
    admin.locator("#client_id").fill(client_id)
    admin.locator("#client_secret").fill(client_secret)
    admin.locator("#scopes").fill(scopes)
    root = f"{live_server}/demo-network"
    for field, url in (("authorize_url", "/oauth/authorize"), ("token_url", "/oauth/token"), ("whoami_url", "/api/me"),
                       ("api_url", "/api"), ("revocation_url", "/oauth/revoke")):
        admin.locator(f"#{field}").fill(root + url)
    admin.get_by_role("button", name="Register the app").click()
    expect(admin.locator(".flashes")).to_contain_text("registered")
    assert client_secret not in admin.content(), "the secret is never shown back"

    # An account on the demo network, and a publisher on it.
    admin.goto("/accounts/new")
    admin.get_by_label("Network").select_option("demo")
    admin.get_by_label("Handle").fill("acme_demo_he")
    admin.get_by_label("Display name").fill("Acme in Hebrew")
    admin.get_by_role("button", name="Add account").click()
    expect(admin.locator(".flashes")).to_contain_text("was added to the inventory")
    admin.get_by_label("Find a person").fill("Omar")
    admin.get_by_role("button", name="Find", exact=True).click()
    admin.get_by_label("Person", exact=True).select_option(str(seeded.people["omar"]))
    admin.get_by_label("Role").select_option("publisher")
    admin.locator("#reason").fill("Runs the demo account")
    admin.get_by_role("button", name="Grant access").click()
    expect(admin.locator(".flashes")).to_contain_text("Access granted to")
    account_url = admin.url.split("#")[0]

    # Connect through the network's consent page.
    admin.get_by_role("button", name="Connect", exact=True).click()
    admin.get_by_role("link", name="Continue to Demo network").click()
    admin.wait_for_url(re.compile(r"/demo-network/oauth/authorize"))
    admin.locator("input[name=identity][value='demo-1003']").check()
    screenshot(admin, "en-demo-consent")
    admin.get_by_role("button", name="Allow").click()
    admin.wait_for_url(re.compile(r"/accounts/\d+"))
    expect(admin.locator(".alert-success, .flashes")).to_contain_text(re.compile("connected", re.I))

    # Publish: one goes out, one is blocked, and the reason reads in Arabic.
    admin.goto(account_url)
    admin.locator("form[action$='/publish'] textarea").fill("Our Dubai office opens on Monday")
    admin.get_by_role("button", name="Publish").click()
    expect(admin.locator(".flashes")).to_contain_text("Published through govern")
    admin.get_by_role("button", name="العربية").click()
    expect(admin.locator("html")).to_have_attribute("dir", "rtl")
    admin.goto(account_url)
    admin.locator("form[action$='/publish'] textarea").fill("Refund sent to card 4111 1111 1111 1111")
    admin.locator("form[action$='/publish'] button[type=submit]").click()
    refusal = admin.get_by_role("alert").filter(has_text="تحظر السياسة هذا المنشور")
    expect(refusal).to_be_visible()
    assert re.search("[\u0600-\u06ff]{3,}", refusal.inner_text().split(":", 1)[1]), "the explanation is Arabic too"
    assert "4111 1111 1111 1111" not in refusal.inner_text(), "the card number is not repeated back"
    screenshot(admin, "ar-publish-blocked")

    # The auditor asks for the period's evidence and downloads it when it is ready.
    auditor = sign_in(Role.AUDITOR)
    auditor.goto("/evidence")
    auditor.get_by_label("From").fill("2020-01-01")
    auditor.get_by_label("To (included)").fill("2099-12-31")
    auditor.get_by_role("button", name="Prepare a bundle").click()
    expect(auditor.locator(".flashes")).to_contain_text("being prepared")
    off_the_browser_thread(lambda: relay(e2e_app))  # what the scheduler of `govern serve` does every few seconds
    auditor.goto("/evidence")
    with auditor.expect_download() as downloading:
        auditor.get_by_role("link", name="Download").first.click()
    bundle = tmp_path / "evidence.zip"
    downloading.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert any("manifest" in name for name in names) and any(name.endswith(".jsonl") for name in names), names
    screenshot(auditor, "en-evidence-ready")
