"""Building a compliance report: the named builder's figures stamped with the period and the audit chain head."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from govern.accounts.models import Network
from govern.audit.models import AuditChainHead, AuditCheckpoint
from govern.auth.models import ConsoleUser
from govern.reports.builders import access, accounts, credentials, leavers, policy, reviews
from govern.reports.document import (
    BadReportRequest,
    ChainHead,
    CheckpointRef,
    Period,
    Report,
    ReportParts,
    UnknownReport,
)

__all__ = ["REPORTS", "FORMATS", "Period", "Report", "BadReportRequest", "UnknownReport", "build_report",
           "chain_head", "latest_checkpoint", "check_name", "read_consistently"]

REPORTS: tuple[str, ...] = ("access", "leavers", "accounts", "policy", "credentials", "reviews")
FORMATS: tuple[str, ...] = ("csv", "json", "pdf")

_BUILDERS: dict[str, Callable[[Session, Period, object], ReportParts]] = {
    "access": access.build,
    "leavers": leavers.build,
    "accounts": accounts.build,
    "policy": policy.build,
    "credentials": credentials.build,
    "reviews": reviews.build,
}


def check_name(name: str) -> str:
    if name not in _BUILDERS:
        raise UnknownReport("there is no report named %(name)s; the reports are: %(value)s", name=f"{name!r}", value=', '.join(REPORTS))
    return name


def chain_head(session: Session) -> ChainHead:
    head = session.execute(select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)).one_or_none()
    return ChainHead(int(head.last_seq), head.last_hash) if head else ChainHead(0, "")


def latest_checkpoint(session: Session) -> CheckpointRef | None:
    row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(1)).first()
    return CheckpointRef(int(row.seq), row.key_id, row.signed_at, row.head_hash) if row else None


def read_consistently(session: Session) -> None:
    """On PostgreSQL, read what follows from one snapshot (REPEATABLE READ), so a report's figures and its streamed
    rows agree even while others write. Only at the start of the session's transaction and on a pooled engine
    (a session joined to an outer connection, as in the tests, keeps that connection's level)."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def build_report(session: Session, name: str, period: Period, settings) -> Report:
    """Read-only: the figures of report `name` over `period`, and the audit chain head they were read at."""
    builder = _BUILDERS[check_name(name)]
    head, checkpoint = chain_head(session), latest_checkpoint(session)
    parts = builder(session, period, settings)
    return Report(
        name=name, title=parts.title, period=period, generated_at=datetime.now(timezone.utc), basis=tuple(parts.basis),
        chain_head=head, checkpoint=checkpoint, summary=dict(parts.summary), sections=tuple(parts.sections),
        alerts=tuple(parts.alerts), charts=tuple(parts.charts), frameworks=tuple(parts.frameworks),
        network_names={key: name for key, name in session.execute(select(Network.key, Network.display_name))},
        actor_names={f"console_user:{user_id}": name
                     for user_id, name in session.execute(select(ConsoleUser.id, ConsoleUser.display_name))},
    )
