"""The demo's flows, seeded through the services: the demo network connected, posts held and blocked, a scan's
violations, departures with their time to revoke, directory sync runs, a TOTP login and a break-glass checkout."""

from __future__ import annotations

import base64
import functools
import logging
import random
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from govern import app_services
from govern.accounts.models import Network, NetworkKind, SocialAccount
from govern.accounts.service import create_account
from govern.actor import Actor
from govern.adapters.directory import DirectoryEntry
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.broker.service import complete_connect, register_network_app, start_connect
from govern.credentials.service import approve_checkout, request_checkout, store_credentials
from govern.demo import network as demo_network
from govern.directory.models import Departure
from govern.directory.service import depart, full_sync
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.people.models import Person, PersonSource, PersonStatus
from govern.publishing.approvals import create_rule
from govern.publishing.models import Post, RuleScope
from govern.publishing.posts import create_post, submit_post
from govern.publishing.scans import ScanReport, scan_account
from govern.runbooks.models import Runbook
from govern.runbooks.service import approve_statement, create_runbook
from govern.publishing.service import PolicyBlocked, Publisher, act
from govern.secret_value import SecretValue

HELD_DEPARTMENT = "Customer Care"  # a full sync that no longer sees this department is held as a mass departure
POSTS_FOR_APPROVAL = (
    ("acme_demo", "Guaranteed returns on every Acme savings plan this quarter!"),
    ("acme_demo_ar", "استثمار بدون مخاطر مع خطط أكمي الجديدة"),
)
POST_BLOCKED = ("acme_demo", "Refund confirmed: card 4111 1111 1111 1111 was credited today.")
POST_CLEAN = ("acme_demo", "Our Dubai office opens on Monday: come and say hello!")
GOVERNED_BUSINESS_UNIT = "Marketing"
GOVERNED_POST_TEXT = "Join us this Thursday for the Acme spring launch, live from Dubai, Tel Aviv and London."
GOVERNED_POST_VARIANTS = {"x": {"text": "Acme spring launch, Thursday: live from Dubai, Tel Aviv and London."}}
CHECKOUT_REASON = "Network support asked us to sign in with the account's own password to restore the page"


@dataclass(frozen=True)
class DemoNetworkAccount:
    identity: demo_network.DemoIdentity
    business_unit: str
    tags: tuple[str, ...]
    connected: bool


DEMO_NETWORK_ACCOUNTS = (
    DemoNetworkAccount(demo_network.IDENTITIES[0], "Social Media", ("demo", "brand"), True),
    DemoNetworkAccount(demo_network.IDENTITIES[1], "Regional Office Dubai", ("demo", "arabic"), True),
    DemoNetworkAccount(demo_network.IDENTITIES[2], "Regional Office Tel Aviv", ("demo", "hebrew"), False),  # left to connect
)


@dataclass
class FlowSummary:
    connected: int = 0
    pending_approvals: int = 0
    posts_awaiting_approval: int = 0
    violations: int = 0
    departures: int = 0
    sync_runs: dict[str, int] = field(default_factory=dict)
    network_served: bool = False

    def __str__(self) -> str:
        if not self.network_served:
            network = "demo network not served (GOVERN_DEMO_NETWORK is off): its accounts are left unconnected"
        else:
            network = (f"demo network: {self.connected} accounts connected, {self.pending_approvals} posts awaiting "
                       f"approval, {self.violations} open violations")
        runs = ", ".join(f"{n} {status}" for status, n in sorted(self.sync_runs.items()))
        return (f"{network}; {self.posts_awaiting_approval} scheduled post awaiting a two-step approval; "
                f"{self.departures} departures; sync runs: {runs}")


def console_actor(user: ConsoleUser) -> Actor:
    return Actor(f"console_user:{user.id}", user.email)


# --- departures and directory sync runs ----------------------------------------------------------------------------
def depart_on(session: Session, actor: Actor, rng: random.Random, person: Person, left_at: datetime,
              sla_hours: float) -> Departure | None:
    """The leaver departs through the directory's one departure path; then the record is moved back to the day they
    left: most lose their access within minutes, about one in five after the SLA, as a real quarter looks."""
    held = list(session.scalars(select(Grant).where(Grant.person_id == person.id, Grant.revoked_at.is_(None))))
    departure = depart(session, actor, person, PersonSource.DEMO.value, ("account_disabled",), left_at)
    if departure is None:
        return None
    late = rng.random() < 0.2
    seconds = rng.uniform(sla_hours * 3600 * 1.2, sla_hours * 3600 * 3) if late else rng.uniform(20, 900)
    # Demo data only: the departure ran today; its timestamps are moved to the day the person left (its audit events
    # keep the real times).
    departure.first_seen_at = left_at + timedelta(seconds=min(seconds, rng.uniform(5, 60)))
    departure.access_removed_at = left_at + timedelta(seconds=seconds)
    departure.time_to_revoke_seconds = seconds
    for grant in held:
        if grant.revoked_at is not None:
            grant.revoked_at = departure.access_removed_at
    session.flush()
    return departure


