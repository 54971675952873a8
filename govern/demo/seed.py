"""Deterministic demo data: an org chart of ~300 people, ~40 corporate accounts and their grants."""

from __future__ import annotations

import math
import random
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern import app_services
from govern.accounts.models import AccountStatus, SocialAccount
from govern.accounts.service import create_account, retire_account
from govern.actor import Actor
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.db import utcnow
from govern.demo import flows as demo_flows
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant, revoke_grant
from govern.people.models import Person, PersonSource, PersonStatus
from govern.people.service import upsert_person

ACTOR = Actor.system("demo-seed")
EMAIL_DOMAIN = "acme.example"
BASE_DN = "ou=people,dc=acme,dc=example"
LEAVER_COUNT = 10

CONSOLE_USERS = (
    ("admin@govern.demo", "Demo Admin", Role.ADMIN),
    ("governance@govern.demo", "Demo Governance", Role.GOVERNANCE),
    ("it@govern.demo", "Demo IT", Role.IT),
    ("auditor@govern.demo", "Demo Auditor", Role.AUDITOR),
)
# Who each demo console user is in the organisation: (department, index in it); 0 is its head.
CONSOLE_PEOPLE = {
    "admin@govern.demo": ("Social Media", 0),
    "governance@govern.demo": ("Communications", 0),
    "it@govern.demo": ("Executive Office", 1),
    "auditor@govern.demo": ("Investor Relations", 0),
}
REVIEWER_EMAIL = "reviewer@govern.demo"  # the owner of the first account in the demo access review

