"""Connects publishing to the domains below it: a pause covering a target's account holds the target, and the end of a
pause puts the targets it held back on the schedule."""

from __future__ import annotations

from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.pauses.service import covering_pause
from govern.publishing.models import PostTarget
from govern.publishing.post_publish import PAUSE_CHECKS
from govern.publishing.schedule import release_held


def paused(session: Session, target: PostTarget) -> bool:
    return covering_pause(session, target.account) is not None


def _release_held(session: Session, *, actor: Actor, pause_id: int, auto: bool) -> None:
    release_held(session, actor, pause_id)


def connect_receivers() -> None:
    if paused not in PAUSE_CHECKS:
        PAUSE_CHECKS.append(paused)
    signals.publishing_pause_ended.connect(_release_held, weak=False)
