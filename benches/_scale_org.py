"""Builds the large organisation of benches/scale.py through govern's own code, and caches it as PostgreSQL templates.

Imported by benches/scale.py (this file does nothing when run on its own). How and why: docs/decisions/0040.

People come in through the directory sync (`sync_full_from` over an in-memory directory: the same service a real
LDAP read feeds), accounts and grants through their services one by one, leavers through a second full sync that
disables them (the product's departure flow revokes their grants), and the activity that fills the trail through
`record_many`, govern's batched audit append, with a signed checkpoint every 1,000 events as the scheduler would.
The build runs on a clock that starts a year back, so that "a year" of reports and evidence covers the whole trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql

BUILDER_VERSION = "1"
ADMIN_CONNINFO = os.environ.get("GOVERN_SCALE_ADMIN_CONNINFO", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PREFIX = os.environ.get("GOVERN_SCALE_PREFIX", "govern_scale")  # template databases: <prefix>_org_full, <prefix>_10m, ...
CACHE_DIR = Path(os.environ.get("GOVERN_SCALE_CACHE", Path.home() / ".cache" / "govern-scale"))
SECRET_KEY = "scale-bench-secret-key-" + "s" * 24
CHECKPOINT_EVERY = 1000
FILL_BATCH = 500

FIRST = ("Dana", "Omar", "Noa", "Uri", "Maya", "Sami", "James", "Emma", "ليلى", "عمر", "يوسف", "نور", "فاطمة",
         "נועה", "אורי", "דנה", "איתי", "מיכל")
LAST = ("Khoury", "Haddad", "Cohen", "Levi", "Mizrahi", "Smith", "Jones", "Taylor", "الخطيب", "حداد", "العلي",
        "כהן", "לוי", "מזרחי")
DEPARTMENTS = ("Marketing", "Communications", "Support", "Sales", "التسويق", "الاتصالات", "שיווק", "תקשורת")
UNITS = ("Brand", "Retail", "Careers", "Investor Relations", "العلامة التجارية", "التجزئة", "מותג", "קמעונאות")
ROLES = ("admin", "publisher", "moderator", "analyst")


@dataclass(frozen=True)
class OrgSize:
    """How big the organisation is; `in_force` grants stay in force, the rest expired, revoked or leavers'."""

    name: str
    people: int
    accounts: int
    grants: int
    in_force: int
    expired: int
    leavers: int
    big_account_grants: int
    owner_accounts: int

    @property
    def grants_per_person(self) -> int:
        return -(-self.grants // self.people)


ORGS = {
    "full": OrgSize("full", people=100_000, accounts=5_000, grants=300_000, in_force=230_000, expired=30_000,
                    leavers=3_000, big_account_grants=5_000, owner_accounts=100),
    # small enough that today's whole-table PDFs and bundles still finish in seconds: a smoke run, not a figure
    "quick": OrgSize("quick", people=200, accounts=20, grants=600, in_force=460, expired=60,
                     leavers=6, big_account_grants=40, owner_accounts=5),
}
# events in the trail: the org's own events first, then activity up to this many
EVENT_SIZES = {"2m": ("full", 2_000_000), "10m": ("full", 10_000_000), "quick": ("quick", 20_000)}


# --- the clock --------------------------------------------------------------------------------
class BuildClock:
    """govern reads the time through govern.db.utcnow; the build moves that clock through the year it simulates.

    Only the build process is affected: govern.db's `datetime` is replaced by a subclass whose now() reads this
    clock (column defaults and every module that imported utcnow go through the same function).
    """

    def __init__(self) -> None:
        self.moment: datetime | None = None
        self._original = None

    def __enter__(self) -> BuildClock:
        import govern.db

        clock = self
        original = govern.db.datetime

        class ClockDatetime(original):  # type: ignore[misc, valid-type]
            @classmethod
            def now(cls, tz=None):
                if clock.moment is None:
                    return original.now(tz)
                return clock.moment if tz is None else clock.moment.astimezone(tz)

        self._original = original
        govern.db.datetime = ClockDatetime
        return self

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def __exit__(self, *exc) -> None:
        import govern.db

        govern.db.datetime = self._original


# --- the directory ----------------------------------------------------------------------------
def person_key(n: int) -> str:
    return str(uuid.UUID(int=n + 1))


def leaver_numbers(size: OrgSize) -> list[int]:
    """Leavers are evenly spread people below the top tenth (nobody reports to them: person n reports to (n-1)//10)."""
    first = size.people // 10 + 1
    step = (size.people - first) // size.leavers
    return [first + k * step for k in range(size.leavers)]


class GeneratedDirectory:
    """A directory of `people` entries (the Directory protocol govern's LDAP and AD adapters implement)."""

    source = "openldap"
    service_account = None

    def __init__(self, size: OrgSize, departed: set[int] = frozenset(), changed_at: datetime | None = None) -> None:
        self.size, self.departed, self.changed_at = size, departed, changed_at

    def entry(self, n: int):
        from govern.adapters.directory import DirectoryEntry

        rng = random.Random(n)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        gone = n in self.departed
        return DirectoryEntry(
            key=person_key(n), dn=f"uid=u{n:06d},ou=people,dc=example,dc=com", username=f"u{n:06d}",
            display_name=name, email=f"u{n:06d}@example.com", department=DEPARTMENTS[n % len(DEPARTMENTS)],
            manager_key=person_key((n - 1) // 10) if n else None, active=not gone,
            leaver_signals=("account_disabled",) if gone else (), changed_at=self.changed_at if gone else None,
        )

    def check(self) -> None:
        return None

    def all_entries(self, page_size: int = 500) -> Iterator:
        return (self.entry(n) for n in range(self.size.people))

    def changes_since(self, cursor: str | None):
        from govern.adapters.directory import ChangeBatch

        return ChangeBatch(cursor=None)

    def authenticate(self, username: str, password: str):
        return None


# --- the plan of grants -----------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedGrant:
    index: int
    person: int  # person number (not id)
    account: int  # account number
    role: str
    expires: bool


def planned_grants(size: OrgSize) -> list[PlannedGrant]:
    """Every person holds a few grants; account 0 has `big_account_grants` holders; no person holds one account twice."""
    plan, index = [], 0
    rounds = size.grants_per_person
    for person in range(size.people):
        used: set[int] = set()
        for round_ in range(rounds):
            if index >= size.grants:
                return plan
            account = 0 if round_ == 0 and person < size.big_account_grants else (person * 31 + round_ * 1237) % size.accounts
            while account in used or (account == 0 and person >= size.big_account_grants):
                account = (account + 1) % size.accounts
            used.add(account)
            plan.append(PlannedGrant(index, person, account, ROLES[(person + round_) % 4], expires=False))
            index += 1
    return plan


def grant_fates(size: OrgSize, plan: list[PlannedGrant]) -> tuple[set[int], set[int]]:
    """(grant indexes that expire, grant indexes revoked by hand): leavers' grants are revoked by their departure."""
    leavers = set(leaver_numbers(size))
    others = [grant.index for grant in plan if grant.person not in leavers and grant.account != 0]
    by_leavers = len(plan) - len([grant for grant in plan if grant.person not in leavers])
    revoked_by_hand = size.grants - size.in_force - size.expired - by_leavers
    if revoked_by_hand < 0:
        raise ValueError("the size leaves no room for the leavers' grants")
    step = len(others) / (size.expired + revoked_by_hand)
    chosen = [others[int(k * step)] for k in range(size.expired + revoked_by_hand)]
    random.Random(5).shuffle(chosen)
    return set(chosen[:size.expired]), set(chosen[size.expired:])


def account_owner(size: OrgSize, number: int, leavers: set[int]) -> int:
    """Person number owning account `number`: one owner (person 1, a manager) holds the first `owner_accounts`."""
    if number < size.owner_accounts:
        return 1
    owner = (number * 37 + 11) % size.people
    while owner in leavers:
        owner = (owner + 1) % size.people
    return owner


# --- template databases -----------------------------------------------------------------------
@dataclass
class Built:
    """What a template holds, kept as JSON in the database's comment."""

    builder_version: str
    built_head: str
    key: str
    org: str
    events: int
    reference: str  # the build's "now": the year simulated ends here
    keys_dir: str
    counts: dict
    seconds: float

    @property
    def year(self) -> tuple[datetime, datetime]:
        end = datetime.fromisoformat(self.reference)
        return end - timedelta(days=365), end


def admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_CONNINFO, autocommit=True)


def database_exists(name: str) -> bool:
    with admin() as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def read_built(name: str) -> Built | None:
    with admin() as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not row or not row[0]:
        return None
    try:
        return Built(**json.loads(row[0]))
    except (TypeError, ValueError):
        return None


def drop_database(name: str) -> None:
    with admin() as connection:
        connection.execute(sql.SQL("UPDATE pg_database SET datistemplate = false WHERE datname = {}").format(sql.Literal(name)))
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def clone_database(template: str, name: str) -> float:
    """CREATE DATABASE ... TEMPLATE with FILE_COPY (PostgreSQL 15's default WAL_LOG writes the whole copy to WAL)."""
    drop_database(name)
    started = time.perf_counter()
    with admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY = FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(template)))
    return time.perf_counter() - started


