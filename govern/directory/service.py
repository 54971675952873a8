"""Directory sync: plan and apply a full reconciliation or incremental changes, hold mass departures, depart people.

Nothing here revokes access itself: a departure sends `person_departed`, and the domains holding
access (grants, broker, credentials, auth, accounts) react in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from govern import signals
from govern.adapters.directory import ChangeBatch, Directory, DirectoryEntry, DirectoryError
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.directory.models import Departure, OffboardingTask, SyncCursor, SyncMode, SyncRun, SyncStatus
from govern.errors import Conflict, NotFound
from govern.pagination import Page, paginate
from govern.people.models import Person, PersonSource, PersonStatus
from govern.people.service import create_people_bulk, set_managers_bulk, upsert_person

MASS_DEPARTURE_FLOOR = 25
MASS_DEPARTURE_FRACTION = 0.05
MASS_DEPARTURE_WINDOW = timedelta(minutes=5)  # incremental syncs: departures within it count together (decision 0079)
NOT_IN_DIRECTORY = "not_in_directory"


@dataclass(frozen=True)
class PlannedDeparture:
    person_id: int
    display_name: str
    signals: tuple[str, ...]
    changed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "display_name": self.display_name, "signals": list(self.signals),
                "changed_at": self.changed_at.isoformat() if self.changed_at else None}


@dataclass
class SyncPlan:
    """What a run would do; a dry run prints it and changes nothing."""

    creates: list[DirectoryEntry] = field(default_factory=list)
    updates: list[DirectoryEntry] = field(default_factory=list)
    returners: list[DirectoryEntry] = field(default_factory=list)
    departures: list[PlannedDeparture] = field(default_factory=list)
    entries: list[DirectoryEntry] = field(default_factory=list)
    full: bool = False  # the whole scope was read (not just changes)

    def counts(self) -> dict[str, int]:
        return {"seen": len(self.entries), "created": len(self.creates), "updated": len(self.updates),
                "returned": len(self.returners), "departed": len(self.departures)}


def _person_source(source: str) -> PersonSource:
    return PersonSource(source)


PERSON_COLUMNS = (Person.id, Person.external_id, Person.status, Person.dn, Person.username, Person.email,
                  Person.display_name, Person.department, Person.manager_id)


def _people_of(session: Session, source: str, keys: set[str] | None = None) -> dict[str, Any]:
    """The people of a source as plain rows (a directory can hold 100,000), or only those with the given keys."""
    query = select(*PERSON_COLUMNS).where(Person.source == _person_source(source))
    if keys is None:
        return {row.external_id: row for row in session.execute(query)}
    found: dict[str, Any] = {}
    wanted = sorted(keys)
    for start in range(0, len(wanted), 1000):
        found.update({row.external_id: row for row in session.execute(query.where(Person.external_id.in_(wanted[start:start + 1000])))})
    return found


def _differs(person, entry: DirectoryEntry) -> bool:
    return (person.dn, person.username, person.email, person.display_name, person.department) != (
        entry.dn, entry.username, entry.email, entry.display_name, entry.department)


def _plan_entry(plan: SyncPlan, person, entry: DirectoryEntry, changed_at: datetime | None = None) -> None:
    """`changed_at`: when the change was logged, if known; else the entry's own modification time is used (which a
    removal from the entitlement group does not move: the group changed, not the person)."""
    plan.entries.append(entry)
    if person is None:
        if entry.active:
            plan.creates.append(entry)
        return
    if entry.active and person.status == PersonStatus.LEAVER:
        plan.returners.append(entry)
    elif not entry.active and person.status == PersonStatus.ACTIVE:
        plan.departures.append(PlannedDeparture(person.id, person.display_name, entry.leaver_signals or ("inactive",),
                                                changed_at or entry.changed_at))
    if _differs(person, entry):
        plan.updates.append(entry)


def plan_full(session: Session, source: str, entries: Iterable[DirectoryEntry]) -> SyncPlan:
    """Diff the whole scope against the people of this source; anyone active and absent is departing."""
    people, plan = _people_of(session, source), SyncPlan(full=True)
    for entry in entries:
        _plan_entry(plan, people.get(entry.key), entry)
    seen = {entry.key for entry in plan.entries}
    for key, person in people.items():
        if key not in seen and person.status == PersonStatus.ACTIVE:
            plan.departures.append(PlannedDeparture(person.id, person.display_name, (NOT_IN_DIRECTORY,), None))
    return plan


def plan_changes(session: Session, source: str, batch: ChangeBatch, own_account: str | None) -> SyncPlan:
    people, plan = _people_of(session, source, {change.key for change in batch.changes}), SyncPlan()
    for change in batch.changes:
        if own_account and change.changed_by and change.changed_by.lower() == own_account.lower():
            continue  # govern's own writes to the directory do not come back as changes
        person = people.get(change.key)
        if change.entry is None:
            if person is not None and person.status == PersonStatus.ACTIVE:
                plan.departures.append(PlannedDeparture(person.id, person.display_name, ("removed_from_directory",), change.changed_at))
            continue
        _plan_entry(plan, person, change.entry, change.changed_at)
    return plan


def mass_departure_limit(session: Session) -> int:
    active = session.scalar(select(func.count()).select_from(Person).where(Person.status == PersonStatus.ACTIVE)) or 0
    return max(MASS_DEPARTURE_FLOOR, int(active * MASS_DEPARTURE_FRACTION))


def recent_departures(session: Session, source: str, window: timedelta = MASS_DEPARTURE_WINDOW) -> int:
    """Departures from this source govern made in the last `window` (held ones are not departures yet)."""
    return session.scalar(select(func.count(Departure.id)).where(
        Departure.source == source, Departure.first_seen_at >= utcnow() - window)) or 0


def _finish(session: Session, actor: Actor, run: SyncRun, status: SyncStatus, counts: dict[str, int], error: str | None = None) -> SyncRun:
    run.status, run.counts, run.error, run.finished_at = status, counts, error, utcnow()
    session.flush()
    record(session, actor, f"directory:sync:{status.value}", "sync_run", run.id, source=run.source, mode=run.mode.value,
           counts=counts, error=error)
    return run


def _by_management_level(creates: list[DirectoryEntry]) -> list[list[DirectoryEntry]]:
    """New people grouped so each group's managers are created in an earlier one (or exist already)."""
    new = {entry.key: entry for entry in creates}
    levels: dict[str, int] = {}

    def level(key: str) -> int:
        chain, seen = [], set()
        while key not in levels and key in new and key not in seen:  # walk up to a known level, the top, or a cycle
            chain.append(key)
            seen.add(key)
            key = new[key].manager_key
        base = levels.get(key, -1)
        for offset, member in enumerate(reversed(chain), start=1):
            levels[member] = base + offset
        return levels[chain[0]] if chain else levels[key]

    grouped: dict[int, list[DirectoryEntry]] = {}
    for entry in creates:
        grouped.setdefault(level(entry.key), []).append(entry)
    return [grouped[number] for number in sorted(grouped)]


