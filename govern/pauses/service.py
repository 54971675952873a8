"""Pause All: pause publishing for a scope, resume it (a second person) or let it end at its time, and the check every
guarded action makes. Flushes only.

Propagation: nothing is cached across transactions. Every guarded action reads the active pauses from the database
(one query on a tiny table) under a shared advisory lock held until its transaction ends; creating a pause takes the
same lock exclusively, so it waits (a bounded while) for actions already past the check to finish, and every action
checked after its commit sees it, in every process. The schedule's batch reads them once for its whole transaction
(decision 0081): the lock it holds keeps any pause from starting meanwhile.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from govern.accounts.models import Network, SocialAccount
from govern.actor import Actor
from govern.audit.service import record
from govern.db import remembered, utcnow
from govern.errors import N_, Conflict, DomainError, InvalidOperation, NotFound
from govern.pauses.models import PauseRelease, PauseScope, PublishingPause
from govern.signals import publishing_pause_ended

PAUSED_ACTIONS = frozenset({"publish", "reply", "delete_post"})  # what a pause stops; moderation and reads go on
MAX_REASON = 2000
_PAUSE_LOCK_KEY = 0x7061757365  # "pause": guarded actions hold it shared, a new pause takes it exclusively
_DRAIN_TIMEOUT = "2s"  # how long a new pause waits for actions already past the check; it commits regardless


class PublishingPaused(DomainError):
    """A publish, reply, post deletion or hand-off refused because a pause covers the account (423, naming the pause)."""

    status = 423
    title = "Publishing is paused"
    problem_type = "publishing-paused"
    keeps_audit = True  # the refused attempt stays on the record
    message_argument = 0  # worded by the class

    def __init__(self, pause: PublishingPause, doing: str) -> None:
        super().__init__(N_("publishing is paused (pause %(pause_id)s, scope %(scope)s), so %(doing)s was refused: %(reason)s"),
                         code="publishing-paused", pause_id=pause.id, scope=scope_text(pause), doing=doing,
                         reason=pause.reason)
        self.pause = pause

    def problem_members(self) -> dict[str, Any]:
        return {"pause": self.pause.document()}


def scope_text(pause: PublishingPause) -> str:
    return pause.scope_type.value if pause.scope_value is None else f"{pause.scope_type.value}:{pause.scope_value}"


# --- the check ------------------------------------------------------------------------------------
def active_condition(now: datetime):
    return PublishingPause.resumed_at.is_(None), or_(PublishingPause.resume_at.is_(None), PublishingPause.resume_at > now)


def covering_pause(session: Session, account: SocialAccount, now: datetime | None = None) -> PublishingPause | None:
    """The oldest active pause whose scope takes in the account, or None.

    Takes the pause lock shared first (until the transaction ends), so a pause committed meanwhile waits for the caller
    instead of racing it. Inside a transaction_memo block the lock and the active pauses are read once: while the lock
    is held no pause can start."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        remembered(session, "pauses:shared-lock", lambda: _hold_pause_lock_shared(session))
    active = remembered(session, "pauses:active", lambda: list(session.scalars(
        select(PublishingPause).where(*active_condition(now)).order_by(PublishingPause.paused_at, PublishingPause.id))))
    return next((pause for pause in active if _in_force(pause, now) and covers(pause, account)), None)


def _in_force(pause: PublishingPause, now: datetime) -> bool:
    return pause.resumed_at is None and (pause.resume_at is None or pause.resume_at > now)


def covers(pause: PublishingPause, account: SocialAccount) -> bool:
    """Whether the pause's scope takes in the account."""
    if pause.scope_type is PauseScope.ALL:
        return True
    if pause.scope_type is PauseScope.ACCOUNT:
        return pause.scope_value == str(account.id)
    if pause.scope_type is PauseScope.NETWORK:
        return pause.scope_value == account.network.key
    return bool(account.business_unit) and pause.scope_value == account.business_unit