def seal_template(building: str, name: str, built: Built) -> None:
    drop_database(name)
    with admin() as connection:
        connection.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name)))
        connection.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(asdict(built)))))
        connection.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(sql.Identifier(name)))


def url_of(database: str) -> str:
    parts = dict(part.split("=", 1) for part in ADMIN_CONNINFO.split())
    return f"postgresql+psycopg://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:{parts.get('port', '5432')}/{database}"


def migration_heads() -> list[str]:
    from alembic.script import ScriptDirectory

    from govern.cli import alembic_config

    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def known_revision(revision: str) -> bool:
    """Whether this tree's migrations include `revision` (so `govern db upgrade` can bring a clone up from it)."""
    from alembic.script import ScriptDirectory

    from govern.cli import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - an unknown or ambiguous revision is simply not reusable
        return False


def usable(built: Built | None, size: OrgSize, events: int = 0) -> bool:
    """A template is reused when this builder made it, for this size, at a migration this tree can upgrade from,
    and its signing key is still in the cache (the key is what lets `govern audit verify` check its checkpoints)."""
    if built is None or built.builder_version != BUILDER_VERSION or built.org != size.name or built.events != events:
        return False
    counts = built.counts
    if (counts.get("people"), counts.get("accounts"), counts.get("grants")) != (size.people, size.accounts, size.grants):
        return False
    return known_revision(built.built_head) and Path(built.keys_dir).is_dir()