def _create_people(session: Session, actor: Actor, source: str, creates: list[DirectoryEntry]) -> None:
    """Insert new people level by level, so each is created with their manager already linked."""
    if not creates:
        return
    wanted_managers = {entry.manager_key for entry in creates if entry.manager_key}
    ids = {key: row.id for key, row in _people_of(session, source, wanted_managers).items()}
    for group in _by_management_level(creates):
        ids.update(create_people_bulk(session, actor, _person_source(source), [
            {"external_id": entry.key, "dn": entry.dn, "username": entry.username, "email": entry.email,
             "display_name": entry.display_name, "department": entry.department, "manager_id": ids.get(entry.manager_key)}
            for entry in group
        ]))


def _apply(session: Session, actor: Actor, source: str, plan: SyncPlan, hold_departures: bool) -> None:
    person_source = _person_source(source)
    _create_people(session, actor, source, plan.creates)
    changed = {entry.key: entry for entry in (*plan.updates, *plan.returners)}
    for entry in changed.values():
        upsert_person(session, actor, person_source, entry.key, dn=entry.dn, username=entry.username,
                      email=entry.email, display_name=entry.display_name, department=entry.department)
    for entry in plan.returners:
        person = session.scalar(select(Person).where(Person.source == person_source, Person.external_id == entry.key))
        person.status, person.left_at = PersonStatus.ACTIVE, None  # returners get nothing back: access is re-requested
        record(session, actor, "directory:person:return", "person", person.id)
    _link_managers(session, actor, source, plan.entries, everyone=plan.full)
    if not hold_departures:
        for departure in plan.departures:
            depart(session, actor, session.get(Person, departure.person_id), source, departure.signals, departure.changed_at)