def refuse_if_paused(session: Session, actor: Actor, account: SocialAccount, doing: str, person_id: int | None,
                     content: str | None = None) -> None:
    """Raise PublishingPaused (and audit the refused attempt) when an active pause covers the account.

    A publish whose exact text (`content`) a release names for this account goes through once: the release is
    consumed and audited (docs/decisions/0075). Holds the pause lock shared until the caller's transaction ends
    (covering_pause), so a pause committed meanwhile waits for this action instead of racing it."""
    pause = covering_pause(session, account)
    if pause is None:
        return
    if doing == "publish" and content is not None and _consume_release(session, actor, account, pause, content):
        return
    record(session, actor, "pauses:action:refuse", "account", account.id, pause_id=pause.id, network_action=doing,
           person_id=person_id, scope=scope_text(pause))
    raise PublishingPaused(pause, doing)


def _hold_pause_lock_shared(session: Session) -> bool:
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _PAUSE_LOCK_KEY})
    return True


def text_digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def grant_release(session: Session, actor: Actor, account: SocialAccount, content: str, reference: str) -> PauseRelease:
    """Let this account publish exactly this text once while paused. Only crisis runbooks call it, after a second
    person confirmed a pre-approved statement, and in the transaction that publishes it."""
    release = PauseRelease(account_id=account.id, text_sha256=text_digest(content), reference=reference[:255],
                           granted_by=actor.id, granted_by_name=actor.name[:255], granted_at=utcnow())
    session.add(release)
    session.flush()
    record(session, actor, "pauses:release:grant", "account", account.id, release_id=release.id,
           text_sha256=release.text_sha256, reference=release.reference)
    return release


def _consume_release(session: Session, actor: Actor, account: SocialAccount, pause: PublishingPause, content: str) -> bool:
    release = session.scalar(select(PauseRelease).where(
        PauseRelease.account_id == account.id, PauseRelease.text_sha256 == text_digest(content),
        PauseRelease.consumed_at.is_(None)).order_by(PauseRelease.id).limit(1).with_for_update(skip_locked=True))
    if release is None:
        return False
    release.consumed_at = utcnow()
    session.flush()
    record(session, actor, "pauses:release:use", "account", account.id, release_id=release.id, pause_id=pause.id,
           scope=scope_text(pause), text_sha256=release.text_sha256, reference=release.reference)
    return True


# --- pausing and resuming ---------------------------------------------------------------------------
def resolve_scope(session: Session, scope_type: PauseScope, value: Any) -> str | None:
    """The scope's stored value, checked: a business unit some account belongs to, a known network, an account."""
    text_value = "" if value is None else str(value).strip()
    if scope_type is PauseScope.ALL:
        if text_value:
            raise InvalidOperation("a pause of everything takes no scope value")
        return None
    if not text_value:
        raise InvalidOperation("say which %(scope)s to pause", scope=scope_type.value)
    if scope_type is PauseScope.BUSINESS_UNIT:
        if session.scalar(select(SocialAccount.id).where(SocialAccount.business_unit == text_value).limit(1)) is None:
            raise InvalidOperation("no account belongs to business unit %(value)s", value=text_value)
    elif scope_type is PauseScope.NETWORK:
        if session.scalar(select(Network.id).where(Network.key == text_value)) is None:
            raise InvalidOperation("there is no network %(value)s", value=text_value)
    elif scope_type is PauseScope.ACCOUNT:
        if not text_value.isdigit() or len(text_value) > 12 or session.get(SocialAccount, int(text_value)) is None:
            raise InvalidOperation("there is no account %(value)s", value=text_value)
        text_value = str(int(text_value))
    return text_value


def pause(session: Session, actor: Actor, person_id: int | None, scope_type: PauseScope, scope_value: Any,
          reason: str, resume_at: datetime | None = None) -> PublishingPause:
    """Stop publishing for the scope now. Waits (at most _DRAIN_TIMEOUT) for guarded actions already under way."""
    reason = (reason or "").strip()
    if len(reason) < 3 or len(reason) > MAX_REASON:
        raise InvalidOperation("say why publishing is paused (3 to %(count)s characters)", count=MAX_REASON)
    if resume_at is not None and resume_at <= utcnow():
        raise InvalidOperation("the automatic resume time must be in the future")
    value = resolve_scope(session, scope_type, scope_value)
    drained = _drain_actions_under_way(session)
    paused = PublishingPause(scope_type=scope_type, scope_value=value, reason=reason, paused_by=actor.id,
                             paused_by_name=actor.name[:255], paused_by_person_id=person_id, paused_at=utcnow(),
                             resume_at=resume_at)
    session.add(paused)
    session.flush()
    record(session, actor, "pauses:pause:create", "publishing_pause", paused.id, scope=scope_text(paused),
           reason=reason, resume_at=resume_at.isoformat() if resume_at else None, person_id=person_id,
           waited_for_actions_under_way=drained)
    return paused


