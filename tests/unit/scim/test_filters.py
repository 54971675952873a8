"""SCIM filters: the RFC 7644 3.4.2.2 grammar parsed, and read as SQL over people that must match, and must not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govern.db import Base
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim import filters, service
from govern.scim.errors import InvalidFilter, InvalidValue
from govern.scim.filters import And, AttributePath, Compare, Not, Or, Present, ValuePath
from govern.scim.models import ScimUserAttributes
from govern.scim.schemas import parse_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


# ---- the grammar ----

def test_parses_each_operator_and_value_kind():
    for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"):
        assert filters.parse(f'userName {op.upper()} "x"') == Compare(AttributePath("", "username"), op, "x")
    assert filters.parse("title pr") == Present(AttributePath("", "title"))
    assert filters.parse("active eq TRUE").value is True
    assert filters.parse("active eq false").value is False
    assert filters.parse("manager eq null").value is None
    assert filters.parse("age gt 42").value == 42
    assert filters.parse('userName eq "a \\"quoted\\" \\u00e9 name"').value == 'a "quoted" é name'


def test_and_binds_tighter_than_or_and_parentheses_group():
    a, b, c = (Compare(AttributePath("", name), "eq", "1") for name in ("a", "b", "c"))
    assert filters.parse('a eq "1" or b eq "1" and c eq "1"') == Or(a, And(b, c))
    assert filters.parse('(a eq "1" or b eq "1") and c eq "1"') == And(Or(a, b), c)
    assert filters.parse('not (a eq "1") and b eq "1"') == And(Not(a), b)
    assert filters.parse('a eq "1" AND b eq "1" Or c eq "1"') == Or(And(a, b), c)


def test_paths_with_schemas_sub_attributes_and_value_filters():
    assert filters.parse(f'{ENTERPRISE}:manager.value eq "x"').path == AttributePath(filters.ENTERPRISE_USER, "manager", "value")
    assert filters.parse(f'{CORE}:name.familyName eq "x"').path == AttributePath(filters.CORE_USER, "name", "familyname")
    assert filters.parse('emails[type eq "work" and value co "@example.com"]') == ValuePath(
        AttributePath("", "emails"),
        And(Compare(AttributePath("", "emails", "type"), "eq", "work"),
            Compare(AttributePath("", "emails", "value"), "co", "@example.com")))


@pytest.mark.parametrize("text", [
    "", "   ", "userName", 'userName eq', 'userName like "x"', '(userName eq "a"', 'userName eq "a")',
    'userName eq "a" userName eq "b"', 'not userName eq "a"', 'emails[type eq "work"', 'emails[type[value eq "a"]]',
    'userName eq "unterminated', 'urn:example:unknown:attr eq "a"', 'and eq "a"', '"a" eq userName',
    'userName eq bob', 'name.given.name eq "a"', 'emails[type eq "work"].value eq "a"', "(" * 40 + 'a eq "1"' + ")" * 40,
    'emails[name.givenName eq "a"]', 'userName eq "a" and', "userName eq 'single'",
])
def test_malformed_filters_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        filters.parse(text)


def test_a_filter_longer_than_the_limit_is_refused():
    with pytest.raises(InvalidFilter):
        filters.parse(" or ".join(['userName eq "x"'] * 400))


# ---- read as SQL over people ----

@pytest.fixture
def people(session, actor) -> dict[str, str]:
    """Three SCIM people unlike each other in every attribute a filter reads; their SCIM ids by first name."""
    alice = service.create_user(session, actor, parse_user({
        "userName": "Alice.Smith@Example.com", "externalId": "EXT-A", "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"value": "alice@example.com", "type": "work", "primary": True}, {"value": "alice@home.org", "type": "home"}],
        ENTERPRISE: {"department": "Communications"}}))
    bob = service.create_user(session, actor, parse_user({
        "userName": "bob@example.org", "externalId": "ext-b", "name": {"givenName": "Bob", "familyName": "O'Brien"},
        "emails": [{"value": "bob@example.org", "type": "home"}], "active": False,
        ENTERPRISE: {"department": "Marketing", "manager": {"value": alice.external_id}}}))
    carol = service.create_user(session, actor, parse_user({"userName": "carol_100%@example.com"}))
    session.flush()
    return {"alice": alice.external_id, "bob": bob.external_id, "carol": carol.external_id}


def matching(session, people: dict[str, str], text: str) -> set[str]:
    names = {scim_id: name for name, scim_id in people.items()}
    _, found = service.list_users(session, service.parse_user_filter(text), 1, 200)
    return {names[person.external_id] for person in found if person.external_id in names}


MATCHES = [
    ('userName eq "alice.smith@example.com"', {"alice"}),  # userName is caseExact false
    ('USERNAME Eq "ALICE.SMITH@EXAMPLE.COM"', {"alice"}),
    ('userName eq "alice"', set()),
    ('userName ne "bob@example.org"', {"alice", "carol"}),
    ('userName co "SMITH"', {"alice"}),
    ('userName sw "bob"', {"bob"}),
    ('userName ew ".ORG"', {"bob"}),
    ('userName co "%"', {"carol"}),  # LIKE's wildcards are the client's characters, not patterns
    ('userName co "_"', {"carol"}),
    ('userName gt "b"', {"bob", "carol"}),
    ('userName le "bob@example.org"', {"alice", "bob"}),
    ('externalId eq "EXT-A"', {"alice"}),
    ('externalId eq "ext-a"', set()),  # externalId is caseExact
    ('name.familyName eq "o\'brien"', {"bob"}),
    ('name.givenName pr', {"alice", "bob"}),
    ('not (name pr)', {"carol"}),
    ('displayName pr', set()),  # none of them was given a displayName
    ('emails[type eq "work" and value co "@example.com"]', {"alice"}),
    # alice has a home address and an @example.com address, but not one e-mail that is both
    ('emails[type eq "home" and value co "@example.com"]', set()),
    ('emails[type eq "home" or primary eq true]', {"alice", "bob"}),
    ('emails[not (type eq "work")]', {"alice", "bob"}),
    ('emails.value eq "ALICE@home.org"', {"alice"}),
    ('emails eq "bob@example.org"', {"bob"}),
    ('emails.type eq "work"', {"alice"}),
    ('emails pr', {"alice", "bob"}),
    ('not (emails pr)', {"carol"}),
    ('active eq true', {"alice", "carol"}),
    ('active eq "False"', {"bob"}),  # Entra ID's string booleans
    ('active ne true', {"bob"}),
    (f'{ENTERPRISE}:department eq "communications"', {"alice"}),
    ('department pr and not (department eq "Marketing")', {"alice"}),
    ('department ne "Marketing"', {"alice", "carol"}),  # an absent department is not "Marketing"
    ('department eq null', {"carol"}),
    (f'{CORE}:userName sw "carol"', {"carol"}),
    ('userName eq "nobody" or (active eq false and name.familyName sw "O")', {"bob"}),
    ('(userName co "example" and not (userName co "org")) and emails pr', {"alice"}),
    ('meta.created gt "2000-01-01T00:00:00Z"', {"alice", "bob", "carol"}),
    ('meta.lastModified lt "2000-01-01T00:00:00Z"', set()),
    ('meta.resourceType eq "User"', {"alice", "bob", "carol"}),
    ('meta.resourceType eq "Group"', set()),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES, ids=[text for text, _ in MATCHES])
def test_filter_matches_exactly(session, people, text, expected):
    assert matching(session, people, text) == expected


def test_manager_and_id_compare_with_scim_ids(session, people):
    assert matching(session, people, f'id eq "{people["bob"]}"') == {"bob"}
    assert matching(session, people, f'{ENTERPRISE}:manager.value eq "{people["alice"]}"') == {"bob"}
    assert matching(session, people, f'manager.value eq "{people["bob"]}"') == set()


@pytest.mark.parametrize("text", [
    'title eq "x"', 'emails.nope eq "x"', 'name[givenName eq "x"]', 'name eq "x"', 'active gt true', 'active co "t"',
    'meta.created eq "yesterday"', 'meta.created co "2020"', 'phoneNumbers[type eq "work"]', 'userName eq true',
    'groups eq "x"', 'name.middleName eq "x"', 'userName lt null',
])
def test_attributes_and_comparisons_govern_cannot_read_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        service.parse_user_filter(text)


def test_sort_orders_by_an_attribute_with_absent_values_last_and_pages_stably(session, people):
    def order(sort_by: str, descending: bool = False, start: int = 1, count: int = 200) -> list[str]:
        names = {scim_id: name for name, scim_id in people.items()}
        _, found = service.list_users(session, None, start, count, sort_by, descending)
        return [names[p.external_id] for p in found if p.external_id in names]

    assert order("name.familyName") == ["bob", "alice", "carol"]  # O'Brien, Smith, then no family name
    assert order("name.familyName", descending=True) == ["carol", "alice", "bob"]
    assert order("USERNAME") == ["alice", "bob", "carol"]
    assert order("userName", descending=True) == ["carol", "bob", "alice"]
    assert order(f"{ENTERPRISE}:department") == ["alice", "bob", "carol"]
    assert order("emails") == ["alice", "bob", "carol"]
    pages = [order("active", start=start, count=1)[0] for start in (1, 2, 3)]  # two people share active=true
    assert sorted(pages) == ["alice", "bob", "carol"]
    with pytest.raises(InvalidValue):
        order("title")


# ---- the same SQL on SQLite, govern's local database ----

@pytest.fixture
def sqlite_session(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'scim.sqlite'}")
    Base.metadata.create_all(engine, tables=[Person.__table__, ScimUserAttributes.__table__])
    with Session(engine) as session:
        yield session
    engine.dispose()


def _person(session: Session, scim_id: str, user_name: str, emails: list[dict] | None, source=PersonSource.SCIM) -> Person:
    person = Person(source=source, external_id=scim_id, username=user_name, display_name=user_name,
                    email=emails[0]["value"] if emails else None, status=PersonStatus.ACTIVE)
    session.add(person)
    session.flush()
    session.add(ScimUserAttributes(person_id=person.id, emails=emails, name=None, external_id=f"x-{scim_id}"))
    session.flush()
    return person


def test_value_filters_and_the_username_index_work_on_sqlite(sqlite_session):
    _person(sqlite_session, "a", "Ann", [{"value": "ann@example.com", "type": "work"}, {"value": "ann@home.org", "type": "home"}])
    _person(sqlite_session, "b", "Ben", None)
    sqlite_session.commit()

    def found(text: str) -> list[str]:
        return [p.external_id for p in service.list_users(sqlite_session, service.parse_user_filter(text), 1, 10)[1]]

    assert found('emails[type eq "work" and value co "@example.com"]') == ["a"]
    assert found('emails[type eq "home" and value co "@example.com"]') == []
    assert found('not (emails pr)') == ["b"]
    assert found('externalId eq "x-b" or userName eq "ANN"') == ["a", "b"]
    with pytest.raises(sa.exc.IntegrityError):  # the same userName in another case: refused by the database
        _person(sqlite_session, "c", "ann", None)
    sqlite_session.rollback()
    _person(sqlite_session, "deleted:a2", "ANN", None)  # a deleted user's row does not hold the name
    _person(sqlite_session, "ldap-1", "ann", None, source=PersonSource.OPENLDAP)  # nor does another source's person
