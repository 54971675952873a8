"""What a secret canary test searches: every database row, every audit event's summary, every HTTP answer."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from govern.audit.models import AuditEvent


@dataclass(frozen=True)
class Haystacks:
    database: str
    audit: str
    bodies: str


def haystacks(session, responses) -> Haystacks:
    database = "\n".join(
        " ".join(str(v) for v in row)
        for table in sa.inspect(session.connection()).get_table_names()
        for row in session.execute(sa.text(f'SELECT * FROM "{table}"'))
    )
    audit = "\n".join(repr(e.summary) for e in session.scalars(sa.select(AuditEvent)))
    bodies = "\n".join(r.get_data(as_text=True) + repr(dict(r.headers)) for r in responses)
    return Haystacks(database, audit, bodies)
