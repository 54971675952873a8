"""What an audit event is about beyond its target: the account and the person a grant's, a review's, a violation's or
an approval's event concerns, as one SQL expression per subject that an expression index serves on PostgreSQL.

An event is about account 12 when it targets ("account", "12"), or when its summary names the account at the top
(`account_id`: review items, violations, approvals, exceptions, connections started) or in its before/after snapshot
(a grant's creation and revocation). The same for a person with `person_id`. Nothing new is stored: the expression
reads only what the hash chain seals (target and summary), so the append-only trail needs no backfill, and whoever
edits an event to hide it from a page breaks the chain (decision 0053).
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SUBJECTS = ("account", "person")

# The exact text the migration 8b8e0f1a2b3c indexes: PostgreSQL uses the index only for this same expression.
POSTGRESQL_EXPRESSIONS = {
    subject: (f"(CASE WHEN target_type = '{subject}' THEN target_id ELSE COALESCE(summary ->> '{subject}_id', "
              f"(summary -> 'after') ->> '{subject}_id', (summary -> 'before') ->> '{subject}_id') END)")
    for subject in SUBJECTS
}
PORTABLE_EXPRESSIONS = {
    subject: (f"(CASE WHEN target_type = '{subject}' THEN target_id ELSE CAST(COALESCE("
              f"json_extract(summary, '$.{subject}_id'), json_extract(summary, '$.after.{subject}_id'), "
              f"json_extract(summary, '$.before.{subject}_id')) AS TEXT) END)")
    for subject in SUBJECTS
}


class _About(FunctionElement):
    type = String()
    inherit_cache = True
    subject = ""


class _AboutAccount(_About):
    subject = "account"
    inherit_cache = True


class _AboutPerson(_About):
    subject = "person"
    inherit_cache = True


@compiles(_AboutAccount, "postgresql")
@compiles(_AboutPerson, "postgresql")
def _postgresql(element: _About, compiler, **kw) -> str:
    return POSTGRESQL_EXPRESSIONS[element.subject]


@compiles(_AboutAccount)
@compiles(_AboutPerson)
def _portable(element: _About, compiler, **kw) -> str:
    return PORTABLE_EXPRESSIONS[element.subject]


_ELEMENTS = {"account": _AboutAccount, "person": _AboutPerson}


def about(subject: str) -> FunctionElement:
    """The id (as text) of the `subject` ("account" or "person") an event is about, or NULL."""
    return _ELEMENTS[subject]()
