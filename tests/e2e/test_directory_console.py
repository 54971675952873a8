"""Directory sync in a real Chromium: governance approves a held mass departure and reads the leavers' checklists;
IT syncs and checks the configuration; an auditor reads the runs but cannot decide."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from govern.adapters.directory import DirectoryEntry
from govern.auth.roles import Role
from govern.directory import service
from govern.directory.models import SyncStatus
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import Person, PersonSource, PersonStatus
from tests.e2e.conftest import SEED_ACTOR, off_the_browser_thread

pytestmark = pytest.mark.e2e

SOURCE = "openldap"
PEOPLE, SURVIVORS = 40, 10  # 30 would leave at once: more than max(25, 5% of everyone active), so the run is held
GIVEN = (
    ("رنا", "سامي", "هدى", "كريم", "ليلى", "يوسف", "منى", "طارق", "سلمى", "عمر", "نادين", "فادي", "ريم", "باسل"),
    ("אורי", "נועה", "איתי", "מיכל", "יונתן", "שירה", "עומר", "תמר", "אלון", "רוני", "גיל", "הדס", "עידו", "ליאת"),
    ("Ron", "Jane", "Mark", "Lucy", "Paul", "Nora", "Adam", "Ella", "Sam", "Iris", "Ben", "Zoe", "Tom", "Mia"),
)


@dataclass
class HeldRun:
    run_id: int
    prefix: str
    names: list[str]  # index n is the person keyed f"{prefix}-{n:02d}"; from SURVIVORS on they would depart
    person_ids: dict[int, int]


def _name(n: int, families: tuple[str, str, str]) -> str:
    script = n % 3
    return f"{GIVEN[script][n // 3]} {families[script]}"


def _as_entry(person: Person) -> DirectoryEntry:
    """A person of the source as the directory would describe them now: unchanged."""
    manager = person.manager.external_id if person.manager and person.manager.source == PersonSource.OPENLDAP else None
    return DirectoryEntry(key=person.external_id, dn=person.dn or "", username=person.username, display_name=person.display_name,
                          email=person.email, department=person.department, manager_key=manager)


def _held_run(e2e_app, prefix: str, families: tuple[str, str, str], grant_on: int | None = None) -> HeldRun:
    """Sync PEOPLE people from "the directory", then a read in which only SURVIVORS of them are left.

    The e2e database is shared: people of this source from elsewhere are read back unchanged, so that the full
    reconciliation neither departs them nor counts them among the leavers."""
    names = [_name(n, families) for n in range(PEOPLE)]
    ours = [DirectoryEntry(key=f"{prefix}-{n:02d}", dn=f"uid={prefix}.{n:02d},ou=people,dc=example,dc=com",
                           username=f"{prefix}.{n:02d}", display_name=names[n], email=f"{prefix}.{n:02d}@example.com",
                           department="Communications", manager_key=f"{prefix}-00" if n else None)
               for n in range(PEOPLE)]

    def work() -> HeldRun:
        with e2e_app.app_context():
            others = db.session.scalars(sa.select(Person).where(
                Person.source == PersonSource.OPENLDAP, Person.status == PersonStatus.ACTIVE,
                Person.external_id.not_like(f"{prefix}-%")))
            unchanged = [_as_entry(person) for person in others]
            first = service.full_sync(db.session, SEED_ACTOR, SOURCE, ours + unchanged)
            assert first.status == SyncStatus.SUCCEEDED, first.error
            ours_query = sa.select(Person.external_id, Person.id).where(Person.external_id.like(f"{prefix}-%"))
            ids = dict(db.session.execute(ours_query).all())
            person_ids = {n: ids[f"{prefix}-{n:02d}"] for n in range(PEOPLE)}
            if grant_on is not None:
                create_grant(db.session, SEED_ACTOR, person_ids[12], grant_on, GrantRole.ANALYST, "Monthly report")
            held = service.full_sync(db.session, SEED_ACTOR, SOURCE, ours[:SURVIVORS] + unchanged)
            assert held.status == SyncStatus.HELD, held.status
            assert len(held.held_departures) == PEOPLE - SURVIVORS
            db.session.commit()
            return HeldRun(held.id, prefix, names, person_ids)

    return off_the_browser_thread(work)


def held_card(page: Page, run: HeldRun):
    return page.locator(f"#run-{run.run_id}")


def run_row(page: Page, run: HeldRun):
    return page.locator("table.sync-runs tbody tr", has=page.locator("td:first-child", has_text=re.compile(f"^{run.run_id}$")))


def csrf_token(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def test_governance_approves_a_held_mass_departure_and_reads_the_leavers(sign_in, e2e_app, seeded, screenshot):
    run = _held_run(e2e_app, "e2e-dir-a", ("عيسى", "שמש", "Gale"), grant_on=seeded.accounts["acme_corp"])
    leaver = run.names[12]  # had an analyst grant on acme-corp
    page = sign_in(Role.GOVERNANCE)
    page.get_by_role("link", name="Directory", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory sync runs")
    card = held_card(page, run)
    expect(card.get_by_role("heading")).to_contain_text(f"Sync run {run.run_id} is held. People who would depart: 30")
    expect(card.locator(".held-people li")).to_have_count(PEOPLE - SURVIVORS)
    expect(card.locator(".held-people li", has_text=leaver)).to_contain_text("No longer in the directory")
    expect(card.locator(".held-people")).not_to_contain_text(run.names[0])  # survivors are not listed
    expect(run_row(page, run).locator(".badge")).to_have_text("Held for a decision")
    expect(page.get_by_role("heading", name="Sync now")).to_have_count(0)  # governance decides; IT syncs
    screenshot(page, "en-directory-held-run")

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(held_card(page, run)).to_be_visible()
    screenshot(page, "ar-directory-held-run")
    page.get_by_role("button", name="English").click()

    held_card(page, run).get_by_role("button", name="Approve: they depart now").click()
    expect(page.locator(".flashes")).to_contain_text(f"Sync run {run.run_id} approved")
    expect(held_card(page, run)).to_have_count(0)
    expect(run_row(page, run).locator(".badge")).to_have_text("Approved")

    token = csrf_token(page)
    again = page.request.post(f"/directory/runs/{run.run_id}/approve", form={"csrf_token": token})
    assert again.status == 409 and "not held" in again.text()  # decided once; the refusal says why

    page.get_by_role("link", name="Leavers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leavers")
    rows = page.locator("table.departures tbody tr")
    for n in (SURVIVORS, 12, PEOPLE - 1):
        expect(rows.filter(has_text=run.names[n])).to_have_count(1)
    expect(rows.filter(has_text=run.names[0])).to_have_count(0)
    row = rows.filter(has_text=leaver)
    expect(row).to_contain_text("No longer in the directory")
    expect(row).to_contain_text("OpenLDAP directory")
    expect(row.locator(".checklist").first.locator("li", has_text="Grants revoked")).to_have_text(re.compile(r"Grants revoked\s+1$"))  # what went
    expect(row.locator(".checklist").first.locator("li", has_text="Removals to do at the networks")).to_have_text(re.compile(r"networks\s+1$"))  # a LinkedIn page: by hand
    expect(row.locator("li", has_text="API tokens revoked")).to_have_count(0)  # the row shows what went; the rest is a link away
    expect(row.get_by_role("link", name="Full checklist")).to_have_attribute("href", re.compile(r"/people/\d+#directory-title$"))
    expect(rows.filter(has_text=run.names[SURVIVORS])).to_contain_text("No access was found to remove.")
    expect(row.locator(".duration")).to_have_text(re.compile(r"^(under 0\.1 sec|[\d.]+ sec)$"))
    screenshot(page, "en-directory-leavers")

    row.get_by_role("link", name=leaver).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(leaver)
    directory = page.locator("section[aria-labelledby='directory-title']")
    expect(directory).to_contain_text("OpenLDAP directory")
    expect(directory).to_contain_text("e2e-dir-a-12")
    expect(directory.locator(".badge")).to_have_text("Leaver")
    expect(directory.locator(".checklist li", has_text="Grants revoked")).to_contain_text("1")
    expect(directory.locator(".checklist li")).to_have_count(11)  # every step a departure runs, the manual removals included
    expect(directory.locator(".checklist li", has_text="API tokens revoked")).to_contain_text("0")
    expect(directory.locator(".checklist li", has_text="Console sessions ended")).to_contain_text("0")
    expect(directory.locator(".checklist li", has_text="Accounts left without an owner")).to_be_visible()
    expect(page.locator("section[aria-labelledby='access-title']")).to_contain_text("This person has no access to any account.")
    screenshot(page, "en-directory-person")

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.goto("/directory/departures")
    expect(page.get_by_role("link", name="الأشخاص")).to_be_visible()
    first_cell = page.locator("table.departures thead th").first.bounding_box()
    last_cell = page.locator("table.departures thead th").last.bounding_box()
    assert first_cell["x"] > last_cell["x"], "in RTL the table's first column sits on the right"
    screenshot(page, "ar-directory-leavers")


def test_it_may_sync_and_sees_that_no_directory_is_configured(sign_in, screenshot):
    page = sign_in(Role.IT)
    page.goto("/directory/runs")
    sync_now = page.locator("section[aria-labelledby='sync-now-title']")
    expect(sync_now.get_by_role("heading", name="Sync now")).to_be_visible()
    expect(sync_now).to_contain_text("No directory is configured")
    expect(page.locator("form[action$='/approve'], form[action$='/dismiss']")).to_have_count(0)

    refused = page.request.post("/directory/runs/sync", form={"csrf_token": csrf_token(page), "mode": "full"})
    assert refused.status == 422 and "No directory is configured" in refused.text()
    bad_mode = page.request.post("/directory/runs/sync", form={"csrf_token": csrf_token(page), "mode": "everything"})
    assert bad_mode.status == 422 and "Choose an incremental sync or a full reconciliation." in bad_mode.text()
    without_token = page.request.post("/directory/runs/sync", form={"mode": "full"})
    assert without_token.status == 400

    page.get_by_role("link", name="Configuration check").first.click()
    expect(page).to_have_url(re.compile(r"/directory/check$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory configuration check")
    expect(page.get_by_role("heading", name="Not configured")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("GOVERN_LDAP_URL")
    screenshot(page, "en-directory-check")


def test_an_auditor_reads_the_runs_but_cannot_decide(sign_in, e2e_app, screenshot):
    run = _held_run(e2e_app, "e2e-dir-b", ("حداد", "כהן", "Reed"))
    auditor = sign_in(Role.AUDITOR)
    auditor.goto("/directory/runs")
    card = held_card(auditor, run)
    expect(card.locator(".held-people li")).to_have_count(PEOPLE - SURVIVORS)
    expect(card).to_contain_text("Governance decides held runs.")
    expect(auditor.locator("form[action$='/approve'], form[action$='/dismiss']")).to_have_count(0)
    expect(auditor.get_by_role("heading", name="Sync now")).to_have_count(0)
    expect(auditor.get_by_role("link", name="Configuration check")).to_have_count(0)
    forbidden = auditor.request.post(f"/directory/runs/{run.run_id}/approve", form={"csrf_token": csrf_token(auditor)})
    assert forbidden.status == 403
    assert auditor.goto("/directory/check").status == 403

    governance = sign_in(Role.GOVERNANCE)
    governance.goto("/directory/runs")
    held_card(governance, run).get_by_role("button", name="Dismiss: nobody departs").click()
    expect(governance.locator(".flashes")).to_contain_text(f"Sync run {run.run_id} dismissed: nobody departed.")
    expect(run_row(governance, run).locator(".badge")).to_have_text("Dismissed")
    governance.goto("/directory/departures")
    expect(governance.locator("table.departures tbody tr").filter(has_text=run.names[SURVIVORS])).to_have_count(0)
    governance.goto(f"/people/{run.person_ids[SURVIVORS]}")
    expect(governance.locator("section[aria-labelledby='directory-title'] .badge")).to_have_text("Current employee")