# (name as written, ASCII transliteration for usernames); Latin names are transliterated by code.
ENGLISH_FIRST = (
    "Emma", "Oliver", "Sophie", "James", "Charlotte", "William", "Amelia", "Harry", "Olivia", "George",
    "Isla", "Jack", "Grace", "Thomas", "Chloe", "Daniel", "Hannah", "Samuel", "Emily", "Michael",
    "Jessica", "David", "Lucy", "Benjamin", "Rachel", "Andrew", "Laura", "Christopher", "Megan", "Ryan",
    "Priya", "Arjun", "Wei", "Sofia", "Diego", "Aisha", "Zoë", "José", "Renée", "Siobhán",
)
ENGLISH_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Roberts", "Walker",
    "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
    "Clarke", "Jackson", "Turner", "Hill", "Moore", "Cooper", "King", "Baker", "Patel", "Chen",
    "Garcia", "Martinez", "O'Brien", "Murphy", "Kelly", "Nguyen", "Okafor", "Müller", "Fernández", "Byrne",
)
ARABIC_FIRST = (
    ("ليلى", "layla"), ("عمر", "omar"), ("أحمد", "ahmed"), ("محمد", "mohammed"), ("فاطمة", "fatima"),
    ("نور", "nour"), ("يوسف", "youssef"), ("سارة", "sara"), ("خالد", "khaled"), ("مريم", "maryam"),
    ("حسن", "hassan"), ("رنا", "rana"), ("طارق", "tariq"), ("هند", "hind"), ("سامي", "sami"),
    ("لينا", "lina"), ("كريم", "karim"), ("دينا", "dina"), ("ياسمين", "yasmin"), ("علي", "ali"),
    ("زينب", "zainab"), ("فيصل", "faisal"), ("ريم", "reem"), ("عبدالله", "abdullah"), ("منى", "mona"),
    ("بلال", "bilal"), ("هالة", "hala"), ("نادر", "nader"), ("سلمى", "salma"), ("إبراهيم", "ibrahim"),
    ("جميلة", "jamila"), ("وليد", "walid"), ("أمل", "amal"), ("رامي", "rami"), ("شيماء", "shaimaa"),
    ("مصطفى", "mustafa"), ("ندى", "nada"), ("حمزة", "hamza"), ("آمنة", "amina"), ("ماجد", "majed"),
)
ARABIC_LAST = (
    ("حداد", "haddad"), ("الخطيب", "alkhatib"), ("المصري", "almasri"), ("العلي", "alali"),
    ("الحسيني", "alhusseini"), ("منصور", "mansour"), ("الشمري", "alshammari"), ("القحطاني", "alqahtani"),
    ("العتيبي", "alotaibi"), ("الزهراني", "alzahrani"), ("نصر", "nasr"), ("سليمان", "suleiman"),
    ("عبد الرحمن", "abdelrahman"), ("خوري", "khoury"), ("الدوسري", "aldosari"), ("السيد", "elsayed"),
    ("فرح", "farah"), ("عيسى", "issa"), ("حمدان", "hamdan"), ("الفارس", "alfares"), ("عثمان", "othman"),
    ("صالح", "saleh"), ("الهاشمي", "alhashimi"), ("جابر", "jaber"), ("النجار", "alnajjar"),
    ("الأحمد", "alahmad"), ("قاسم", "kassem"), ("درويش", "darwish"), ("بكر", "bakr"), ("عوض", "awad"),
)
HEBREW_FIRST = (
    ("נועה", "noa"), ("אורי", "uri"), ("יעל", "yael"), ("דניאל", "daniel"), ("תמר", "tamar"),
    ("איתי", "itai"), ("מיכל", "michal"), ("יונתן", "yonatan"), ("שירה", "shira"), ("עומר", "omer"),
    ("רוני", "roni"), ("אביגיל", "avigail"), ("נדב", "nadav"), ("הילה", "hila"), ("גיל", "gil"),
    ("מאיה", "maya"), ("עידו", "ido"), ("ליאת", "liat"), ("אסף", "asaf"), ("רותם", "rotem"),
    ("אלון", "alon"), ("טל", "tal"), ("שני", "shani"), ("עמית", "amit"), ("יוסי", "yossi"),
    ("דנה", "dana"), ("אריאל", "ariel"), ("הדס", "hadas"), ("רועי", "roee"), ("נטע", "neta"),
    ("אבי", "avi"), ("אפרת", "efrat"), ("זיו", "ziv"), ("ענבל", "inbal"), ("משה", "moshe"),
)
HEBREW_LAST = (
    ("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi"), ("פרץ", "peretz"), ("ביטון", "biton"),
    ("אברהם", "avraham"), ("פרידמן", "friedman"), ("שפירא", "shapira"), ("דהן", "dahan"),
    ("אזולאי", "azoulay"), ("גולדברג", "goldberg"), ("רוזן", "rozen"), ("אוחיון", "ohayon"),
    ("קליין", "klein"), ("אשכנזי", "ashkenazi"), ("בן דוד", "bendavid"), ("גבאי", "gabay"),
    ("ברק", "barak"), ("שלום", "shalom"), ("חדד", "hadad"), ("וייס", "weiss"), ("סגל", "segal"),
    ("נחום", "nachum"), ("קרמר", "kramer"), ("יוסף", "yosef"), ("שושן", "shoshan"), ("מלכה", "malka"),
    ("עמר", "amar"), ("גרוס", "gross"), ("אלמוג", "almog"),
)

# How likely each script is for a name in a department: (english, arabic, hebrew).
CENTRAL_MIX = (0.5, 0.3, 0.2)
SCRIPT_MIX = {
    "Regional Office Riyadh": (0.15, 0.85, 0.0),
    "Regional Office Dubai": (0.2, 0.8, 0.0),
    "Regional Office Cairo": (0.1, 0.9, 0.0),
    "Regional Office Tel Aviv": (0.1, 0.15, 0.75),
    "Regional Office London": (0.8, 0.1, 0.1),
    "Regional Office New York": (0.8, 0.1, 0.1),
}


@dataclass(frozen=True)
class Division:
    vp_name: tuple[str, str]  # (display name, username)
    vp_department: str
    departments: tuple[tuple[str, int], ...]  # (department, headcount incl. its director)


CEO = ("Eleanor Whitfield", "eleanor.whitfield")
EXECUTIVE_OFFICE = ("Executive Office", 4)
DIVISIONS = (
    Division(("ليلى حداد", "layla.haddad"), "Communications", (("Communications", 38), ("Investor Relations", 12))),
    Division(("נועה כהן", "noa.cohen"), "Marketing", (("Marketing", 44), ("Social Media", 16))),
    Division(("عمر الخطيب", "omar.alkhatib"), "Customer Care", (("Customer Care", 50),)),
    Division(("James Carter", "james.carter"), "HR", (("HR", 22),)),
    Division(("אורי לוי", "uri.levi"), "Regional Offices", (
        ("Regional Office Riyadh", 22), ("Regional Office Dubai", 20), ("Regional Office Cairo", 14),
        ("Regional Office Tel Aviv", 20), ("Regional Office London", 16), ("Regional Office New York", 16),
    )),
)
STAFF_PER_MANAGER = 9


