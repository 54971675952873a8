"""People: lookup, search and the directory-facing upsert. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.audit.service import Actor, record
from govern.errors import NotFound
from govern.pagination import Page, paginate
from govern.people.models import Person, PersonSource, PersonStatus
from govern.text import like_pattern

SORTS = {"display_name": Person.display_name, "username": Person.username, "id": Person.id}
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
    query = select(Person)
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
    return paginate(session, query, sort, SORTS[sort], Person.id, limit, cursor)


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id} does not exist")
    return person


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
