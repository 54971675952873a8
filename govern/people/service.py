"""People: lookup, search and the directory-facing upsert. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from govern.actor import Actor

from govern.audit.service import EventSpec, record, record_many
from govern.db import utcnow
from govern.errors import NotFound
from govern.pagination import Page, paginate
from govern.people.models import Person, PersonSource, PersonStatus
from govern.text import like_pattern, search_key

SORTS = {"display_name": Person.display_name, "username": Person.username, "id": Person.id}
BULK_ROWS = 1000
DIRECTORY_FIELDS = ("dn", "username", "email", "display_name", "manager_id", "department", "status", "left_at")


@dataclass(frozen=True)
class PersonFilter:
    q: str | None = None
    status: PersonStatus | None = None
    department: str | None = None
    source: PersonSource | None = None
    manager_id: int | None = None


def snapshot(person: Person) -> dict[str, Any]:
    return {
        "source": person.source.value,
        "external_id": person.external_id,
        "username": person.username,
        "email": person.email,
        "display_name": person.display_name,
        "manager_id": person.manager_id,
        "department": person.department,
        "status": person.status.value if person.status else None,
        "left_at": person.left_at,
    }


def list_people(session: Session, filters: PersonFilter, sort: str = "display_name", limit: int = 50, cursor: str | None = None) -> Page[Person]:
    return paginate(session, _filtered(select(Person), filters), sort, SORTS[sort], Person.id, limit, cursor)


def count_people(session: Session, filters: PersonFilter) -> int:
    return int(session.scalar(_filtered(select(func.count(Person.id)), filters)) or 0)


def _filtered(query: Select, filters: PersonFilter) -> Select:
    if filters.q:
        query = query.where(Person.search_text.like(like_pattern(filters.q), escape="\\"))
    if filters.status:
        query = query.where(Person.status == filters.status)
    if filters.department:
        query = query.where(Person.department == filters.department)
    if filters.source:
        query = query.where(Person.source == filters.source)
    if filters.manager_id is not None:
        query = query.where(Person.manager_id == filters.manager_id)
    return query


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("person %(person_id)s does not exist", person_id=person_id)
    return person


def find_people(session: Session, references: list[str]) -> tuple[list[Person], list[str]]:
    """People named by id or e-mail address (any case), in order: those found, and the references that named nobody."""
    found, unknown = [], []
    for reference in references:
        if reference.isdigit() and len(reference) < 12:
            person = session.get(Person, int(reference))
        elif "@" in reference and len(reference) <= 320:
            person = session.scalar(select(Person).where(func.lower(Person.email) == reference.lower())
                                    .order_by(Person.id).limit(1))
        else:
            person = None
        if person is None:
            unknown.append(reference[:64])
        else:
            found.append(person)
    return found, unknown


def upsert_person(session: Session, actor: Actor, source: PersonSource, external_id: str, **fields: Any) -> Person:
    """Create or update a person by their directory key (never by DN: people get renamed and moved)."""
    person = session.scalar(select(Person).where(Person.source == source, Person.external_id == external_id))
    if person is None:
        person = Person(source=source, external_id=external_id, status=PersonStatus.ACTIVE, **fields)
        person.refresh_search_text()
        session.add(person)
        session.flush()
        record(session, actor, "people:person:create", "person", person.id, after=snapshot(person))
        return person
    before = snapshot(person)
    for name, value in fields.items():
        setattr(person, name, value)
    person.refresh_search_text()
    session.flush()
    after = snapshot(person)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        record(session, actor, "people:person:update", "person", person.id,
               before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return person


def create_people_bulk(session: Session, actor: Actor, source: PersonSource, people: list[dict[str, Any]]) -> dict[str, int]:
    """Insert many new people at once (a directory import); one audit event each. Returns external_id -> id."""
    if not people:
        return {}
    now = utcnow()
    rows = [
        {
            "source": source, "external_id": fields["external_id"], "dn": fields.get("dn"), "username": fields["username"],
            "email": fields.get("email"), "display_name": fields["display_name"], "department": fields.get("department"),
            "manager_id": fields.get("manager_id"), "status": PersonStatus.ACTIVE, "left_at": None, "created_at": now, "updated_at": now,
            "search_text": search_key(fields["display_name"], fields["username"], fields.get("email"), fields.get("department")),
        }
        for fields in people
    ]
    ids = _insert_people(session, rows)
    events = [
        EventSpec("people:person:create", "person", ids[row["external_id"]], after={
            "source": source.value, "external_id": row["external_id"], "username": row["username"], "email": row["email"],
            "display_name": row["display_name"], "manager_id": row["manager_id"], "department": row["department"], "status": "active", "left_at": None,
        })
        for row in rows
    ]
    record_many(session, actor, events)
    return ids


def _insert_people(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows, returning external_id -> id.

    On PostgreSQL the ids are drawn from the sequence first and the rows sent as one pipelined
    executemany: an INSERT ... RETURNING of 1,000 rows is a 12,000-placeholder statement that the
    driver parses anew for every batch, which cost more than the inserts themselves.
    """
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.scalars(_DRAW_PERSON_IDS, {"count": len(rows)}).all()
        for row, person_id in zip(rows, drawn, strict=True):
            row["id"] = person_id
        session.connection().execute(insert(Person.__table__), rows)
        return {row["external_id"]: row["id"] for row in rows}
    ids: dict[str, int] = {}
    for start in range(0, len(rows), BULK_ROWS):
        returned = session.execute(insert(Person).returning(Person.id, Person.external_id), rows[start:start + BULK_ROWS])
        ids.update({external_id: person_id for person_id, external_id in returned})
    return ids


_DRAW_PERSON_IDS = text("SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, :count)")


def set_managers_bulk(session: Session, actor: Actor, changes: list[tuple[int, int | None, int | None]]) -> int:
    """Apply (person_id, old manager_id, new manager_id) changes at once, each audited."""
    if not changes:
        return 0
    statement = update(Person).where(Person.id == bindparam("person_id")).values(manager_id=bindparam("new_manager_id"))
    for start in range(0, len(changes), BULK_ROWS):
        batch = changes[start:start + BULK_ROWS]
        session.connection().execute(statement, [{"person_id": p, "new_manager_id": new} for p, _old, new in batch])
    record_many(session, actor, [
        EventSpec("people:person:update", "person", person_id, before={"manager_id": old}, after={"manager_id": new})
        for person_id, old, new in changes
    ])
    session.expire_all()
    return len(changes)