@dataclass(frozen=True)
class DemoAccount:
    network: str
    handle: str
    display_name: str
    business_unit: str
    tags: tuple[str, ...]
    status: AccountStatus = AccountStatus.ACTIVE


ACCOUNTS = (
    DemoAccount("facebook", "acme", "Acme", "Communications", ("global", "brand")),
    DemoAccount("instagram", "acme", "Acme", "Marketing", ("global", "brand")),
    DemoAccount("x", "acme", "Acme", "Communications", ("global", "newsroom")),
    DemoAccount("x", "acme_news", "Acme Newsroom", "Communications", ("press", "newsroom")),
    DemoAccount("x", "acme_support", "Acme Support", "Customer Care", ("support", "24x7")),
    DemoAccount("x", "acme_ceo", "Office of the CEO", "Executive Office", ("executive", "vip")),
    DemoAccount("x", "acme_ir", "Acme Investor Relations", "Investor Relations", ("investors", "regulated")),
    DemoAccount("linkedin", "acme", "Acme Corporation", "Communications", ("global", "corporate")),
    DemoAccount("linkedin", "acme_careers", "Acme Careers", "HR", ("careers", "recruiting")),
    DemoAccount("linkedin", "acme_investors", "Acme Investor Relations", "Investor Relations", ("investors", "regulated")),
    DemoAccount("youtube", "acmeofficial", "Acme", "Marketing", ("video", "brand")),
    DemoAccount("tiktok", "acme", "Acme", "Social Media", ("video", "campaign")),
    DemoAccount("threads", "acme", "Acme", "Social Media", ("global",)),
    DemoAccount("mastodon", "acme@social.acme.example", "Acme on Mastodon", "Communications", ("fediverse",)),
    DemoAccount("facebook", "acme_support", "Acme Customer Care", "Customer Care", ("support",)),
    DemoAccount("instagram", "acme_careers", "Life at Acme", "HR", ("careers",)),
    DemoAccount("generic_oauth2", "acme_community", "Acme Community Forum", "Customer Care", ("community", "support")),
    DemoAccount("generic_oauth2", "acme_developers", "Acme Developer Forum", "Marketing", ("developers", "community")),
    DemoAccount("x", "acme_ksa", "أكمي السعودية", "Regional Office Riyadh", ("ksa", "arabic", "regional")),
    DemoAccount("instagram", "acme_ksa", "أكمي السعودية", "Regional Office Riyadh", ("ksa", "arabic", "regional")),
    DemoAccount("facebook", "acme_ksa", "أكمي السعودية", "Regional Office Riyadh", ("ksa", "arabic", "regional")),
    DemoAccount("x", "acme_uae", "أكمي الإمارات", "Regional Office Dubai", ("uae", "arabic", "regional")),
    DemoAccount("instagram", "acme_uae", "أكمي الإمارات", "Regional Office Dubai", ("uae", "arabic", "regional")),
    DemoAccount("linkedin", "acme_mena", "Acme Middle East & Africa", "Regional Office Dubai", ("mena", "regional", "careers")),
    DemoAccount("tiktok", "acme_arabia", "أكمي العربية", "Regional Office Dubai", ("arabic", "campaign", "رمضان")),
    DemoAccount("youtube", "acme_arabic", "أكمي بالعربية", "Regional Office Dubai", ("arabic", "video")),
    DemoAccount("facebook", "acme_egypt", "أكمي مصر", "Regional Office Cairo", ("egypt", "arabic", "regional")),
    DemoAccount("x", "acme_israel", "אקמי ישראל", "Regional Office Tel Aviv", ("israel", "hebrew", "regional")),
    DemoAccount("facebook", "acme_israel", "אקמי ישראל", "Regional Office Tel Aviv", ("israel", "hebrew", "regional")),
    DemoAccount("instagram", "acme_israel", "אקמי ישראל", "Regional Office Tel Aviv", ("israel", "hebrew", "regional")),
    DemoAccount("linkedin", "acme_israel_careers", "אקמי ישראל – קריירה", "Regional Office Tel Aviv", ("hebrew", "careers")),
    DemoAccount("tiktok", "acme_il", "אקמי ישראל", "Regional Office Tel Aviv", ("hebrew", "video")),
    DemoAccount("threads", "acme_israel", "אקמי ישראל", "Regional Office Tel Aviv", ("hebrew",), AccountStatus.SUSPENDED),
    DemoAccount("x", "acme_uk", "Acme UK", "Regional Office London", ("uk", "regional")),
    DemoAccount("facebook", "acme_uk", "Acme UK", "Regional Office London", ("uk", "regional")),
    DemoAccount("x", "acme_us", "Acme USA", "Regional Office New York", ("us", "regional")),
    DemoAccount("instagram", "acme_us", "Acme USA", "Regional Office New York", ("us", "regional")),
    DemoAccount("x", "acme_promo2019", "Acme Summer Promo 2019", "Marketing", ("campaign", "legacy"), AccountStatus.SUSPENDED),
    DemoAccount("instagram", "acme_deals", "Acme Deals", "Marketing", ("shadow-it",), AccountStatus.UNMANAGED),
    DemoAccount("facebook", "acme_jeddah_fans", "أكمي جدة", "Regional Office Riyadh", ("shadow-it", "arabic"), AccountStatus.UNMANAGED),
    DemoAccount("tiktok", "acme_hr_fun", "Acme HR Team", "HR", ("shadow-it",), AccountStatus.UNMANAGED),
)
# Created, granted, then retired through the service, so its grants show as revoked by the retirement.
RETIRED_ACCOUNT = DemoAccount("x", "acme_worldcup2022", "Acme World Cup 2022", "Marketing", ("campaign", "legacy"))
RETIRED_REASON = "Campaign ended; account archived and password rotated"

