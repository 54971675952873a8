"""Network-side roles a leaver may hold on an account, which govern cannot remove through an API: the steps to do it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import SocialAccount
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.directory.models import Departure, OffboardingTask
from govern.errors import Conflict, NotFound
from govern.grants.models import Grant
from govern.pagination import CountedPage, paginate
from govern.people.models import Person

# Networks where people can also hold roles of their own on the account (Page roles, page admins, channel
# permissions). govern revokes its grants at once; these need a person with admin rights at the network.
STEPS = {
    "facebook": "In Meta Business Suite, open Settings > People (and Settings > Page access for the Page {handle}) "
                "and remove {name} <{email}> from the Page and from any Business Manager asset it reaches.",
    "instagram": "In Meta Business Suite, open Settings > Instagram accounts > {handle} > Assigned people and "
                 "remove {name} <{email}>.",
    "linkedin": "On the LinkedIn Page {handle}, open Admin view > Settings > Manage admins and remove {name} <{email}> "
                "from every admin role.",
    "youtube": "In YouTube Studio for {handle}, open Settings > Permissions and remove {email}.",
    "tiktok": "In TikTok Business Center, open Members and remove {name} <{email}> from the assets of {handle}.",
    "threads": "Threads follows the linked Instagram account: remove {name} <{email}> there (Meta Business Suite).",
}


def _accounts_reached_by(session: Session, person_id: int, since: datetime) -> list[SocialAccount]:
    """Accounts the person had access to through govern right up to their departure."""
    still_effective = or_(Grant.revoked_at.is_(None), Grant.revoked_at >= since)
    reached = select(Grant.account_id).where(Grant.person_id == person_id, still_effective, Grant.starts_at <= since)
    return list(session.scalars(select(SocialAccount).where(SocialAccount.id.in_(reached)).order_by(SocialAccount.id)).unique())


def _list_manual_removals(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    departure, person = session.get(Departure, departure_id), session.get(Person, person_id)
    created = 0
    for account in _accounts_reached_by(session, person_id, departure.first_seen_at):
        template = STEPS.get(account.network.kind.value)
        if template is None:
            continue
        steps = template.format(handle=account.handle, name=person.display_name, email=person.email or person.username)
        session.add(OffboardingTask(departure_id=departure_id, account_id=account.id, network=account.network.key, steps=steps))
        created += 1
    session.flush()
    return {"manual_network_removals": created}


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.person_departed.connect(_list_manual_removals, weak=False)


def open_tasks(session: Session, limit: int = 200) -> list[OffboardingTask]:
    return list(session.scalars(select(OffboardingTask).where(OffboardingTask.done_at.is_(None)).order_by(OffboardingTask.id).limit(limit)))


def open_tasks_page(session: Session, limit: int = 25, cursor: str | None = None) -> CountedPage[OffboardingTask]:
    """The removals still to do at the networks, oldest first, a page at a time, with how many there are in all."""
    waiting = select(OffboardingTask).where(OffboardingTask.done_at.is_(None))
    page = paginate(session, waiting, "id", OffboardingTask.id, OffboardingTask.id, limit, cursor)
    whole = cursor is None and page.next_cursor is None
    total = len(page.items) if whole else session.scalar(
        select(func.count()).select_from(OffboardingTask).where(OffboardingTask.done_at.is_(None)))
    return CountedPage(page.items, page.next_cursor, total)


def complete_task(session: Session, actor: Actor, task_id: int) -> OffboardingTask:
    task = session.get(OffboardingTask, task_id)
    if task is None:
        raise NotFound("offboarding task %(task_id)s does not exist", task_id=task_id)
    if task.done_at is not None:
        raise Conflict("offboarding task %(task_id)s was already done", task_id=task_id)
    task.done_at, task.done_by = utcnow(), actor.id
    session.flush()
    record(session, actor, "directory:offboarding_task:complete", "account", task.account_id, task_id=task.id,
           departure_id=task.departure_id, network=task.network)
    return task