def _link_managers(session: Session, actor: Actor, source: str, entries: list[DirectoryEntry], everyone: bool) -> None:
    keys = None if everyone else {entry.key for entry in entries} | {entry.manager_key for entry in entries if entry.manager_key}
    people = _people_of(session, source, keys)
    changes = []
    for entry in entries:
        person = people.get(entry.key)
        manager = people.get(entry.manager_key) if entry.manager_key else None
        wanted = manager.id if manager else None
        if person is not None and wanted != person.manager_id:
            changes.append((person.id, person.manager_id, wanted))
    set_managers_bulk(session, actor, changes)


def run_sync(session: Session, actor: Actor, source: str, mode: SyncMode, read, hold: bool = False,
             keep_empty: bool = True) -> SyncRun | None:
    """Run one sync. `read()` returns a SyncPlan or raises DirectoryError; failures revoke nobody. Departures are
    held for a decision when they are too many, or whenever `hold` (a SCIM entitlement group deleted or renamed).

    `keep_empty=False` (the watcher): a run that found nothing to do is not kept, and None is returned; a failure
    is always kept."""
    run = SyncRun(source=source, mode=mode, status=SyncStatus.RUNNING)
    session.add(run)
    session.flush()
    try:
        plan = read()
    except DirectoryError as exc:
        return _finish(session, actor, run, SyncStatus.FAILED, {}, f"{type(exc).__name__}: {exc}")
    if not keep_empty and not plan.entries and not plan.departures:
        session.delete(run)
        session.flush()
        return None
    if mode == SyncMode.FULL and not plan.entries:
        return _finish(session, actor, run, SyncStatus.FAILED, {}, "the directory returned nobody in scope; no one was treated as a leaver")
    departing = len(plan.departures)
    if mode == SyncMode.INCREMENTAL and departing:
        # The watcher syncs every second: a script removing people one by one would otherwise stay under the limit
        # in every run. Departures the incremental syncs already made in the window count toward it.
        departing += recent_departures(session, source)
    hold = bool(plan.departures) and (hold or departing > mass_departure_limit(session))
    _apply(session, actor, source, plan, hold_departures=hold)
    if hold:
        run.held_departures = [departure.as_json() for departure in plan.departures]
        return _finish(session, actor, run, SyncStatus.HELD, plan.counts())
    return _finish(session, actor, run, SyncStatus.SUCCEEDED, plan.counts())


def full_sync(
    session: Session, actor: Actor, source: str, entries: Iterable[DirectoryEntry], cursor: str | None = None
) -> SyncRun:
    """Reconcile the whole scope; `cursor` is the incremental mark taken just before the read, kept if the run worked.

    The cursor row is locked first, as incremental runs lock it: the same order everywhere, so a full run and the
    watcher wait for each other instead of deadlocking over a person row and the cursor."""
    _locked_cursor(session, source)
    run = run_sync(session, actor, source, SyncMode.FULL, lambda: plan_full(session, source, entries))
    if cursor and run.status != SyncStatus.FAILED:
        _store_cursor(session, source, cursor)
    return run


def _locked_cursor(session: Session, source: str) -> SyncCursor | None:
    return session.scalar(select(SyncCursor).where(SyncCursor.source == source).with_for_update()
                          .execution_options(populate_existing=True))


def _store_cursor(session: Session, source: str, cursor: str) -> None:
    row = session.get(SyncCursor, source)
    if row is None:
        session.add(SyncCursor(source=source, cursor=cursor))
    else:
        row.cursor = cursor
    session.flush()


def incremental_sync(session: Session, actor: Actor, source: str, read_batch, own_account: str | None,
                     keep_empty: bool = True) -> SyncRun | None:
    """Apply changes after the stored cursor; the new cursor is stored in the same transaction.

    The cursor row is locked for the run, so the watcher and the scheduled sync never read the same changes twice
    at once: the second waits, then starts from where the first left off."""
    cursor_row = _locked_cursor(session, source)
    batches: list[ChangeBatch] = []

    def read() -> SyncPlan:
        batch = read_batch(cursor_row.cursor if cursor_row else None)
        batches.append(batch)
        return plan_changes(session, source, batch, own_account)

    run = run_sync(session, actor, source, SyncMode.INCREMENTAL, read, keep_empty=keep_empty)
    if (run is None or run.status != SyncStatus.FAILED) and batches and batches[0].cursor:
        _store_cursor(session, source, batches[0].cursor)
    return run


