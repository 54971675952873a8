"""The leavers report: when the directory changed, when govern saw it, when each access went, and the SLA."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select, union
from sqlalchemy.orm import Session

from govern.accounts.models import SocialAccount
from govern.directory.models import Departure, OffboardingTask
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.reports.builders.common import hours_between, median
from govern.reports.document import Chart, Period, ReportParts, Section, Text

BUCKETS = ("under 1 h", "1 to 4 h", "4 to 24 h", "over 24 h", "not yet revoked")


@dataclass
class Leaver:
    person: Person
    source: str
    departure_id: int | None
    directory_changed_at: datetime | None
    seen_at: datetime | None
    removals: list[tuple]  # (kind, network, account, role_or_task, removed_at or None)

    @property
    def started_at(self) -> datetime | None:
        return self.directory_changed_at or self.seen_at

    @property
    def pending(self) -> bool:
        return any(removal[-1] is None for removal in self.removals)

    @property
    def removed_at(self) -> datetime | None:
        done = [removal[-1] for removal in self.removals if removal[-1] is not None]
        return None if self.pending or not done else max(done)


def _bucket(hours: float | None, pending: bool) -> str:
    if pending or hours is None:
        return BUCKETS[4]
    return BUCKETS[0] if hours < 1 else BUCKETS[1] if hours <= 4 else BUCKETS[2] if hours <= 24 else BUCKETS[3]


def _grants_of(session: Session, leavers) -> dict[int, list[Grant]]:
    """The grants of the people `leavers` (a subquery of person ids) selects: joined in SQL, never an id list."""
    grouped: dict[int, list[Grant]] = defaultdict(list)
    for grant in session.scalars(select(Grant).where(Grant.person_id.in_(leavers)).order_by(Grant.id)).unique():
        grouped[grant.person_id].append(grant)
    return grouped


def _leavers(session: Session, period: Period) -> list[Leaver]:
    started = func.coalesce(Departure.directory_changed_at, Departure.first_seen_at)
    in_period = and_(started >= period.start, started < period.end)
    departures = list(session.scalars(select(Departure).where(in_period).order_by(started, Departure.id)).unique())
    unrecorded_filter = and_(Person.status == PersonStatus.LEAVER, Person.left_at >= period.start,
                             Person.left_at < period.end, ~exists().where(Departure.person_id == Person.id))
    unrecorded = list(session.scalars(select(Person).where(unrecorded_filter).order_by(Person.left_at, Person.id)).unique())
    grants = _grants_of(session, union(select(Departure.person_id).where(in_period),
                                       select(Person.id).where(unrecorded_filter)))
    tasks: dict[int, list[OffboardingTask]] = defaultdict(list)
    if departures:
        for task in session.scalars(select(OffboardingTask).where(
                OffboardingTask.departure_id.in_(select(Departure.id).where(in_period))).order_by(OffboardingTask.id)):
            tasks[task.departure_id].append(task)
    accounts = {account.id: account for account in session.scalars(select(SocialAccount)).unique()} if tasks else {}

    def grant_removals(person: Person, since: datetime | None) -> list[tuple]:
        # The grants the person still held when they left: revoked at or after it, or never revoked.
        held = [g for g in grants[person.id] if since is None or g.revoked_at is None or g.revoked_at >= since]
        return [("grant", g.account.network.key, g.account.handle, g.role.value, g.revoked_at) for g in held]

    leavers = []
    for departure in departures:
        start = departure.directory_changed_at or departure.first_seen_at
        removals = grant_removals(departure.person, start)
        for task in tasks[departure.id]:
            account = accounts[task.account_id]
            removals.append(("network role (by hand)", task.network, account.handle, "offboarding task", task.done_at))
        leavers.append(Leaver(departure.person, departure.source, departure.id, departure.directory_changed_at,
                              departure.first_seen_at, removals))
    for person in unrecorded:
        leavers.append(Leaver(person, "no departure record", None, person.left_at, None,
                              grant_removals(person, person.left_at)))
    leavers.sort(key=lambda leaver: (leaver.started_at, leaver.person.id))
    return leavers


def build(session: Session, period: Period, settings) -> ReportParts:
    sla = float(settings.leaver_revocation_sla_hours)
    now = period.end
    rows, removal_rows, times, counts = [], [], [], dict.fromkeys(BUCKETS, 0)
    breaches = pending = 0
    for leaver in _leavers(session, period):
        hours = hours_between(leaver.started_at, leaver.removed_at)
        if leaver.removals and not leaver.pending:
            times.append(hours)
        elapsed = hours_between(leaver.started_at, now) if leaver.pending else hours
        breached = bool(leaver.removals) and elapsed is not None and elapsed > sla
        breaches += breached
        pending += leaver.pending
        if leaver.removals:
            counts[_bucket(hours, leaver.pending)] += 1
        rows.append((leaver.person.display_name, leaver.person.username, leaver.source, leaver.departure_id,
                     leaver.directory_changed_at, leaver.seen_at, len(leaver.removals), leaver.removed_at,
                     hours, sla, "yes" if breached else "no", "yes" if leaver.pending else "no"))
        for kind, network, account, what, removed_at in leaver.removals:
            removal_hours = hours_between(leaver.started_at, removed_at)
            late = (removal_hours if removed_at else hours_between(leaver.started_at, now) or 0) > sla
            removal_rows.append((leaver.person.display_name, leaver.person.username, kind, network, account, what,
                                 removed_at, removal_hours, "yes" if late else "no"))
    summary = {
        "leavers": len(rows),
        "leavers_who_held_access": sum(1 for row in rows if row[6]),
        "accesses_removed": sum(1 for row in removal_rows if row[6] is not None),
        "accesses_not_yet_removed": sum(1 for row in removal_rows if row[6] is None),
        "sla_target_hours": sla,
        "sla_breaches": breaches,
        "median_time_to_revoke_hours": median(times),
        "max_time_to_revoke_hours": max(times) if times else None,
    }
    alerts = []
    if breaches:
        alerts.append(Text("%(count)s leavers lost their access later than the %(hours)s h target (or still have it).",
                           count=breaches, hours=f"{sla:g}"))
    if pending:
        alerts.append(Text("%(count)s leavers still hold an access that has not been removed.", count=pending))
    sections = [
        Section.of("leavers", "Leavers", [
            ("person", "Person"), ("username", "Username"), ("source", "Source"), ("departure_id", "Departure"),
            ("directory_changed_at", "Directory changed"), ("seen_at", "Seen by govern"), ("accesses", "Accesses"),
            ("access_removed_at", "All access removed"), ("time_to_revoke_hours", "Time to revoke (h)"),
            ("sla_hours", "SLA (h)"), ("sla_breached", "SLA breached"), ("still_has_access", "Still has access"),
        ], rows, rtl=("person",)),
        Section.of("removals", "Each access removed", [
            ("person", "Person"), ("username", "Username"), ("kind", "Kind"), ("network", "Network"),
            ("account", "Account"), ("role", "Role"), ("removed_at", "Removed"),
            ("hours_after_directory_change", "Hours after the directory change"), ("sla_breached", "SLA breached"),
        ], removal_rows, rtl=("person", "account")),
    ]
    basis = [
        Text("departures (table departures): directory change time, first seen by govern; leavers (people.status = "
             "leaver) without a departure record use people.left_at"),
        Text("grants (table grants): revoked_at of each grant the leaver held when they left"),
        Text("offboarding tasks (table offboarding_tasks): network roles removed by hand (done_at)"),
        Text("SLA target: %(hours)s hours from the directory change (setting leaver_revocation_sla_hours)", hours=f"{sla:g}"),
    ]
    return ReportParts(
        title="Leavers report", basis=basis, summary=summary, sections=sections, alerts=alerts,
        charts=[Chart("Leavers by time to revoke", tuple(counts.items()), unit="leavers", codes="leavers.time_to_revoke")],
        frameworks=["SOC 2 CC6.2, CC6.3", "ISO 27001 A.5.18", "NIST 800-53 PS-4, AC-2"],
    )