def _drain_actions_under_way(session: Session) -> bool:
    """Take the pause lock exclusively: actions past the check finish first, later ones queue behind and then see the
    pause. A hung network call cannot hold a pause back: after _DRAIN_TIMEOUT the pause goes ahead (False)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    previous = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": _DRAIN_TIMEOUT})
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PAUSE_LOCK_KEY})
        return True
    except OperationalError:
        return False
    finally:
        session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": previous})


def get_pause(session: Session, pause_id: int, *, for_update: bool = False) -> PublishingPause:
    query = select(PublishingPause).where(PublishingPause.id == pause_id)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound("pause %(pause_id)s does not exist", pause_id=pause_id)
    return found


def resume(session: Session, actor: Actor, person_id: int | None, pause_id: int, note: str | None = None) -> PublishingPause:
    """End a pause. The person who paused cannot resume alone: a second person does (409 for the first)."""
    found = get_pause(session, pause_id, for_update=True)
    if found.resumed_at is not None:
        raise Conflict("pause %(pause_id)s was already resumed", pause_id=pause_id)
    if not found.is_active(utcnow()):
        raise Conflict("pause %(pause_id)s already ended at its automatic resume time", pause_id=pause_id)
    if actor.id == found.paused_by or (person_id is not None and person_id == found.paused_by_person_id):
        raise Conflict("the person who paused publishing cannot resume it alone: a second person must resume pause "
                       "%(pause_id)s", code="second-person-required", pause_id=pause_id)
    found.resumed_at, found.resumed_by, found.resumed_by_name = utcnow(), actor.id, actor.name[:255]
    found.resume_note = (note or "").strip()[:MAX_REASON] or None
    session.flush()
    record(session, actor, "pauses:pause:resume", "publishing_pause", found.id, scope=scope_text(found),
           note=found.resume_note, person_id=person_id, paused_by=found.paused_by)
    publishing_pause_ended.send(session, actor=actor, pause_id=found.id, auto=False)
    return found


def auto_resume_due(session: Session, actor: Actor, now: datetime | None = None) -> int:
    """Write down the pauses whose resume time has passed (they stopped covering anything at that time)."""
    now = now or utcnow()
    due = session.scalars(select(PublishingPause).where(
        PublishingPause.resumed_at.is_(None), PublishingPause.resume_at.is_not(None), PublishingPause.resume_at <= now,
    ).order_by(PublishingPause.id).with_for_update(skip_locked=True)).all()
    for found in due:
        found.resumed_at, found.resumed_by, found.resumed_by_name = found.resume_at, actor.id, actor.name[:255]
        found.auto_resumed = True
        session.flush()
        record(session, actor, "pauses:pause:auto_resume", "publishing_pause", found.id, scope=scope_text(found),
               resume_at=found.resume_at.isoformat())
        publishing_pause_ended.send(session, actor=actor, pause_id=found.id, auto=True)
    return len(due)


def active_pauses(session: Session, now: datetime | None = None) -> list[PublishingPause]:
    return list(session.scalars(select(PublishingPause).where(*active_condition(now or utcnow()))
                                .order_by(PublishingPause.paused_at, PublishingPause.id)))


def list_pauses(session: Session, active: bool | None = None, limit: int = 200) -> list[PublishingPause]:
    """Pauses newest first: the active ones, the ended ones, or both."""
    query = select(PublishingPause).order_by(PublishingPause.paused_at.desc(), PublishingPause.id.desc())
    now = utcnow()
    if active is True:
        query = query.where(*active_condition(now))
    elif active is False:
        query = query.where(or_(PublishingPause.resumed_at.is_not(None), PublishingPause.resume_at <= now))
    return list(session.scalars(query.limit(limit)))
