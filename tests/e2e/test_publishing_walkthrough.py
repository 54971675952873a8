"""Issue 16's "Done when" in Chromium: an IT author composes one post for three accounts connected to the demo network
(the loopback network served by the live server itself), a two-step approval routes it (governance in Arabic, then an
admin in English; the author cannot approve their own), it is scheduled, governance pauses everything, the due job
holds it and a direct brokered publish answers 423 `publishing-paused`; the person who paused cannot resume, a second
person does, and the due job sends it out exactly once per account."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from govern import app_services
from govern.actor import Actor
from govern.alerts.service import AlertRules, InboundItem, record_inbound
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.broker.models import NetworkApp
from govern.broker.service import register_network_app, start_connect
from govern.db import utcnow
from govern.demo import flows
from govern.demo import network as demo_network
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonSource
from govern.people.service import upsert_person
from govern.publishing.approvals import create_rule
from govern.publishing.models import Post, PostState, PostTarget, RuleScope
from govern.publishing.tasks import publish_due
from govern.runbooks import service as runbooks
from tests.e2e.conftest import SEED_ACTOR, off_the_browser_thread

pytestmark = pytest.mark.e2e

TEXT = "Our Riyadh office opens on Sunday — see you there"
STATEMENT = "نحن على علم بالمشكلة ونعمل على حلها. سنوافيكم بالمستجدات قريبًا."
HANDLES = (("pw_acme_one", "demo-1001"), ("pw_acme_two", "demo-1002"), ("pw_acme_three", "demo-1003"))


def _connect(app, root: str, account_id: int, identity: str) -> None:
    """Through the demo network's consent page and govern's public callback, as a person would click through it."""
    with app.app_context():
        url = start_connect(db.session, app_services.broker(), SEED_ACTOR, demo_network.NETWORK_KEY, account_id=account_id)
        db.session.commit()
    browser = requests.Session()
    consent = browser.get(url, timeout=10)
    assert consent.status_code == 200, consent.text[:300]
    form = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)
    allowed = browser.post(f"{root}/demo-network/oauth/authorize", data={**form, "identity": identity, "decision": "allow"},
                           allow_redirects=False, timeout=10)
    assert allowed.status_code == 303, allowed.text[:300]
    callback = browser.get(allowed.headers["Location"], allow_redirects=False, timeout=10)
    assert callback.status_code == 302 and "connected=1" in callback.headers["Location"], callback.headers


def _world(app, root: str, emails: dict[Role, str]) -> dict:
    """Three demo-network accounts connected, a person behind each console user, publisher grants for the author,
    a two-step approval rule on the demo network (governance, then admin) and an API token for the author."""
    with app.app_context():
        session = db.session
        found = flows.ensure_demo_network(session, SEED_ACTOR, root)
        if session.scalar(sa.select(NetworkApp).where(NetworkApp.network_id == found.id)) is None:
            network = app.extensions[demo_network.EXTENSION]
            register_network_app(session, app_services.broker(), SEED_ACTOR, demo_network.NETWORK_KEY, demo_network.CLIENT_ID,
                                 network.client_secret, network.endpoints(), list(demo_network.SCOPES))
        people = {}
        for role, name in ((Role.IT, "Noa Author"), (Role.GOVERNANCE, "ليلى منصور"), (Role.ADMIN, "Amal Admin")):
            person = upsert_person(session, SEED_ACTOR, PersonSource.MANUAL, f"pw-{role.value}", username=f"pw.{role.value}",
                                   email=f"pw.{role.value}@acme.example", display_name=name, department="Communications")
            session.query(ConsoleUser).filter_by(email=emails[role]).update({"person_id": person.id})
            people[role] = person.id
        from govern.accounts.service import create_account

        accounts = []
        for handle, _identity in HANDLES:
            account = create_account(session, SEED_ACTOR, demo_network.NETWORK_KEY, handle=handle, display_name=handle,
                                     business_unit="Communications", owner_id=people[Role.IT])
            create_grant(session, SEED_ACTOR, people[Role.IT], account.id, GrantRole.PUBLISHER, "Launch campaign")
            accounts.append(account.id)
        create_rule(session, SEED_ACTOR, "Demo network: governance then admin", RuleScope.NETWORK, demo_network.NETWORK_KEY,
                    [{"mode": "any", "roles": [Role.GOVERNANCE.value]}, {"mode": "any", "roles": [Role.ADMIN.value]}])
        _, token = create_api_client(session, SEED_ACTOR, "pw-author", Role.IT, people[Role.IT])
        runbook = runbooks.create_runbook(session, SEED_ACTOR, people[Role.IT], {
            "name": "Demo network crisis", "scope": {"type": "network", "value": demo_network.NETWORK_KEY},
            "severities": ["high", "critical"],
            "stages": [{"name": "First response", "contacts": [{"type": "role", "value": Role.GOVERNANCE.value}]}],
            "steps": [{"key": "statement", "title": "Publish the holding statement"}],
            "statements": [{"language": "ar", "network": demo_network.NETWORK_KEY, "text": STATEMENT}],
            "auto_activate": True, "auto_severity": "critical", "pause_on_activate": True,
        })
        runbooks.approve_statement(session, Actor("console_user:pw-gov", "ليلى منصور", "pw-e2e", "127.0.0.1"),
                                   people[Role.GOVERNANCE], runbook.id, runbook.statements[0].id)
        session.commit()
        token, runbook_id = token.reveal(), runbook.id
    for account_id, (_handle, identity) in zip(accounts, HANDLES, strict=True):
        _connect(app, root, account_id, identity)
    return {"accounts": accounts, "token": token, "runbook": runbook_id}


def _due_now(app, post_id: int) -> dict[str, int]:
    """The post falls due, then the schedule's beat job runs once (what Celery beat does every 5 s)."""
    with app.app_context():
        db.session.execute(sa.update(Post).where(Post.id == post_id).values(scheduled_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        return publish_due()


def _beat(app) -> dict[str, int]:
    with app.app_context():
        return publish_due()


def _spike(app, account_id: int) -> list[int]:
    """Inbound comments surge on one account (what the scans count through the broker): a spike alert is raised and
    the runbook set to activate itself opens an incident. Returns the incidents opened by the alert."""
    with app.app_context():
        rules = AlertRules.from_settings(app_services.settings())
        items = [InboundItem("comment", f"surge-{n}", "وين الاسترداد؟", utcnow()) for n in range(rules.spike_min_volume + 5)]
        outcome = record_inbound(db.session, rules, account_id, items)
        db.session.commit()
        assert [alert.kind.value for alert in outcome.alerts] == ["spike"], outcome
        return [incident.id for incident in runbooks.list_incidents(db.session)
                if incident.alert_id == outcome.alerts[0].id]


def _target_states(app, post_id: int) -> list[str]:
    with app.app_context():
        return sorted(t.state.value for t in db.session.scalars(sa.select(PostTarget).where(PostTarget.post_id == post_id)))


def _received(app, text: str) -> dict[str, int]:
    """What the demo network received: how many posts with this text each of its identities holds."""
    counts: dict[str, int] = {}
    for post in app.extensions[demo_network.EXTENSION].posts:
        if post["text"] == text:
            counts[post["author_id"]] = counts.get(post["author_id"], 0) + 1
    return counts


def test_compose_approve_in_two_steps_pause_hold_refuse_resume_and_publish_once(
        sign_in, e2e_app, live_server, seeded, screenshot, tmp_path):
    world = off_the_browser_thread(lambda: _world(e2e_app, live_server, seeded.emails))

    # 1. The IT author composes one post for the three accounts, scheduled, and submits it.
    author = sign_in(Role.IT)
    author.goto("/posts/new")
    author.get_by_label("Accounts").select_option([str(a) for a in world["accounts"]])
    author.get_by_label("Text", exact=True).fill(TEXT)
    author.get_by_label("Scheduled time (UTC, optional)").fill((utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    screenshot(author, "en-publishing-compose")
    author.get_by_role("button", name="Submit for approval").click()
    expect(author.locator(".flashes")).to_contain_text("saved")
    post_id = int(re.search(r"/posts/(\d+)", author.url).group(1))
    post_url = f"/posts/{post_id}"
    expect(author.locator("h1 .badge")).to_have_text("Awaiting approval")
    expect(author.locator("ol.steps > li")).to_have_count(2)

    # The author cannot approve their own post.
    author.locator("form[action$='/approve'] button[type=submit]").click()
    expect(author.get_by_role("status").filter(has_text="Nothing was changed")).to_be_visible()
    expect(author.locator("h1 .badge")).to_have_text("Awaiting approval")
    screenshot(author, "en-publishing-self-approval-refused")

    # Step 1: governance, in Arabic.
    governance = sign_in(Role.GOVERNANCE, "ar")
    governance.get_by_role("button", name="العربية").click()
    expect(governance.locator("html")).to_have_attribute("dir", "rtl")
    governance.goto(post_url)
    governance.locator("form[action$='/approve'] button[type=submit]").click()
    expect(governance.locator(".flashes .alert-success")).to_be_visible()
    expect(governance.locator("ol.steps > li").first.locator(".badge-approved")).to_be_visible()
    # The same person cannot fill the second step too.
    governance.locator("form[action$='/approve'] button[type=submit]").click()
    expect(governance.locator(".flashes .alert-error")).to_be_visible()
    expect(governance.locator("ol.steps > li").nth(1).locator(".badge-approved")).to_have_count(0)
    screenshot(governance, "ar-publishing-step-one-approved")

    # Step 2: an admin, in English; the post is scheduled.
    admin = sign_in(Role.ADMIN)
    admin.goto(post_url)
    admin.locator("form[action$='/approve'] button[type=submit]").click()
    expect(admin.locator(".flashes")).to_contain_text("Your approval was recorded.")
    expect(admin.locator("h1 .badge")).to_have_text("Scheduled")
    screenshot(admin, "en-publishing-approved-scheduled")

    # 2. Governance pauses everything, with the confirmation.
    governance.goto("/pauses")
    governance.locator("#scope_type").select_option("all")
    governance.locator("#pause-reason").fill("أزمة: إيقاف كل النشر")
    governance.locator("form[action$='/pauses'] button[type=submit]").click()
    expect(governance.locator(".confirm")).to_be_visible()
    screenshot(governance, "ar-pause-confirmation")
    governance.locator(".confirm button[type=submit]").click()
    expect(governance.locator(".flashes .alert-success")).to_be_visible()
    expect(governance.locator("section[aria-labelledby='active-title'] tbody tr")).to_have_count(1)
    pause_row = governance.locator("section[aria-labelledby='active-title'] tbody tr").first
    pause_id = int(pause_row.get_attribute("id").split("-")[1])

    # The banner shows on another page, for another person.
    admin.goto("/accounts")
    expect(admin.locator(".pause-banner")).to_contain_text("Publishing is paused")
    screenshot(admin, "en-pause-banner")

    # The post falls due during the pause: every target is held.
    outcome = off_the_browser_thread(lambda: _due_now(e2e_app, post_id))
    assert outcome == {"held": 3}, outcome
    assert off_the_browser_thread(lambda: _target_states(e2e_app, post_id)) == ["held"] * 3
    assert off_the_browser_thread(lambda: _received(e2e_app, TEXT)) == {}

    # A direct brokered publish through the API is refused with 423, naming the pause.
    refused = requests.post(f"{live_server}/api/v1/accounts/{world['accounts'][0]}/actions", timeout=10,
                            json={"action": "publish", "params": {"text": "straight to the network"}},
                            headers={"Authorization": f"Bearer {world['token']}"})
    assert refused.status_code == 423, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "publishing-paused" and problem["type"].endswith("/publishing-paused"), problem
    assert str(pause_id) in problem["detail"], problem
    assert off_the_browser_thread(lambda: _received(e2e_app, "straight to the network")) == {}

    author.goto(post_url)
    expect(author.locator(".pause-banner")).to_be_visible()
    expect(author.locator("table.data tbody .badge-held")).to_have_count(3)
    screenshot(author, "en-publishing-held")

    # 3. The person who paused cannot resume alone.
    governance.goto("/pauses")
    governance.locator(f"#pause-{pause_id} form button[type=submit]").click()
    governance.locator(".confirm button[type=submit]").click()
    expect(governance.get_by_role("alert")).to_contain_text("يستأنف")
    expect(governance.locator(f"section[aria-labelledby='active-title'] #pause-{pause_id}")).to_be_visible()
    screenshot(governance, "ar-resume-refused")
    assert off_the_browser_thread(lambda: _beat(e2e_app)) == {}  # still paused: nothing goes out
    assert off_the_browser_thread(lambda: _received(e2e_app, TEXT)) == {}

    # A second person resumes.
    admin.goto("/pauses")
    admin.locator(f"#pause-{pause_id} form button[type=submit]").click()
    admin.locator("#confirm-reason").fill("Crisis handled; statement out")
    admin.get_by_role("button", name="Resume publishing").click()
    expect(admin.locator(".flashes")).to_contain_text("Publishing resumed")
    expect(admin.locator(".pause-banner")).to_have_count(0)
    screenshot(admin, "en-resumed")

    # The due job sends it out exactly once per account, and running it again sends nothing more.
    first = off_the_browser_thread(lambda: _beat(e2e_app))
    assert first.get("published") == 3, first
    assert off_the_browser_thread(lambda: _beat(e2e_app)) == {}
    identities = sorted(identity for _handle, identity in HANDLES)
    assert off_the_browser_thread(lambda: _received(e2e_app, TEXT)) == dict.fromkeys(identities, 1)
    assert off_the_browser_thread(lambda: _target_states(e2e_app, post_id)) == ["published"] * 3
    governance.goto(post_url)
    expect(governance.locator("h1 .badge")).to_have_class(re.compile(r"badge-" + PostState.PUBLISHED.value))
    expect(governance.locator("table.data tbody .badge-published")).to_have_count(3)
    screenshot(governance, "ar-publishing-published")

    # 4. A spike alert activates the runbook (pausing the demo network); during the pause its pre-approved Arabic
    # statement is asked for by one person and confirmed by another, and goes out once; the incident is closed and
    # its report downloaded.
    opened = off_the_browser_thread(lambda: _spike(e2e_app, world["accounts"][1]))
    assert len(opened) == 1, opened
    governance.goto("/incidents")
    governance.locator(f"a[href$='/incidents/{opened[0]}']").first.click()
    governance.wait_for_url(re.compile(rf"/incidents/{opened[0]}$"))
    incident_url = urlsplit(governance.url).path
    expect(governance.locator(".pause-banner")).to_be_visible()
    screenshot(governance, "ar-incident-open")

    author.goto(incident_url)
    author.locator("#statement_id").select_option(index=0)
    author.locator("#account_id").fill(str(world["accounts"][1]))
    author.get_by_role("button", name="Ask to publish").click()
    expect(author.locator(".flashes")).to_contain_text("waits for a second person")
    # The one who asked cannot confirm it.
    author.get_by_role("button", name="Confirm and publish…").click()
    author.locator(".confirm button[type=submit]").click()
    expect(author.get_by_role("alert")).to_contain_text("second person")
    assert off_the_browser_thread(lambda: _received(e2e_app, STATEMENT)) == {}
    screenshot(author, "en-statement-requested")

    governance.goto(incident_url)
    governance.locator("form[action*='/statements/'][action$='/confirm'] button[type=submit]").click()
    governance.locator(".confirm button[type=submit]").click()
    expect(governance.locator(".flashes .alert-success")).to_be_visible()
    assert off_the_browser_thread(lambda: _received(e2e_app, STATEMENT)) == {HANDLES[1][1]: 1}
    refused = requests.post(f"{live_server}/api/v1/accounts/{world['accounts'][1]}/actions", timeout=10,
                            json={"action": "publish", "params": {"text": STATEMENT}},
                            headers={"Authorization": f"Bearer {world['token']}"})
    assert refused.status_code == 423, "the release let that text out once, not again"
    screenshot(governance, "ar-statement-published")

    governance.locator("form[action$='/close'] button[type=submit]").click()
    governance.locator(".confirm button[type=submit]").click()
    expect(governance.locator(".flashes .alert-success")).to_be_visible()
    with governance.expect_download() as downloading:
        governance.locator("a[hreflang=ar]").click()
    report = tmp_path / "incident-ar.pdf"
    downloading.value.save_as(report)
    body = report.read_bytes()
    assert body.startswith(b"%PDF-") and len(body) > 2000, len(body)
    screenshot(governance, "ar-incident-closed")

    # The runbook's pause outlives the incident; a second person ends it, so nothing stays paused.
    admin.goto("/pauses")
    admin.locator("section[aria-labelledby='active-title'] tbody tr form button[type=submit]").first.click()
    admin.get_by_role("button", name="Resume publishing").click()
    expect(admin.locator(".flashes")).to_contain_text("Publishing resumed")
    expect(admin.locator(".pause-banner")).to_have_count(0)