def template_name(events: str) -> str:
    return f"{PREFIX}_{events}"


def org_template_name(org_name: str) -> str:
    return f"{PREFIX}_org_{org_name}"


def _app(url: str, keys_dir: Path):
    from govern import create_app

    instance = Path(tempfile.mkdtemp(prefix="govern-scale-build-"))
    return create_app({"database_url": url, "secret_key": SECRET_KEY, "instance_path": instance, "log_level": "WARNING",
                       "audit_signing_key_dir": str(keys_dir)})


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- building the organisation ----------------------------------------------------------------
def build_org(size: OrgSize, rebuild: bool = False, say: Callable[[str], None] = _say) -> Built:
    """The organisation without the activity that fills the trail: template govern_scale_org_<size>."""
    name = org_template_name(size.name)
    built = read_built(name)
    if usable(built, size) and (not rebuild or name in _REBUILT):
        return built
    from alembic import command as alembic_command

    from govern.cli import alembic_config

    started = time.perf_counter()
    building = f"{name}_building"
    drop_database(building)
    with admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
    url = url_of(building)
    alembic_command.upgrade(alembic_config(url), "head")
    head = migration_heads()[0]
    reference = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    keys_dir = CACHE_DIR / f"keys-{size.name}-{reference:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    keys_dir.mkdir(parents=True, exist_ok=True)
    app = _app(url, keys_dir)
    with BuildClock() as clock, app.app_context():
        counts = _populate(size, reference, clock, say)
    from govern.extensions import db

    with app.app_context():
        db.engine.dispose()
    key = hashlib.sha256(f"{head}:{BUILDER_VERSION}:{size.name}".encode()).hexdigest()[:12]
    built = Built(BUILDER_VERSION, head, key, size.name, 0, reference.isoformat(), str(keys_dir), counts,
                  round(time.perf_counter() - started, 1))
    seal_template(building, name, built)
    _REBUILT.add(name)
    say(f"organisation '{size.name}' built in {built.seconds:.0f} s: {counts}")
    return built


_REBUILT: set[str] = set()  # --rebuild of 2m and 10m builds their organisation once


def _commit_and_seal(signer) -> None:
    from govern.audit import checkpoints
    from govern.extensions import db

    checkpoints.sign_checkpoint(db.session, signer)
    db.session.commit()


