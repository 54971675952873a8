"""Read-only questions about the directory groups SCIM stored, for domains that name groups (approval steps):
which groups exist, who is in a group, which groups a person is in. Plain queries over the SCIM group models, with
no service or entry point behind them, so a domain above may ask without depending on SCIM provisioning."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.scim.group_models import ScimGroup, ScimGroupMember


def group_names(session: Session, group_ids: Iterable[str]) -> dict[str, str]:
    """Group id -> display name for the stored groups among `group_ids` (a deleted one is simply absent)."""
    wanted = sorted({str(g) for g in group_ids})
    if not wanted:
        return {}
    rows = session.execute(select(ScimGroup.id, ScimGroup.display_name).where(ScimGroup.id.in_(wanted)))
    return {group_id: name for group_id, name in rows}


def member_counts(session: Session, group_ids: Iterable[str]) -> dict[str, int]:
    """Group id -> how many known people are members (groups with none are absent)."""
    wanted = sorted({str(g) for g in group_ids})
    if not wanted:
        return {}
    query = (select(ScimGroupMember.group_id, func.count()).where(ScimGroupMember.group_id.in_(wanted),
                                                                   ScimGroupMember.person_id.is_not(None))
             .group_by(ScimGroupMember.group_id))
    return {group_id: count for group_id, count in session.execute(query)}


def members_of(session: Session, group_ids: Iterable[str]) -> list[int]:
    """The people (ids) who are members of any of the groups, each once, in id order."""
    wanted = sorted({str(g) for g in group_ids})
    if not wanted:
        return []
    query = (select(ScimGroupMember.person_id).where(ScimGroupMember.group_id.in_(wanted),
                                                     ScimGroupMember.person_id.is_not(None))
             .distinct().order_by(ScimGroupMember.person_id))
    return [pid for pid in session.scalars(query) if pid is not None]


def groups_of(session: Session, person_id: int) -> list[str]:
    """The ids of the groups the person is a member of now, in id order."""
    query = select(ScimGroupMember.group_id).where(ScimGroupMember.person_id == person_id).distinct().order_by(ScimGroupMember.group_id)
    return list(session.scalars(query))


def all_groups(session: Session, limit: int = 500) -> list[ScimGroup]:
    """The stored groups by name, for a picker."""
    return list(session.scalars(select(ScimGroup).order_by(func.lower(ScimGroup.display_name)).limit(limit)))
