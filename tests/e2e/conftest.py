"""Browser-test fixtures: a throwaway PostgreSQL database, seeded data, the app on a loopback port, and Chromium.

Everything is package-scoped: Playwright's sync API keeps an asyncio loop running in the main thread while it is open,
which would break app contexts in every test that runs after this package if it lived for the whole session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic import command as alembic_command
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from werkzeug.serving import make_server

from govern import create_app
from govern.accounts.service import create_account
from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user, issue_login_link
from govern.cli import alembic_config
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.people.models import PersonSource, PersonStatus
from govern.people.service import upsert_person
from tests.support.services import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
TRANSLATIONS = Path(__file__).parents[2] / "govern" / "translations"
SEED_ACTOR = Actor.system("e2e-seed")


def off_the_browser_thread(work: Callable[[], object]) -> object:
    """Run app-context work in another thread: Playwright's sync API keeps an asyncio loop running in this one, and
    Flask-SQLAlchemy-Lite's async teardown refuses to run (through asgiref) in a thread with a running loop."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(work).result()


@dataclass
class Seeded:
    """Ids of the seeded rows, by a short name."""

    accounts: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    emails: dict[Role, str] = field(default_factory=dict)


def _compile_stale_catalogs() -> None:
    """The console needs compiled catalogs; build any .mo missing or older than its .po (what `make translations` does)."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture(scope="package")
def e2e_database_url(scratch_postgres) -> Iterator[str]:
    """A database of the browser tests' own on the test server (GOVERN_TEST_POSTGRES_URL, like every other test)."""
    url = scratch_postgres.create("govern_e2e")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        scratch_postgres.drop(url)


@pytest.fixture(scope="package")
def e2e_port() -> int:
    from tests.support.standin import free_port

    return free_port()


@pytest.fixture(scope="package")
def e2e_app(e2e_database_url, e2e_port, tmp_path_factory):
    """On the embedded secret store; its base URL is the live server's, so OAuth callbacks come back to it."""
    _compile_stale_catalogs()
    return create_app({
        "base_url": f"http://127.0.0.1:{e2e_port}",
        "database_url": e2e_database_url,
        "secret_key": "x" * 40,
        "secure_cookies": False,
        "instance_path": tmp_path_factory.mktemp("e2e-instance"),
        "log_format": "json",
        "demo_network": True,  # the built-in demo social network, as `make run` serves it (loopback only)
    })


def _person(key: str, display_name: str, username: str, **fields):
    return upsert_person(db.session, SEED_ACTOR, PersonSource.MANUAL, f"e2e-{key}", username=username,
                         email=f"{username}@acme.example", display_name=display_name, **fields)


@pytest.fixture(scope="package")
def seeded(e2e_app) -> Seeded:
    """A few accounts and people with English, Arabic and Hebrew names, one grant, and a console user per role."""
    ids = Seeded()
    with e2e_app.app_context():
        omar = _person("omar", "Omar Haddad", "omar.haddad", department="Communications")
        sara = _person("sara", "سارة الحسيني", "sara.husseini", department="الإعلام", manager_id=omar.id)
        dana = _person("dana", "דנה לוי", "dana.levi", department="שיווק", manager_id=omar.id)
        yossi = _person("yossi", "Yossi Cohen", "yossi.cohen", department="שיווק")
        _person("yossi", "Yossi Cohen", "yossi.cohen", status=PersonStatus.LEAVER)
        ids.people = {"omar": omar.id, "sara": sara.id, "dana": dana.id, "yossi": yossi.id}
        accounts = {
            "alnoor_news": create_account(db.session, SEED_ACTOR, "x", handle="alnoor_news", display_name="قناة النُّور الإخبارية",
                                          business_unit="الأخبار", owner_id=sara.id, tags=["أخبار", "news"],
                                          notes="الحساب الرسمي لغرفة الأخبار."),
            "alnoor_tv": create_account(db.session, SEED_ACTOR, "youtube", handle="alnoor_tv", display_name="النور TV",
                                        business_unit="الأخبار", tags=["video"]),
            "shalom_brand": create_account(db.session, SEED_ACTOR, "instagram", handle="shalom.brand", display_name="מותג שָׁלוֹם",
                                           business_unit="שיווק", owner_id=dana.id, tags=["מותג"]),
            "acme_corp": create_account(db.session, SEED_ACTOR, "linkedin", handle="acme-corp", display_name="Acme Corporation",
                                        business_unit="Corporate", owner_id=omar.id, tags=["corporate"]),
            "acme_careers": create_account(db.session, SEED_ACTOR, "facebook", handle="acme.careers", display_name="Acme Careers",
                                           business_unit="HR"),
        }
        ids.accounts = {key: account.id for key, account in accounts.items()}
        create_grant(db.session, SEED_ACTOR, dana.id, ids.accounts["alnoor_news"], GrantRole.ANALYST, "مراجعة الأداء الشهرية")
        create_grant(db.session, SEED_ACTOR, dana.id, ids.accounts["shalom_brand"], GrantRole.PUBLISHER, "קמפיין השקה")
        names = {Role.ADMIN: "Amal Admin", Role.GOVERNANCE: "ليلى منصور", Role.IT: "נועה ברק", Role.AUDITOR: "Audrey Auditor"}
        for role, name in names.items():
            ids.emails[role] = ensure_console_user(db.session, SEED_ACTOR, f"{role.value}@e2e.test", name, role).email
        db.session.commit()
    return ids


@pytest.fixture(scope="package")
def live_server(e2e_app, e2e_port, seeded) -> Iterator[str]:
    server = make_server("127.0.0.1", e2e_port, e2e_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="package")
def browser(live_server):  # the app is built and seeded before Playwright starts its event loop
    if not CHROMIUM.exists():
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _login_code(app, email: str) -> str:
    with app.app_context():
        code = issue_login_link(db.session, SEED_ACTOR, email, 900).reveal()
        db.session.commit()
    return code


@pytest.fixture
def sign_in(browser, live_server, e2e_app, seeded) -> Iterator[Callable]:
    """Open a browser page signed in as the console user of a role, through a one-time sign-in link."""
    contexts = []
    csp_violations: list[str] = []

    def open_as(role: Role, browser_locale: str = "en-US"):
        context = browser.new_context(base_url=live_server, locale=browser_locale, viewport={"width": 1280, "height": 860})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and csp_violations.append(message.text))
        page.goto(f"/login/{off_the_browser_thread(lambda: _login_code(e2e_app, seeded.emails[role]))}")
        page.locator("form.signin-link button[type=submit]").click()  # opening the link spends nothing; the button does
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert csp_violations == [], "the console broke its Content-Security-Policy"


@pytest.fixture
def screenshot() -> Callable:
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
