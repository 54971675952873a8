"""Test helpers for the audit trail."""

from __future__ import annotations

import sqlalchemy as sa


def tamper(session, statement: str, **params) -> None:
    """Change rows behind govern's back, as a database administrator could (bypassing triggers)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
    connection.execute(sa.text(statement), params)
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SET LOCAL session_replication_role = origin"))
    session.expire_all()