def _populate(size: OrgSize, reference: datetime, clock: BuildClock, say) -> dict:
    import sqlalchemy as sa

    from govern.accounts import service as accounts
    from govern.accounts.models import Network, SocialAccount
    from govern.actor import Actor
    from govern.audit.signing import current_signer
    from govern.directory import service as directory
    from govern.extensions import db
    from govern.grants import service as grants
    from govern.grants.models import Grant, GrantRole
    from govern.people.models import Person

    start = reference - timedelta(days=365)
    signer = current_signer()
    session = db.session

    # people: one full directory sync
    clock.set(start + timedelta(hours=1))
    actor = Actor.system("directory-sync")
    timer = time.perf_counter()
    run = directory.sync_full_from(session, actor, GeneratedDirectory(size))
    _commit_and_seal(signer)
    say(f"people: {run.status.value} {run.counts} in {time.perf_counter() - timer:.0f} s")
    ids = dict(session.execute(sa.select(Person.external_id, Person.id)).all())
    person_id = [ids[person_key(n)] for n in range(size.people)]

    # accounts
    clock.set(start + timedelta(hours=2))
    timer = time.perf_counter()
    admin_actor = Actor("console_user:1", "Scale Admin")
    networks = list(session.scalars(sa.select(Network.key).order_by(Network.id)))
    leavers = set(leaver_numbers(size))
    account_id = []
    for number in range(size.accounts):
        rng = random.Random(-number - 1)
        account = accounts.create_account(
            session, admin_actor, networks[number % len(networks)], handle=f"scale{number:05d}",
            display_name=f"{rng.choice(UNITS)} {rng.choice(FIRST)} {number}", business_unit=UNITS[number % len(UNITS)],
            owner_id=person_id[account_owner(size, number, leavers)], tags=[f"t{number % 7}"])
        account_id.append(account.id)
        if (number + 1) % 1000 == 0:
            _commit_and_seal(signer)
    _commit_and_seal(signer)
    say(f"accounts: {size.accounts} in {time.perf_counter() - timer:.0f} s")

    # grants, over the first month; the ones that expire end 90 days after they start
    plan = planned_grants(size)
    expiring, revoked = grant_fates(size, plan)
    timer = time.perf_counter()
    grant_id: dict[int, int] = {}
    chunk = 3000
    for first in range(0, len(plan), chunk):
        clock.set(start + timedelta(hours=3) + timedelta(days=25) * first / len(plan))
        part = plan[first:first + chunk]
        holders = {person_id[grant.person] for grant in part}
        held = list(session.scalars(sa.select(Person).where(Person.id.in_(sorted(holders)))))  # noqa: F841 - in the identity map
        held_accounts = list(session.scalars(sa.select(SocialAccount)))  # noqa: F841
        for grant in part:
            made = grants.create_grant(
                session, admin_actor, person_id[grant.person], account_id[grant.account], GrantRole(grant.role),
                reason=f"needs {grant.role} for the {UNITS[grant.account % len(UNITS)]} team",
                expires_at=clock.moment + timedelta(days=90) if grant.index in expiring else None)
            grant_id[grant.index] = made.id
        _commit_and_seal(signer)
        del held, held_accounts
        if first // chunk % 10 == 0:
            say(f"grants: {first + len(part):,}/{len(plan):,} ({time.perf_counter() - timer:.0f} s)")
    say(f"grants: {len(plan):,} in {time.perf_counter() - timer:.0f} s")

    # revocations by hand, over the following days
    timer = time.perf_counter()
    order = sorted(revoked)
    for first in range(0, len(order), chunk):
        clock.set(start + timedelta(days=26) + timedelta(days=3) * first / max(1, len(order)))
        part = [grant_id[index] for index in order[first:first + chunk]]
        loaded = list(session.scalars(sa.select(Grant).where(Grant.id.in_(part))).unique())  # noqa: F841
        for grant in part:
            grants.revoke_grant(session, admin_actor, grant, "no longer needed (access review)")
        _commit_and_seal(signer)
    say(f"revocations: {len(order):,} in {time.perf_counter() - timer:.0f} s")

    # leavers: the directory disables them; the next full sync departs them (and the product revokes their access)
    clock.set(start + timedelta(days=30))
    timer = time.perf_counter()
    run = directory.sync_full_from(session, actor, GeneratedDirectory(size, set(leavers), changed_at=clock.moment))
    _commit_and_seal(signer)
    say(f"leavers: {run.status.value} {run.counts} in {time.perf_counter() - timer:.0f} s")
    clock.set(None)
    return org_counts(session)


def org_counts(session) -> dict:
    import sqlalchemy as sa

    return dict(session.execute(sa.text("""
        SELECT (SELECT count(*) FROM people) AS people,
               (SELECT count(*) FROM people WHERE status = 'leaver') AS leavers,
               (SELECT count(*) FROM social_accounts) AS accounts,
               (SELECT count(*) FROM grants) AS grants,
               (SELECT count(*) FROM grants WHERE revoked_at IS NULL AND starts_at <= now()
                   AND (expires_at IS NULL OR expires_at > now())) AS grants_in_force,
               (SELECT count(*) FROM grants WHERE revoked_at IS NOT NULL) AS grants_revoked,
               (SELECT count(*) FROM grants WHERE revoked_at IS NULL AND expires_at <= now()) AS grants_expired,
               (SELECT last_seq FROM audit_chain_head WHERE id = 1) AS events,
               (SELECT count(*) FROM audit_checkpoints) AS checkpoints
    """)).mappings().one())