# Brand accounts are staffed from the social media team as well as their own unit.
SHARED_UNITS = ("Social Media", "Communications")

GRANT_REASONS = {
    GrantRole.ADMIN: (
        "Deputy account owner for {unit}",
        "Platform administrator for the {unit} team",
        "Break-glass administrator (IT on-call)",
    ),
    GrantRole.PUBLISHER: (
        "Publishes the daily content calendar for {unit}",
        "Q3 product launch campaign",
        "Covers the newsroom rota",
        "Ramadan campaign content",
        "Posts event coverage for {unit}",
    ),
    GrantRole.MODERATOR: (
        "Moderates comments and direct messages",
        "Customer care escalations from {unit}",
        "Weekend moderation rota",
    ),
    GrantRole.ANALYST: (
        "Monthly performance reporting for {unit}",
        "Social listening for brand health",
        "Campaign analytics for the agency review",
    ),
}
EXTRA_ROLE_WEIGHTS = ((GrantRole.PUBLISHER, 40), (GrantRole.MODERATOR, 25), (GrantRole.ANALYST, 25), (GrantRole.ADMIN, 10))
REVOKE_REASONS = (
    "Moved to another department",
    "Access review: not used in 90 days",
    "Agency contract ended",
    "No longer on the campaign team",
    "Requested by the account owner",
)
REVOKED_COUNT = 5


@dataclass
class _Org:
    people: list[Person] = field(default_factory=list)
    by_department: dict[str, list[Person]] = field(default_factory=dict)
    reports: dict[int, int] = field(default_factory=dict)  # person id -> number of direct reports


def seed_demo_data(session: Session, random_seed: int) -> str:
    """Create the demo organisation, accounts and grants through the services; a no-op if already seeded."""
    existing = session.scalar(select(func.count(Person.id)).where(Person.source == PersonSource.DEMO))
    if existing:
        return f"demo data already present ({existing} demo people); nothing changed"
    rng = random.Random(random_seed)
    now = utcnow()
    org = _seed_people(session, rng)
    leavers = _choose_leavers(rng, org)
    accounts = _seed_accounts(session, rng, org, leavers)
    _seed_grants(session, rng, org, accounts, leavers, now)
    shown = demo_flows.FlowSummary()
    shown.departures = _offboard(session, rng, leavers, accounts, now)
    _seed_retired_account(session, rng, org, leavers)
    users = {email: ensure_console_user(session, ACTOR, email, name, role, person_id=_console_person(org, email).id)
             for email, name, role in CONSOLE_USERS}
    _seed_access_review(session, accounts, now)
    _seed_flows(session, users, shown, accounts, now)
    return _summary(session, random_seed, len(org.people), len(leavers), len(accounts) + 1) + f"; {shown}"


