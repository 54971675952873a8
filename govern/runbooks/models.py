"""What a crisis runbook keeps (scope, severities, contacts per stage, checklist, holding statements) and the incidents
it opens (their timeline, the statements released during a pause)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.db import Base, enum_column, utcnow
from govern.pauses.models import PauseScope


class Runbook(Base):
    __tablename__ = "runbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scope_type: Mapped[PauseScope] = mapped_column(enum_column(PauseScope))
    scope_value: Mapped[str | None] = mapped_column(String(255))
    severities: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. ["low", "high", "critical"]
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{name, contacts: [{type, value}]}]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{key, title, owner}]
    pause_on_activate: Mapped[bool] = mapped_column(default=True)
    auto_activate: Mapped[bool] = mapped_column(default=False)
    auto_severity: Mapped[str | None] = mapped_column(String(40))  # the severity an alert activates it with
    created_by: Mapped[str] = mapped_column(String(255))
    created_by_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    statements: Mapped[list[RunbookStatement]] = relationship(back_populates="runbook", order_by="RunbookStatement.id")


class RunbookStatement(Base):
    """A holding statement in one language (en, ar, he), for one network or any; pre-approved once a second person
    (not its author) approved it. Changing its text means writing a new one."""

    __tablename__ = "runbook_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    runbook_id: Mapped[int] = mapped_column(ForeignKey("runbooks.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    network: Mapped[str | None] = mapped_column(String(64))  # a network key; None for any network
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    author_name: Mapped[str] = mapped_column(String(255))
    author_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_by_name: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]

    runbook: Mapped[Runbook] = relationship(back_populates="statements")

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


class IncidentStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    runbook_id: Mapped[int] = mapped_column(ForeignKey("runbooks.id"), index=True)
    status: Mapped[IncidentStatus] = mapped_column(enum_column(IncidentStatus), default=IncidentStatus.OPEN, index=True)
    severity: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    pause_id: Mapped[int | None] = mapped_column(ForeignKey("publishing_pauses.id"))
    opened_by: Mapped[str] = mapped_column(String(255))
    opened_by_name: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    steps_done: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # step key -> {by, by_name, at}
    stage: Mapped[int] = mapped_column(default=0)  # the runbook stage last told: 0 = the first (told on activation)
    stage_since: Mapped[datetime | None] = mapped_column(default=utcnow)  # when it reached it (None: since it opened)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(255))
    closed_by_name: Mapped[str | None] = mapped_column(String(255))
    close_note: Mapped[str | None] = mapped_column(Text)

    runbook: Mapped[Runbook] = relationship()
    timeline: Mapped[list[IncidentEvent]] = relationship(order_by="IncidentEvent.id", back_populates="incident")


class IncidentEvent(Base):
    """One line of an incident's timeline: activation, pause, notifications, a step ticked, a statement, the close."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str] = mapped_column(String(255))
    actor_name: Mapped[str] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline")


class ReleaseStatus(str, enum.Enum):
    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"


class StatementRelease(Base):
    """A crisis lead's request to publish a pre-approved statement to one account during the incident; a second
    person confirms it, and only then does it go out (through a single-use pause release)."""

    __tablename__ = "statement_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("runbook_statements.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"))
    status: Mapped[ReleaseStatus] = mapped_column(enum_column(ReleaseStatus), default=ReleaseStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_by_name: Mapped[str] = mapped_column(String(255))
    requested_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(255))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(255))
    confirmed_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)

    statement: Mapped[RunbookStatement] = relationship()
