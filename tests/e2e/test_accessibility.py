"""axe-core on the console's main pages in English, Arabic and Hebrew: no serious or critical violation on any of them.

axe runs in the page through Playwright's evaluate (the DevTools protocol, outside the page's Content-Security-Policy,
which forbids inline script); the script is the axe.min.js that axe-playwright-python ships, so nothing is downloaded.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from govern.accounts.service import create_account
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.db import utcnow
from govern.directory.models import SyncMode, SyncRun, SyncStatus
from govern.directory.service import NOT_IN_DIRECTORY, depart
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonSource
from govern.people.service import upsert_person
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation
from govern.publishing.models import ApprovalRule, PublishApproval, RuleScope
from govern.scim.group_models import ScimGroup, ScimGroupMember
from tests.e2e.conftest import SEED_ACTOR, _login_code, off_the_browser_thread

pytestmark = pytest.mark.e2e

UNIT = "Accessibility E2E"
BLOCKING = ("serious", "critical")
# Off in axe by default, on here: WCAG 2.2's target size (the reviewer answers on a phone), and duplicate ids (axe calls
# them obsolete in HTML's parsing sense, but a duplicated id still points a label or aria-describedby at the wrong field).
EXTRA_RULES = ("target-size", "duplicate-id", "duplicate-id-active", "duplicate-id-aria")
ALWAYS_BLOCKING = ("duplicate-id", "duplicate-id-active", "duplicate-id-aria")
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {rule: {"enabled": True} for rule in EXTRA_RULES}}
LOCALES = {"en": "en-US", "ar": "ar", "he": "he"}
SCREENSHOT_LOCALES = ("en", "ar")
DESKTOP, PHONE = {"width": 1280, "height": 860}, {"width": 390, "height": 844}
# Every page in each language on a desktop, and again on a phone in Arabic (right to left, and the tallest lines).
LAYOUTS = [pytest.param(locale, DESKTOP, id=locale) for locale in LOCALES] + [pytest.param("ar", PHONE, id="ar-phone")]


@pytest.fixture(scope="module")
def axe_script() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@pytest.fixture(scope="module")
def a11y_world(e2e_app, live_server):
    """Rows that fill the pages' tables and their per-row forms: an account of its own business unit whose owner is a
    reviewer user, a grant on it, a leaver, an open policy violation, a post waiting for approval, a finished sync run and
    a held one, a SCIM group with a person and an unknown reference, and an approval rule on that account. The violation,
    the approval, the runs, the group and the rule are removed afterwards, so later tests see the queues they expect."""
    def build():
        with e2e_app.app_context():
            owner = upsert_person(db.session, SEED_ACTOR, PersonSource.MANUAL, "e2e-a11y-owner", username="rima.khoury",
                                  email="rima.khoury@acme.example", display_name="ريما خوري", department="الإعلام")
            member = upsert_person(db.session, SEED_ACTOR, PersonSource.MANUAL, "e2e-a11y-member", username="avi.mizrahi",
                                   email="avi.mizrahi@acme.example", display_name="אבי מזרחי", department="שיווק")
            leaver = upsert_person(db.session, SEED_ACTOR, PersonSource.MANUAL, "e2e-a11y-leaver", username="lina.saleh",
                                   email="lina.saleh@acme.example", display_name="لينا صالح", department="الإعلام")
            account = create_account(db.session, SEED_ACTOR, "x", handle="a11y_news", display_name="أخبار الوصول",
                                     business_unit=UNIT, owner_id=owner.id, tags=["a11y"])
            create_grant(db.session, SEED_ACTOR, member.id, account.id, GrantRole.PUBLISHER, "weekly posts")
            create_grant(db.session, SEED_ACTOR, leaver.id, account.id, GrantRole.ANALYST, "monthly report")
            email = ensure_console_user(db.session, SEED_ACTOR, "a11y-reviewer@e2e.test", "ريما المراجِعة", Role.REVIEWER,
                                        person_id=owner.id).email
            depart(db.session, SEED_ACTOR, leaver, "openldap", [NOT_IN_DIRECTORY], None)
            finding = {"entity": "EMAIL_ADDRESS", "rule": "privacy.email", "category": "privacy", "start": 11, "end": 28,
                       "action": "require_approval", "severity": "medium", "explanation": "an email address",
                       "preview": "a***@example.com"}
            rows = [
                PolicyViolation(account_id=account.id, content_kind=ContentKind.COMMENT, external_id="a11y-c-1",
                                decision=Action.REQUIRE_APPROVAL, findings=[finding],
                                masked_text="راسلوا على a***@example.com", pack_version="sha256:a11y"),
                PublishApproval(account_id=account.id, person_id=member.id, requested_by=SEED_ACTOR.id, network_action="publish",
                                params={"text": "כתבו אל ahmed@example.com"}, findings=[finding], pack_version="sha256:a11y"),
                SyncRun(source="openldap", mode=SyncMode.FULL, status=SyncStatus.SUCCEEDED, finished_at=utcnow(),
                        counts={"seen": 3, "created": 0, "updated": 1, "returned": 0, "departed": 1}),
                SyncRun(source="openldap", mode=SyncMode.FULL, status=SyncStatus.HELD, finished_at=utcnow(),
                        counts={"seen": 1, "created": 0, "updated": 0, "returned": 0, "departed": 1},
                        held_departures=[{"person_id": member.id, "display_name": member.display_name,
                                          "signals": [NOT_IN_DIRECTORY], "changed_at": None}]),
            ]
            group = ScimGroup(id="e2e-a11y-group", display_name="social-media", external_id="00g-a11y")
            rows.append(group)
            rows.append(ApprovalRule(name="أخبار الوصول: موافقتان", scope_type=RuleScope.ACCOUNT, scope_value=str(account.id),
                                     created_by=SEED_ACTOR.id,
                                     steps=[{"mode": "any", "people": [], "roles": ["governance"], "externals": []},
                                            {"mode": "all", "people": [member.id], "roles": [],
                                             "externals": ["agency@firm.example"]}]))
            db.session.add_all(rows)
            db.session.flush()
            db.session.add_all([ScimGroupMember(group_id=group.id, value="e2e-a11y-member", person_id=member.id),
                                ScimGroupMember(group_id=group.id, value="00g-nested", type="Group")])
            db.session.commit()
            return {"account": account.id, "owner": owner.id, "reviewer": email, "scim_group": group.id,
                    "approval_rule": rows[-1].id,
                    "temporary": [(type(row), row.id) for row in rows]}

    def remove(temporary):
        with e2e_app.app_context():
            for model, row_id in temporary:
                db.session.delete(db.session.get(model, row_id))
            db.session.commit()

    world = off_the_browser_thread(build)
    yield world
    off_the_browser_thread(lambda: remove(world["temporary"]))


def _signed_in(browser, live_server, e2e_app, email: str, locale: str, viewport: dict = DESKTOP) -> Page:
    context = browser.new_context(base_url=live_server, locale=LOCALES[locale], viewport=viewport)
    page = context.new_page()
    page.goto(f"/login/{off_the_browser_thread(lambda: _login_code(e2e_app, email))}")
    page.locator("form.signin-link button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


# What axe does not measure: WCAG 1.4.11 (non-text contrast) asks 3:1 for the edge that shows where a field is and for
# the keyboard focus ring, against the colour right beside them. Colours are read with getComputedStyle; a
# translucent background is laid over the ones behind it.
CONTRAST_JS = """
(() => {
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const parts = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const behind = (element) => {  // the opaque colour an element's outside sits on
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const describe = (element) => {
    const classes = typeof element.className === "string" ? element.className.trim().split(/\\s+/).filter(Boolean) : [];
    return element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") + (element.name ? "[name=" + element.name + "]" : "")
      + classes.map(name => "." + name).join("");
  };
  return {ratio, parse, over, behind, describe};
})()
"""

FIELD_EDGES_JS = """
() => {
  const c = window.__contrast;
  const problems = [];
  const fields = document.querySelectorAll("input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea");
  for (const field of fields) {
    if (!field.getClientRects().length) continue;
    const style = getComputedStyle(field);
    if (parseFloat(style.borderTopWidth) === 0) continue;
    const outside = c.behind(field.parentElement);
    const edge = c.over(c.parse(style.borderTopColor), outside);
    const fill = c.over(c.parse(style.backgroundColor), outside);
    const best = Math.max(c.ratio(edge, outside), c.ratio(fill, outside));
    if (best < 3) problems.push(c.describe(field) + " edge " + best.toFixed(2) + ":1");
  }
  return problems;
}
"""

FOCUS_RING_JS = """
() => {
  const c = window.__contrast;
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const width = parseFloat(style.outlineWidth);
  if (style.outlineStyle === "none" || width < 2) return c.describe(element) + " has no focus ring";
  // what is drawn where the ring is, on each of its four sides; a neighbour may touch one side (a row of buttons),
  // so the ring passes when three sides of four have 3:1
  const box = element.getBoundingClientRect();
  const gap = Math.max(0, parseFloat(style.outlineOffset)) + width / 2;
  const clampX = (x) => Math.min(Math.max(x, 0), innerWidth - 1), clampY = (y) => Math.min(Math.max(y, 0), innerHeight - 1);
  const middleX = clampX(box.left + box.width / 2), middleY = clampY(box.top + box.height / 2);
  const sides = [[clampX(box.left - gap), middleY], [clampX(box.right + gap), middleY],
                 [middleX, clampY(box.top - gap)], [middleX, clampY(box.bottom + gap)]];
  const ratios = sides.map(([x, y]) => {
    const under = document.elementsFromPoint(x, y).find(node => node !== element && !element.contains(node));
    const outside = c.behind(under || element.parentElement);
    return c.ratio(c.over(c.parse(style.outlineColor), outside), outside);
  });
  if (ratios.filter(ratio => ratio >= 3).length >= 3) return "";
  return c.describe(element) + " focus ring " + ratios.map(ratio => ratio.toFixed(2)).join("/") + ":1";
}
"""
FOCUS_STEPS = 40
FOCUS_PAGES = ("login", "account", "violations")  # the top bar, cards and tables with forms, date fields, radio buttons


def _field_edge_problems(page: Page) -> list[str]:
    page.evaluate(f"window.__contrast = {CONTRAST_JS}")
    return [f"non-text contrast: {problem}" for problem in page.evaluate(FIELD_EDGES_JS)]


def _focus_ring_problems(page: Page) -> list[str]:
    """Tab through the page from the top: every focused element shows a ring of 3:1 against what is behind it."""
    page.evaluate(f"window.__contrast = {CONTRAST_JS}")
    page.locator("body").focus()
    problems = []
    for _ in range(FOCUS_STEPS):
        page.keyboard.press("Tab")
        problem = page.evaluate(FOCUS_RING_JS)
        if problem is None:
            break
        if problem and problem not in problems:
            problems.append(problem)
    return [f"focus ring: {problem}" for problem in problems]


def _blocking_violations(page: Page, axe_script: str) -> list[str]:
    page.evaluate(axe_script)
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING and violation["id"] not in ALWAYS_BLOCKING:
            continue
        for node in violation["nodes"]:
            found.append(f"{violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}: "
                         f"{violation['help']} — {node.get('failureSummary', '').strip()}")
    return found


@pytest.fixture(scope="module")
def campaign_url(browser, live_server, e2e_app, seeded, a11y_world) -> str:
    """Governance opens a campaign over the accessibility unit through the console, as a person would."""
    page = _signed_in(browser, live_server, e2e_app, seeded.emails[Role.GOVERNANCE], "en")
    try:
        page.goto("/reviews/campaigns/new")
        page.locator("#campaign-name").fill("Accessibility review")
        page.locator("#campaign-scope").select_option(f"business_unit:{UNIT}")
        page.get_by_role("button", name="Preview the campaign").click()  # opening shows its preview first
        page.get_by_role("button", name="Open the campaign").click()
        expect(page.locator(".campaign-progress")).to_contain_text("0 of 1")
        return page.url.removeprefix(live_server)
    finally:
        page.context.close()


def _admin_pages(seeded, a11y_world, campaign_url) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("accounts", "/accounts"),
        ("account", f"/accounts/{a11y_world['account']}"),
        ("account-arabic", f"/accounts/{seeded.accounts['alnoor_news']}"),
        ("account-new", "/accounts/new"),
        ("account-edit", f"/accounts/{a11y_world['account']}/edit"),
        ("networks", "/networks"),
        ("network-app", "/networks/x"),
        ("people", "/people"),
        ("person", f"/people/{seeded.people['dana']}"),
        ("campaigns", "/reviews/campaigns"),
        ("campaign", campaign_url),
        ("campaign-new", "/reviews/campaigns/new"),
        ("violations", "/policy/violations"),
        ("approvals", "/policy/approvals"),
        ("policy-test", "/policy/test"),
        ("exceptions", "/policy/exceptions"),
        ("impostors", "/policy/impostors"),
        ("directory-runs", "/directory/runs"),
        ("departures", "/directory/departures"),
        ("directory-check", "/directory/check"),
        ("scim-groups", "/directory/scim-groups"),
        ("scim-group", f"/directory/scim-groups/{a11y_world['scim_group']}"),
        ("audit", "/audit"),
        ("reports", "/reports"),
        ("evidence", "/evidence"),
        ("admin-users", "/admin/users"),
        ("admin-tokens", "/admin/tokens"),
        ("admin-notifications", "/admin/notifications"),
        ("posts", "/posts"),
        ("compose", "/posts/new"),
        ("pauses", "/pauses"),
        ("alerts", "/alerts"),
        ("runbooks", "/runbooks"),
        ("incidents", "/incidents"),
        ("approval-rules", "/posts/rules"),
        ("approval-rule-edit", f"/posts/rules/{a11y_world['approval_rule']}/edit"),
        ("posts-calendar", "/posts/calendar"),
        ("runbook-new", "/runbooks/new"),
        ("not-found", "/accounts/987654321"),
    ]


def _with_problems(page: Page, world: dict) -> None:
    """The open-a-campaign form sent back with a deadline in the past: the alert that takes the focus."""
    page.goto("/reviews/campaigns/new")
    page.locator("#campaign-name").fill("Accessibility, again")
    page.locator("#campaign-deadline").fill("2001-01-01")
    page.locator("form button[type=submit].primary").click()
    expect(page.locator("form .alert-error")).to_be_visible()


def _bench_result(page: Page, world: dict) -> None:
    page.goto("/policy/test")
    page.locator("#bench-text").fill("راسلوا ahmed@example.com أو 4111 1111 1111 1111")
    page.locator("form[action$='/policy/test'] button[type=submit]").click()
    expect(page.locator("section.bench-result table.findings")).to_be_visible()


def _revoke_confirmation(page: Page, world: dict) -> None:
    """Revoke asks first: the confirmation page."""
    page.goto(f"/accounts/{world['account']}")
    row = page.locator("section[aria-labelledby='access-title'] tbody tr").first
    row.locator("input[name=reason]").fill("Accessibility check")
    row.locator("button.danger").click()
    expect(page.locator(".confirm")).to_be_visible()


INTERACTIONS = {
    "campaign-form-errors": _with_problems, "policy-test-result": _bench_result, "revoke-confirmation": _revoke_confirmation,
}


@pytest.mark.parametrize(("locale", "viewport"), LAYOUTS)
def test_main_pages_have_no_serious_accessibility_violation(browser, live_server, e2e_app, seeded, a11y_world, campaign_url,
                                                             axe_script, screenshot, locale, viewport):
    rtl = locale in ("ar", "he")
    phone = viewport is PHONE
    layout = f"{locale}-phone" if phone else locale
    failures: dict[str, list[str]] = {}
    checked: list[str] = []

    def check(page: Page, name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if rtl else "ltr")
        if locale in SCREENSHOT_LOCALES:
            screenshot(page, f"a11y-{layout}-{name}")
        problems = _blocking_violations(page, axe_script) + _field_edge_problems(page)
        if name in FOCUS_PAGES and not phone:
            problems += _focus_ring_problems(page)
        checked.append(name)
        if problems:
            failures[f"{name} ({page.url})"] = problems

    anonymous = browser.new_context(base_url=live_server, locale=LOCALES[locale], viewport=viewport)
    try:
        page = anonymous.new_page()
        page.goto("/login")
        check(page, "login")
    finally:
        anonymous.close()

    admin = _signed_in(browser, live_server, e2e_app, seeded.emails[Role.ADMIN], locale, viewport)
    try:
        for name, path in _admin_pages(seeded, a11y_world, campaign_url):
            response = admin.goto(path)
            expected = 404 if name == "not-found" else 200
            assert response is not None and response.status == expected, (name, response and response.status)
            check(admin, name)
        for name, interact in INTERACTIONS.items():
            interact(admin, a11y_world)
            check(admin, name)
    finally:
        admin.context.close()

    reviewer = _signed_in(browser, live_server, e2e_app, a11y_world["reviewer"], locale)
    try:
        reviewer.goto("/reviews")
        expect(reviewer.locator(f"#account-{a11y_world['account']} tbody tr")).to_have_count(1)  # a review to answer
        check(reviewer, "reviews")
        if not phone:
            reviewer.set_viewport_size(PHONE)  # the owner answers on a phone, in every language
            check(reviewer, "reviews-phone")
    finally:
        reviewer.context.close()

    assert len(checked) == len(_admin_pages(seeded, a11y_world, campaign_url)) + len(INTERACTIONS) + (2 if phone else 3)
    report = "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in failures.items())
    assert not failures, f"accessibility problems in {layout}:\n{report}"


def test_the_check_reports_what_it_finds(browser, axe_script):
    """The checks are not vacuous: faint text, an unlabelled field, an image without text, no language, two tiny buttons
    side by side and a duplicated id fail axe; a field with a faint edge and a faint focus ring fail ours."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<title>t</title><main><h1>x</h1><img src='data:,'><input type='text'>"
                         "<p style='color:#bbb;background:#fff'>faint</p><div id='twice'></div><div id='twice'></div>"
                         "<p><button style='all:unset;font-size:8px'>a</button><button style='all:unset;font-size:8px'>b</button></p>"
                         "<p><label for='faint'>Faint</label><input id='faint' style='border:1px solid #ddd;outline:3px solid #eee'></p>"
                         "</main>")
        problems = _blocking_violations(page, axe_script)
        edges = _field_edge_problems(page)
        rings = _focus_ring_problems(page)
    finally:
        context.close()
    rules = {problem.split(" ", 1)[0] for problem in problems}
    assert {"image-alt", "label", "html-has-lang", "color-contrast", "duplicate-id", "target-size"} <= rules, problems
    assert any("input#faint" in edge for edge in edges), edges
    assert any("input#faint" in ring for ring in rings), rings