def _console_person(org: _Org, email: str) -> Person:
    """The person each demo console user is: a director or VP, never a leaver (leavers are individual contributors)."""
    department, index = CONSOLE_PEOPLE[email]
    return org.by_department[department][index]


def _seed_flows(session: Session, users: dict[str, ConsoleUser], summary: demo_flows.FlowSummary,
                accounts: Sequence[SocialAccount], now: datetime) -> None:
    """What every flow needs to be tried at once: directory sync runs, the demo network connected with posts held and
    a scan's violations, a post for three accounts waiting for a two-step approval, a TOTP login and a break-glass
    checkout."""
    admin, governance = users["admin@govern.demo"], users["governance@govern.demo"]
    summary.sync_runs = demo_flows.sync_runs(session, ACTOR)
    admin_person, governance_person = session.get(Person, admin.person_id), session.get(Person, governance.person_id)
    demo_accounts = demo_flows.seed_demo_network(session, ACTOR, summary, admin, admin_person,
                                                 [admin_person, governance_person])
    post = demo_flows.governed_post(session, ACTOR, users["it@govern.demo"], [admin_person], accounts, now)
    summary.posts_awaiting_approval = 1 if post is not None else 0
    demo_flows.crisis_runbook(session, governance, admin)
    demo_flows.legacy_login(session, ACTOR, demo_accounts[0], admin, governance)


def _seed_access_review(session: Session, accounts: Sequence[SocialAccount], now: datetime) -> None:
    """An open access review of one business unit, and a console user for its first account's owner to answer it."""
    from govern.reviews.models import ScopeKind
    from govern.reviews.service import ReviewSettings, open_campaign

    owned = next(a for a in accounts if a.owner is not None and a.owner.status == PersonStatus.ACTIVE and a.business_unit)
    ensure_console_user(session, ACTOR, REVIEWER_EMAIL, owned.owner.display_name, Role.REVIEWER, person_id=owned.owner.id)
    open_campaign(session, ACTOR, ReviewSettings(), name=f"Quarterly access review: {owned.business_unit}",
                  scope_kind=ScopeKind.BUSINESS_UNIT, scope_value=owned.business_unit, deadline=now + timedelta(days=14))


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


def _pick_name(rng: random.Random, department: str) -> tuple[str, str, str]:
    """(display name in its own script, ascii first, ascii last)."""
    english, arabic, _hebrew = SCRIPT_MIX.get(department, CENTRAL_MIX)
    roll = rng.random()
    if roll < english:
        first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
        return f"{first} {last}", _ascii(first), _ascii(last)
    pool_first, pool_last = (ARABIC_FIRST, ARABIC_LAST) if roll < english + arabic else (HEBREW_FIRST, HEBREW_LAST)
    (first, first_ascii), (last, last_ascii) = rng.choice(pool_first), rng.choice(pool_last)
    return f"{first} {last}", first_ascii, last_ascii