def sync_full_from(session: Session, actor: Actor, directory: Directory) -> SyncRun:
    """A full reconciliation; the incremental mark is taken first, so changes made during the read are not lost."""
    try:
        mark = directory.changes_since(None).cursor
    except DirectoryError:
        mark = None  # the full read meets the same failure and records it
    return full_sync(session, actor, directory.source, directory.all_entries(), mark)


def sync_incremental_from(session: Session, actor: Actor, directory: Directory, keep_empty: bool = True) -> SyncRun | None:
    """`keep_empty=False`: a run with nothing to do leaves no run and no audit event (the watcher looks every second;
    writes elsewhere in the directory move its mark too), only the advanced cursor."""
    return incremental_sync(session, actor, directory.source, directory.changes_since, directory.service_account, keep_empty)


def depart(session: Session, actor: Actor, person: Person, source: str, why: Iterable[str], changed_at: datetime | None) -> Departure | None:
    """The one "person departed" path for LDAP, AD and SCIM; idempotent: a leaver departs once."""
    if person.status == PersonStatus.LEAVER:
        return None
    now = utcnow()
    person.status, person.left_at = PersonStatus.LEAVER, changed_at or now
    departure = Departure(person_id=person.id, source=source, signals=list(why), directory_changed_at=changed_at, first_seen_at=now)
    session.add(departure)
    session.flush()
    record(session, actor, "directory:person:depart", "person", person.id, signals=list(why), directory_changed_at=changed_at)
    outcomes = signals.person_departed.send(session, actor=actor, person_id=person.id, departure_id=departure.id)
    departure.steps = {step: done for _receiver, outcome in outcomes if outcome for step, done in outcome.items()}
    departure.access_removed_at = utcnow()
    started = changed_at or departure.first_seen_at
    departure.time_to_revoke_seconds = max(0.0, (departure.access_removed_at - started).total_seconds())
    record(session, actor, "directory:departure:complete", "person", person.id, departure_id=departure.id,
           time_to_revoke_seconds=round(departure.time_to_revoke_seconds, 3), steps=departure.steps)
    return departure


def decide_held_run(session: Session, actor: Actor, run_id: int, approve: bool) -> SyncRun:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound("sync run %(run_id)s does not exist", run_id=run_id)
    if run.status != SyncStatus.HELD:
        raise Conflict("sync run %(run_id)s is %(value)s, not held", run_id=run_id, value=run.status.value)
    run.status = SyncStatus.APPROVED if approve else SyncStatus.DISMISSED
    run.decided_by, run.decided_at = actor.id, utcnow()
    departed = 0
    if approve:
        for held in run.held_departures or []:
            person = session.get(Person, held["person_id"])
            changed_at = datetime.fromisoformat(held["changed_at"]) if held.get("changed_at") else None
            if person is not None and depart(session, actor, person, run.source, held["signals"], changed_at):
                departed += 1
    session.flush()
    record(session, actor, f"directory:sync:{'approve' if approve else 'dismiss'}", "sync_run", run.id, departed=departed)
    return run


