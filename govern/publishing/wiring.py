"""Connects publishing to the domains below it: a pause covering a target's account holds the target."""

from __future__ import annotations

from sqlalchemy.orm import Session

from govern.pauses.service import covering_pause
from govern.publishing.models import PostTarget
from govern.publishing.post_publish import PAUSE_CHECKS


def paused(session: Session, target: PostTarget) -> bool:
    return covering_pause(session, target.account) is not None


def connect_receivers() -> None:
    if paused not in PAUSE_CHECKS:
        PAUSE_CHECKS.append(paused)
