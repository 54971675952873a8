"""Small builders for test data, going through the services so audit events are written too."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from govern.accounts.service import create_account
from govern.actor import Actor
from govern.people.models import PersonSource
from govern.people.service import upsert_person

_numbers = itertools.count(1)


def person(session: Session, actor: Actor, display_name: str = "Dana Levi", **fields):
    n = next(_numbers)
    username = fields.pop("username", f"user{n}")
    return upsert_person(
        session, actor, PersonSource.MANUAL, f"ext-{n}",
        username=username, email=f"{username}@example.com", display_name=display_name, **fields,
    )


def account(session: Session, actor: Actor, handle: str | None = None, network: str = "x", **fields):
    n = next(_numbers)
    return create_account(
        session, actor, network, handle=handle or f"acme_{n}", display_name=fields.pop("display_name", f"Acme {n}"), **fields
    )