class _People:
    """Creates people top-down, so each one's manager already exists and is set in the same upsert."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session, self.rng = session, rng
        self.usernames: set[str] = set()
        self.org = _Org()

    def add(self, display_name: str, base_username: str, department: str, manager: Person | None) -> Person:
        username, n = base_username, 1
        while username in self.usernames:
            n += 1
            username = f"{base_username}{n}"
        self.usernames.add(username)
        external_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))  # like an entryUUID/objectGUID
        person = upsert_person(
            self.session, ACTOR, PersonSource.DEMO, external_id,
            username=username, email=f"{username}@{EMAIL_DOMAIN}", display_name=display_name,
            department=department, dn=f"uid={username},ou={department},{BASE_DN}",
            manager_id=manager.id if manager else None,
        )
        self.org.people.append(person)
        self.org.by_department.setdefault(department, []).append(person)
        if manager is not None:
            self.org.reports[manager.id] = self.org.reports.get(manager.id, 0) + 1
        return person

    def add_random(self, department: str, manager: Person) -> Person:
        display_name, first, last = _pick_name(self.rng, department)
        return self.add(display_name, f"{first}.{last}", department, manager)


def _seed_people(session: Session, rng: random.Random) -> _Org:
    people = _People(session, rng)
    ceo = people.add(CEO[0], CEO[1], EXECUTIVE_OFFICE[0], None)
    for _ in range(EXECUTIVE_OFFICE[1]):
        people.add_random(EXECUTIVE_OFFICE[0], ceo)
    for division in DIVISIONS:
        vp = people.add(division.vp_name[0], division.vp_name[1], division.vp_department, ceo)
        for department, headcount in division.departments:
            director = people.add_random(department, vp)
            staff = headcount - 1
            manager_count = max(1, math.ceil(staff / (STAFF_PER_MANAGER + 1)))
            managers = [people.add_random(department, director) for _ in range(manager_count)]
            for n in range(staff - manager_count):
                people.add_random(department, managers[n % manager_count])
    return people.org


def _choose_leavers(rng: random.Random, org: _Org) -> list[Person]:
    """Leavers are individual contributors, so nobody is left reporting to someone who has gone."""
    individual_contributors = [p for p in org.people if p.manager_id is not None and p.id not in org.reports]
    return rng.sample(individual_contributors, LEAVER_COUNT)


def _active_in(org: _Org, leavers: Sequence[Person], *departments: str) -> list[Person]:
    gone = {p.id for p in leavers}
    return [p for d in departments for p in org.by_department.get(d, []) if p.id not in gone]


def _create_account(session: Session, rng: random.Random, org: _Org, leavers: Sequence[Person], spec: DemoAccount) -> SocialAccount:
    owner = None
    if spec.status != AccountStatus.UNMANAGED:  # an unmanaged account is one nobody has claimed yet
        senior = [p for p in _active_in(org, leavers, spec.business_unit) if p.id in org.reports]
        owner = rng.choice(senior or _active_in(org, leavers, spec.business_unit))
    return create_account(
        session, ACTOR, spec.network, handle=spec.handle, display_name=spec.display_name,
        business_unit=spec.business_unit, owner_id=owner.id if owner else None,
        tags=list(spec.tags), status=spec.status,
    )


def _seed_accounts(session: Session, rng: random.Random, org: _Org, leavers: Sequence[Person]) -> list[SocialAccount]:
    return [_create_account(session, rng, org, leavers, spec) for spec in ACCOUNTS]


def _candidates(org: _Org, leavers: Sequence[Person], account: SocialAccount) -> list[Person]:
    units = (account.business_unit,) if account.business_unit in SHARED_UNITS else (account.business_unit, *SHARED_UNITS)
    return _active_in(org, leavers, *units)


def _reason(rng: random.Random, role: GrantRole, account: SocialAccount) -> str:
    return rng.choice(GRANT_REASONS[role]).format(unit=account.business_unit)


def _grant_people(
    session: Session, rng: random.Random, org: _Org, leavers: Sequence[Person], account: SocialAccount, count: int,
) -> list[Grant]:
    """The owner as admin, then others from the unit (and the shared social teams) in assorted roles."""
    made: list[Grant] = []
    if account.owner_id is not None:
        made.append(create_grant(session, ACTOR, account.owner_id, account.id, GrantRole.ADMIN, "Account owner"))
    pool = [p for p in _candidates(org, leavers, account) if p.id != account.owner_id]
    roles, weights = zip(*EXTRA_ROLE_WEIGHTS)
    for person in rng.sample(pool, min(count - len(made), len(pool))):
        role = rng.choices(roles, weights)[0]
        made.append(create_grant(session, ACTOR, person.id, account.id, role, _reason(rng, role, account)))
    return made


def _seed_grants(
    session: Session, rng: random.Random, org: _Org, accounts: Sequence[SocialAccount], leavers: Sequence[Person], now: datetime,
) -> None:
    revocable: list[Grant] = []
    for account in accounts:
        if account.status == AccountStatus.UNMANAGED:
            continue  # nobody was ever given access through govern: that is what makes it unmanaged
        granted = _grant_people(session, rng, org, leavers, account, rng.randint(2, 6))
        revocable.extend(g for g in granted if g.person_id != account.owner_id)
        _time_limited_grants(session, rng, org, leavers, account, now)
    for grant in rng.sample(revocable, REVOKED_COUNT):
        revoke_grant(session, ACTOR, grant.id, rng.choice(REVOKE_REASONS))


def _time_limited_grants(
    session: Session, rng: random.Random, org: _Org, leavers: Sequence[Person], account: SocialAccount, now: datetime,
) -> None:
    """Campaign access: some running until a date, some long expired, some starting later."""
    taken = set(session.scalars(select(Grant.person_id).where(Grant.account_id == account.id)))
    pool = [p for p in _candidates(org, leavers, account) if p.id not in taken]
    if rng.random() < 0.35 and pool:
        person = pool.pop(rng.randrange(len(pool)))
        create_grant(
            session, ACTOR, person.id, account.id, GrantRole.PUBLISHER, "Campaign cover until the launch wraps up",
            expires_at=now + timedelta(days=rng.randint(7, 120)),
        )
    if rng.random() < 0.35 and pool:
        person = pool.pop(rng.randrange(len(pool)))
        grant = create_grant(
            session, ACTOR, person.id, account.id, rng.choice((GrantRole.PUBLISHER, GrantRole.ANALYST)),
            "Temporary access for a finished campaign",
        )
        # Demo data only: create_grant rightly refuses an expiry in the past, so the grant is made
        # normally and then moved back in time, to show how expired grants look. Its audit event
        # keeps the original window; real code never edits a grant's window outside the service.
        grant.starts_at = now - timedelta(days=rng.randint(90, 400))
        grant.expires_at = now - timedelta(days=rng.randint(1, 60))
        session.flush()
    if rng.random() < 0.12 and pool:
        starts = now + timedelta(days=rng.randint(2, 21))
        create_grant(
            session, ACTOR, rng.choice(pool).id, account.id, GrantRole.MODERATOR, "Holiday cover for the moderation rota",
            starts_at=starts, expires_at=starts + timedelta(days=rng.randint(14, 45)),
        )


def _offboard(session: Session, rng: random.Random, leavers: Sequence[Person], accounts: Sequence[SocialAccount], now: datetime) -> int:
    """The leavers depart as the directory sync departs people; a few held access, which their departure revoked."""
    sla_hours = app_services.settings().leaver_revocation_sla_hours
    managed = [a for a in accounts if a.status == AccountStatus.ACTIVE]
    departed = 0
    for n, person in enumerate(leavers):
        left_at = now - timedelta(days=rng.randint(3, 180), hours=rng.randint(0, 23))
        if n < 4:
            account = rng.choice([a for a in managed if a.business_unit == person.department] or managed)
            grant = create_grant(session, ACTOR, person.id, account.id, GrantRole.PUBLISHER, _reason(rng, GrantRole.PUBLISHER, account))
            grant.starts_at = left_at - timedelta(days=rng.randint(120, 700))  # demo data only: held long before leaving
        departed += demo_flows.depart_on(session, ACTOR, rng, person, left_at, sla_hours) is not None
    return departed


def _seed_retired_account(session: Session, rng: random.Random, org: _Org, leavers: Sequence[Person]) -> None:
    account = _create_account(session, rng, org, leavers, RETIRED_ACCOUNT)
    _grant_people(session, rng, org, leavers, account, 3)
    retire_account(session, ACTOR, account.id, RETIRED_REASON)


def _summary(session: Session, random_seed: int, people: int, leavers: int, accounts: int) -> str:
    now = utcnow()  # after the seed: grants made during it start at their own creation time
    states: dict[str, int] = {}
    demo_grants = select(Grant).join(Grant.person).where(Person.source == PersonSource.DEMO)
    for grant in session.scalars(demo_grants).unique():
        state = grant.state_at(now)
        states[state] = states.get(state, 0) + 1
    total = sum(states.values())
    by_state = ", ".join(f"{states.get(s, 0)} {s}" for s in ("active", "scheduled", "expired", "revoked"))
    return (
        f"demo data created (seed {random_seed}): {people} people ({leavers} leavers), {accounts} accounts, "
        f"{total} grants ({by_state}), {len(CONSOLE_USERS) + 1} console users, 1 open access review"
    )