def _entry(person: Person, keys: dict[int, str]) -> DirectoryEntry:
    return DirectoryEntry(key=person.external_id, dn=person.dn or "", username=person.username,
                          display_name=person.display_name, email=person.email, department=person.department,
                          manager_key=keys.get(person.manager_id) if person.manager_id else None)


def sync_runs(session: Session, actor: Actor) -> dict[str, int]:
    """A full sync that found everyone in place, then one that no longer saw a whole department: held, not applied."""
    people = list(session.scalars(select(Person).where(Person.source == PersonSource.DEMO,
                                                       Person.status == PersonStatus.ACTIVE).order_by(Person.id)).unique())
    keys = {p.id: p.external_id for p in people}
    runs = [full_sync(session, actor, PersonSource.DEMO.value, [_entry(p, keys) for p in people])]
    still_seen = [_entry(p, keys) for p in people if p.department != HELD_DEPARTMENT]
    runs.append(full_sync(session, actor, PersonSource.DEMO.value, still_seen))
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status.value] = counts.get(run.status.value, 0) + 1
    return counts


# --- the demo network ----------------------------------------------------------------------------------------------
def ensure_demo_network(session: Session, actor: Actor, base_url: str) -> Network:
    network = session.scalar(select(Network).where(Network.key == demo_network.NETWORK_KEY))
    if network is None:
        network = Network(key=demo_network.NETWORK_KEY, kind=NetworkKind.GENERIC_OAUTH2, display_name=demo_network.NETWORK_NAME,
                          base_url=base_url + demo_network.PREFIX, built_in=False)
        session.add(network)
        session.flush()
        record(session, actor, "demo:network:add", "network", network.key, kind=network.kind.value,
               base_url=network.base_url)
    return network


def demo_network_accounts(session: Session, actor: Actor, owner: Person, publishers: Sequence[Person]) -> list[SocialAccount]:
    accounts = []
    for spec in DEMO_NETWORK_ACCOUNTS:
        account = create_account(
            session, actor, demo_network.NETWORK_KEY, handle=spec.identity.handle, display_name=spec.identity.name,
            business_unit=spec.business_unit, owner_id=owner.id, tags=list(spec.tags),
        )
        for person in publishers:
            create_grant(session, actor, person.id, account.id, GrantRole.PUBLISHER, "Publishes on the demo network")
        accounts.append(account)
    return accounts


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        pass


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """This app on a free loopback port for the seed's own OAuth round trips (the server is not running yet); its
    requests are not logged, so the seed's output stays a summary."""
    requests_log = logging.getLogger("govern.request")
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), name="demo-seed-network",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        requests_log.setLevel(level)


def _register(session: Session, actor: Actor, root: str) -> None:
    endpoints = {name: url.replace(app_services.settings().base_url, root, 1)
                 for name, url in current_app.extensions[demo_network.EXTENSION].endpoints().items()}
    register_network_app(session, app_services.broker(), actor, demo_network.NETWORK_KEY, demo_network.CLIENT_ID,
                         demo_network_secret(), endpoints, list(demo_network.SCOPES))


def demo_network_secret() -> SecretValue:
    return demo_network.demo_client_secret(current_app.config["SECRET_KEY"])


def connect(session: Session, actor: Actor, account: SocialAccount, identity: demo_network.DemoIdentity) -> None:
    """The connect flow as a person runs it: govern's authorization URL, Allow on the consent page, the callback."""
    context = app_services.broker()
    url = start_connect(session, context, actor, demo_network.NETWORK_KEY, account_id=account.id)
    fields = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    code = demo_network.consent(fields, identity)
    complete_connect(session, context, actor, fields["state"], code)


def publish_flows(session: Session, publisher: Publisher, author: ConsoleUser, accounts: dict[str, SocialAccount]) -> int:
    """Posts from the demo admin: one goes out, two wait for an approver, one is blocked (its attempt is audited)."""
    actor, pending = console_actor(author), 0
    handle, text = POST_CLEAN
    act(session, publisher, actor, author.person_id, accounts[handle].id, "publish", {"text": text})
    for handle, text in POSTS_FOR_APPROVAL:
        outcome = act(session, publisher, actor, author.person_id, accounts[handle].id, "publish", {"text": text})
        pending += outcome.awaiting_approval
    handle, text = POST_BLOCKED
    try:
        act(session, publisher, actor, author.person_id, accounts[handle].id, "publish", {"text": text})
    except PolicyBlocked:
        pass  # refused, as intended; record_stopped put the attempt on the record
    return pending