# --- filling the trail ------------------------------------------------------------------------
def build_events(events: str, rebuild: bool = False, say: Callable[[str], None] = _say) -> Built:
    """Template govern_scale_<events>: the organisation plus activity up to the number of events, over the year."""
    org_name, target = EVENT_SIZES[events]
    name = template_name(events)
    built = read_built(name)
    if usable(built, ORGS[org_name], target) and not rebuild:
        return built
    org = build_org(ORGS[org_name], rebuild=rebuild, say=say)
    started = time.perf_counter()
    building = f"{name}_building"
    clone_database(org_template_name(org_name), building)
    url = url_of(building)
    app = _app(url, Path(org.keys_dir))
    from govern.extensions import db

    with BuildClock() as clock, app.app_context():
        _fill(ORGS[org_name], org, target, clock, say)
        counts = org_counts(db.session)
        db.session.commit()
        db.engine.dispose()
    built = Built(BUILDER_VERSION, org.built_head, hashlib.sha256(f"{org.key}:{events}".encode()).hexdigest()[:12],
                  org_name, target, org.reference, org.keys_dir, counts, round(time.perf_counter() - started, 1))
    _analyze(url)  # the planner's statistics go into the template with the data
    seal_template(building, name, built)
    say(f"trail '{events}' built in {built.seconds:.0f} s: {counts}")
    return built


def _analyze(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM (ANALYZE)"))
    engine.dispose()


ACTIVITY = (
    ("broker:handoff:issue", "account"),
    ("broker:handoff:unwrap", "account"),
    ("broker:connection:refresh", "account"),
    ("credentials:totp:generate", "account"),
    ("people:person:update", "person"),
    ("notifications:notification:read", "notification"),
)


def _fill(size: OrgSize, org: Built, target: int, clock: BuildClock, say) -> None:
    """Append activity with record_many until the chain holds `target` events, from day 31 to the year's end."""
    import sqlalchemy as sa

    from govern.actor import Actor

    from govern.audit.service import EventSpec, record_many
    from govern.audit.signing import current_signer
    from govern.extensions import db

    session, signer = db.session, current_signer()
    start, end = org.year
    first_day = start + timedelta(days=31)
    span = (end - timedelta(hours=1)) - first_day
    account_ids = list(session.scalars(sa.text("SELECT id FROM social_accounts ORDER BY id")))
    person_ids = list(session.scalars(sa.text("SELECT id FROM people WHERE status = 'active' ORDER BY id")))
    head = session.scalar(sa.text("SELECT last_seq FROM audit_chain_head WHERE id = 1"))
    begun, timer, rng = head, time.perf_counter(), random.Random(20261205)
    actors = [Actor(f"console_user:{n}", f"user {n}") for n in range(2, 40)] + [Actor.system("broker")]
    while head < target:
        count = min(FILL_BATCH, target - head)
        clock.set(first_day + span * ((head - begun) / max(1, target - begun)))
        specs = []
        for offset in range(count):
            action, target_type = ACTIVITY[(head + offset) % len(ACTIVITY)]
            if target_type == "account":
                target_id = account_ids[int(len(account_ids) * rng.random() ** 3)]  # a few accounts are busy
                specs.append(EventSpec(action, target_type, target_id, details={"via": "api", "n": head + offset}))
            elif target_type == "person":
                person = person_ids[rng.randrange(len(person_ids))]
                specs.append(EventSpec(action, target_type, person, before={"department": DEPARTMENTS[person % 8]},
                                       after={"department": DEPARTMENTS[(person + 1) % 8]}))
            else:
                specs.append(EventSpec(action, target_type, head + offset, details={"person_id": person_ids[offset % len(person_ids)]}))
        record_many(session, actors[(head // FILL_BATCH) % len(actors)], specs)
        head += count
        if head % CHECKPOINT_EVERY < FILL_BATCH or head >= target:
            _commit_and_seal(signer)
        if head % 500_000 < FILL_BATCH:
            rate = (head - begun) / (time.perf_counter() - timer)
            say(f"trail: {head:,}/{target:,} events ({rate:,.0f}/s)")
    _commit_and_seal(signer)
    clock.set(None)
