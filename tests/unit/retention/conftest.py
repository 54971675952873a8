"""Rows of every deletable data kind, dated around a kind's cutoff, for the retention tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from govern.accounts.models import SocialAccount
from govern.audit.models import AuditEvent
from govern.auth.models import ConsoleSession, ConsoleUser, LoginLink
from govern.auth.roles import Role
from govern.db import utcnow
from govern.directory.models import SyncMode, SyncRun, SyncStatus
from govern.notifications.models import Notification
from govern.outbox import service as outbox
from govern.outbox.models import FINISHED, JobState, OutboxJob
from govern.people.models import Person
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.retention.kinds import DEFAULT_RETENTION_DAYS
from tests import factories

TICK = timedelta(microseconds=1)


class Rows:
    """Builds rows of each kind, either past the retention ("old") or still inside it, or never eligible."""

    def __init__(self, session, actor, now: datetime) -> None:
        self.session, self.now = session, now
        self.person: Person = factories.person(session, actor)
        self.account: SocialAccount = factories.account(session, actor)
        self.user = ConsoleUser(email=f"retention-{self.person.id}@example.com", display_name="Retention", role=Role.ADMIN)
        session.add(self.user)
        session.flush()
        self._n = 0

    def cutoff(self, kind: str) -> datetime:
        return self.now - timedelta(days=DEFAULT_RETENTION_DAYS[kind])

    def _add(self, row):
        self.session.add(row)
        self.session.flush()
        return row

    def notification(self, at: datetime, read: bool = True) -> Notification:
        return self._add(Notification(person_id=self.person.id, kind="test", subject_type="test", subject_id="1",
                                      message="hello", created_at=at, read_at=at + timedelta(minutes=1) if read else None))

    def sync_run(self, at: datetime, status: SyncStatus = SyncStatus.SUCCEEDED) -> SyncRun:
        return self._add(SyncRun(source="ldap", mode=SyncMode.FULL, status=status, started_at=at - timedelta(minutes=5),
                                 finished_at=at))

    def violation(self, at: datetime, status: ViolationStatus = ViolationStatus.RESOLVED) -> PolicyViolation:
        self._n += 1
        closed = status in (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE)
        return self._add(PolicyViolation(
            account_id=self.account.id, content_kind=ContentKind.POST, external_id=f"post-{self._n}", decision=Action.BLOCK,
            findings=[], masked_text="[masked]", pack_version="v1", status=status, detected_at=at - timedelta(days=1),
            closed_at=at if closed else None, closed_by="test" if closed else None,
        ))

    def approval(self, at: datetime, status: ApprovalStatus = ApprovalStatus.APPROVED) -> PublishApproval:
        decided = status is not ApprovalStatus.PENDING
        return self._add(PublishApproval(
            account_id=self.account.id, person_id=self.person.id, requested_by="test", network_action="publish",
            params={"text": "[masked]"}, findings=[], pack_version="v1", status=status, requested_at=at - timedelta(hours=1),
            decided_at=at if decided else None, decided_by="test" if decided else None,
        ))

    def sign_in_link(self, at: datetime) -> LoginLink:
        self._n += 1
        return self._add(LoginLink(user_id=self.user.id, code_hash=f"{self._n:064d}", created_at=at - timedelta(minutes=15),
                                   expires_at=at))

    def job(self, at: datetime, state: JobState = JobState.DONE) -> OutboxJob:
        job = outbox.add(self.session, "govern.policy.scan_published", [], now=at - timedelta(minutes=1))
        job.state, job.finished_at = state, (at if state in FINISHED else None)
        self.session.flush()
        return job

    def console_session(self, at: datetime) -> ConsoleSession:
        self._n += 1
        return self._add(ConsoleSession(id_hash=f"{self._n:064d}", user_id=self.user.id, role="admin", method="login_link",
                                        started_at=at - timedelta(hours=8), last_seen_at=at - timedelta(hours=1), expires_at=at))

    def build(self, kind: str, at: datetime):
        return {"notifications": self.notification, "sync_runs": self.sync_run, "policy_violations": self.violation,
                "policy_approvals": self.approval, "sign_in_links": self.sign_in_link,
                "console_sessions": self.console_session, "jobs": self.job}[kind](at)


DELETABLE_KINDS = ("notifications", "sync_runs", "policy_violations", "policy_approvals", "sign_in_links", "console_sessions", "jobs")
MODELS = {"notifications": Notification, "sync_runs": SyncRun, "policy_violations": PolicyViolation,
          "policy_approvals": PublishApproval, "sign_in_links": LoginLink, "console_sessions": ConsoleSession, "jobs": OutboxJob}


def exists(session, kind: str, row_id: int) -> bool:
    model = MODELS[kind]
    return session.scalar(select(func.count()).select_from(model).where(model.id == row_id)) == 1


def audit_events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@pytest.fixture
def now() -> datetime:
    return utcnow()


@pytest.fixture
def rows(session, actor, now) -> Rows:
    return Rows(session, actor, now)