def seed_demo_network(session: Session, actor: Actor, summary: FlowSummary, admin: ConsoleUser, owner: Person,
                      publishers: Sequence[Person]) -> list[SocialAccount]:
    settings = app_services.settings()
    ensure_demo_network(session, actor, settings.base_url)
    accounts = demo_network_accounts(session, actor, owner, publishers)
    app = current_app._get_current_object()
    if not demo_network.is_registered(app):
        return accounts
    summary.network_served = True
    policy = app_services.policy()
    publisher = Publisher(app_services.broker(), policy)
    by_handle = {account.handle: account for account in accounts}
    with serving(app) as root:
        _register(session, actor, root)
        for spec, account in zip(DEMO_NETWORK_ACCOUNTS, accounts):
            if spec.connected:
                connect(session, actor, account, spec.identity)
                summary.connected += 1
        summary.pending_approvals = publish_flows(session, publisher, admin, by_handle)
        report = ScanReport()
        for spec, account in zip(DEMO_NETWORK_ACCOUNTS, accounts):
            if spec.connected:
                scan_account(session, publisher, actor, account.id, report)
        summary.violations = report.violations
    _register(session, actor, settings.base_url)  # where the served app answers from now on
    return accounts


# --- a governed post: three accounts, a two-step approval, a schedule ---------------------------------------------------
def governed_post(session: Session, actor: Actor, author: ConsoleUser, approvers: Sequence[Person],
                  accounts: Sequence[SocialAccount], now: datetime) -> Post | None:
    """A rule for the brand's accounts (any governance user, then the head of social media) and a post by IT for three of
    them, scheduled for tomorrow morning and waiting for its first step. Needs no network: nothing goes out yet."""
    targets = [a for a in accounts if a.business_unit == GOVERNED_BUSINESS_UNIT and a.retired_at is None][:3]
    if len(targets) < 3:
        return None
    create_rule(session, actor, "Brand accounts: governance, then the head of social media", RuleScope.BUSINESS_UNIT,
                GOVERNED_BUSINESS_UNIT, [{"mode": "any", "roles": [Role.GOVERNANCE.value]},
                                         {"mode": "all", "people": [person.id for person in approvers]}])
    morning = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    author_actor = console_actor(author)
    post = create_post(session, author_actor, author.person_id, [a.id for a in targets], GOVERNED_POST_TEXT,
                       variants=GOVERNED_POST_VARIANTS, scheduled_at=morning)
    publisher = Publisher(app_services.broker(), app_services.policy())
    return submit_post(session, publisher, author_actor, post.id)


# --- a crisis runbook with its holding statements pre-approved ---------------------------------------------------------
HOLDING_STATEMENTS = (
    ("en", "We are aware of reports circulating about Acme and are looking into them urgently. We will share an update "
           "here as soon as we can. Thank you for your patience."),
    ("ar", "نحن على علم بالتقارير المتداولة بشأن أكمي ونتابعها بشكل عاجل. سننشر تحديثًا هنا في أقرب وقت ممكن. "
           "شكرًا لصبركم."),
    ("he", "אנחנו מודעים לדיווחים על אקמי ובודקים אותם בדחיפות. נעדכן כאן בהקדם האפשרי. תודה על הסבלנות."),
)


def crisis_runbook(session: Session, author: ConsoleUser, approver: ConsoleUser) -> Runbook:
    """A brand crisis runbook for every account: governance writes it and its three holding statements, the admin
    approves them (a second person), so a crisis lead can publish one during a pause."""
    author_actor = console_actor(author)
    runbook = create_runbook(session, author_actor, author.person_id, {
        "name": "Brand crisis",
        "description": "A post or a story about Acme spreads fast and needs one answer from every account.",
        "scope": {"type": "all", "value": None},
        "severities": ["watch", "major", "critical"],
        "stages": [{"name": "First hour", "contacts": [{"type": "role", "value": Role.GOVERNANCE.value},
                                                        {"type": "person", "value": str(approver.person_id)}]},
                   {"name": "Executives", "contacts": [{"type": "email", "value": "exec-office@acme.example"}]}],
        "steps": [{"key": "confirm-facts", "title": "Confirm the facts with the owner of the story",
                   "owner": {"type": "role", "value": Role.GOVERNANCE.value}},
                  {"key": "holding-statement", "title": "Publish the holding statement on the affected accounts"},
                  {"key": "brief-executives", "title": "Brief the executive office"}],
        "statements": [{"language": language, "text": text} for language, text in HOLDING_STATEMENTS],
        "pause_on_activate": True,
    })
    for statement in list(runbook.statements):
        approve_statement(session, console_actor(approver), approver.person_id, runbook.id, statement.id)
    return runbook


# --- legacy login: TOTP and a break-glass checkout -------------------------------------------------------------------
def legacy_login(session: Session, actor: Actor, account: SocialAccount, requester: ConsoleUser, approver: ConsoleUser) -> None:
    """The account's own password and TOTP seed in the secret store; the admin checked the password out, governance
    approved it. The values are random and never printed."""
    store = app_services.broker().store
    seed = SecretValue(base64.b32encode(secrets.token_bytes(20)).decode())
    store_credentials(session, store, actor, account.id, f"{account.handle}@acme.example",
                      SecretValue(secrets.token_urlsafe(18)), seed)
    checkout = request_checkout(session, console_actor(requester), requester.person_id, account.id, CHECKOUT_REASON, 240)
    approve_checkout(session, console_actor(approver), approver.person_id, Role.GOVERNANCE, checkout.id)