def list_runs(session: Session, limit: int = 50) -> list[SyncRun]:
    return list(session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def _through(column, day: date):
    """`column` falls on or before `day` (UTC); 9999-12-31 has no next day, so nothing is after it."""
    if day == date.max:
        return column.is_not(None)
    return column < _day_start(day) + timedelta(days=1)


@dataclass(frozen=True)
class RunFilter:
    """The sync runs list's filters; the period is in whole UTC days, `to_date` included."""

    status: SyncStatus | None = None
    mode: SyncMode | None = None
    source: str | None = None
    from_date: date | None = None
    to_date: date | None = None


RUN_SORTS = {"started_at": (SyncRun.started_at, True), "status": (SyncRun.status, False), "source": (SyncRun.source, False)}


def _runs(query: Select, filters: RunFilter) -> Select:
    if filters.status is not None:
        query = query.where(SyncRun.status == filters.status)
    if filters.mode is not None:
        query = query.where(SyncRun.mode == filters.mode)
    if filters.source:
        query = query.where(SyncRun.source == filters.source)
    if filters.from_date:
        query = query.where(SyncRun.started_at >= _day_start(filters.from_date))
    if filters.to_date:
        query = query.where(_through(SyncRun.started_at, filters.to_date))
    return query


def runs_page(session: Session, filters: RunFilter, sort: str = "started_at", limit: int = 50,
              cursor: str | None = None) -> Page[SyncRun]:
    """Runs under the filters, a page at a time both ways: newest first, or by status or source."""
    column, descending = RUN_SORTS[sort]
    return paginate(session, _runs(select(SyncRun), filters), sort, column, SyncRun.id, limit, cursor, descending=descending)


def count_runs(session: Session, filters: RunFilter) -> int:
    return int(session.scalar(_runs(select(func.count(SyncRun.id)), filters)) or 0)


def departures(session: Session, limit: int = 100) -> list[Departure]:
    return list(session.scalars(select(Departure).order_by(Departure.first_seen_at.desc()).limit(limit)))


@dataclass(frozen=True)
class DepartureFilter:
    """The leavers list's filters. A leaver is pending while govern has not removed their access or a removal at a
    network is still to do; the SLA is met when govern's time to revoke is within `sla_hours`, breached when it took
    longer or, still pending, the SLA has already passed. The period is when govern saw the leaver (UTC days)."""

    state: str | None = None
    sla: str | None = None
    source: str | None = None
    from_date: date | None = None
    to_date: date | None = None
    sla_hours: float = 4.0
    now: datetime | None = None


def _pending():
    open_task = exists().where(OffboardingTask.departure_id == Departure.id, OffboardingTask.done_at.is_(None))
    return or_(Departure.access_removed_at.is_(None), open_task)


def _departures(query: Select, filters: DepartureFilter) -> Select:
    if filters.state == "pending":
        query = query.where(_pending())
    elif filters.state == "complete":
        query = query.where(~_pending())
    if filters.sla:
        limit = filters.sla_hours * 3600
        started = func.coalesce(Departure.directory_changed_at, Departure.first_seen_at)
        overdue = and_(Departure.time_to_revoke_seconds.is_(None),
                       started < (filters.now or utcnow()) - timedelta(hours=filters.sla_hours))
        breached = or_(Departure.time_to_revoke_seconds > limit, overdue)
        query = query.where(breached if filters.sla == "breached" else Departure.time_to_revoke_seconds <= limit)
    if filters.source:
        query = query.where(Departure.source == filters.source)
    if filters.from_date:
        query = query.where(Departure.first_seen_at >= _day_start(filters.from_date))
    if filters.to_date:
        query = query.where(_through(Departure.first_seen_at, filters.to_date))
    return query


def departures_page(session: Session, limit: int = 50, cursor: str | None = None,
                    filters: DepartureFilter | None = None, sort: str = "first_seen_at") -> Page[Departure]:
    """Leavers newest first (or by name), a page at a time both ways (3,000 leavers with their checklists do not fit
    one page)."""
    chosen = filters or DepartureFilter()
    if sort == "person":
        def load(rows: Sequence[Any]) -> list[Departure]:
            found = {d.id: d for d in session.scalars(select(Departure).where(Departure.id.in_([row.id for row in rows])))}
            return [found[row.id] for row in rows]

        query = _departures(select(Person.display_name, Departure.id).join(Departure.person), chosen)
        return paginate(session, query, sort, Person.display_name, Departure.id, limit, cursor, load=load)
    return paginate(session, _departures(select(Departure), chosen), "first_seen_at", Departure.first_seen_at,
                    Departure.id, limit, cursor, descending=True)


def count_departures(session: Session, filters: DepartureFilter) -> int:
    return int(session.scalar(_departures(select(func.count(Departure.id)), filters)) or 0)


def sla_outcome(departure: Departure, sla_hours: float, now: datetime | None = None) -> str | None:
    """"met" or "breached", as the list's SLA filter decides it; None while pending and the SLA has not yet passed."""
    if departure.time_to_revoke_seconds is not None:
        return "met" if departure.time_to_revoke_seconds <= sla_hours * 3600 else "breached"
    started = departure.directory_changed_at or departure.first_seen_at
    return "breached" if started < (now or utcnow()) - timedelta(hours=sla_hours) else None


def departure_pending(session: Session, departure_ids: Sequence[int]) -> set[int]:
    """Which of these departures are still pending (access not removed, or a removal at a network still to do)."""
    if not departure_ids:
        return set()
    return set(session.scalars(select(Departure.id).where(Departure.id.in_(departure_ids), _pending())))
