"""A campaign's progress kept as its items change: per reviewer, how many items wait and how many got each decision.

Every change of an item's decision or reviewer (opening, deciding, closing an item removed outside the review,
escalation, revocation at the deadline) calls `moved` or `recount` in its own transaction, so the campaign's pages
read one review_progress row per reviewer instead of counting the campaign's items (issue 12). A reviewer's row is
made when the campaign opens or, for governance, when the deadline escalates items to it: both under the campaign's
row lock, so two transactions never make the same row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from sqlalchemy import and_, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from govern.reviews.models import GOVERNANCE_KEY, PROGRESS_COLUMNS, ItemDecision, ReviewItem, ReviewProgress

# (reviewer before, decision before, reviewer after, decision after) -> how many items moved so; a reviewer of None
# and a decision of None are governance and "undecided", as on the items
Move = tuple[int | None, ItemDecision | None, int | None, ItemDecision | None]


def reviewer_key(reviewer_id: int | None) -> int:
    return GOVERNANCE_KEY if reviewer_id is None else reviewer_id


def column_of(decision: ItemDecision | None) -> str:
    return "undecided" if decision is None else decision.value


def counted_from_items(campaign_id: int):
    """The campaign's progress rows counted from its items (one GROUP BY): campaign_id, reviewer_key, the counts."""
    key = func.coalesce(ReviewItem.reviewer_person_id, GOVERNANCE_KEY)
    counts = [func.count().filter(ReviewItem.decision.is_(None)).label("undecided"),
              *(func.count().filter(ReviewItem.decision == decision).label(decision.value) for decision in ItemDecision)]
    return (select(literal(campaign_id).label("campaign_id"), key.label("reviewer_key"), *counts)
            .where(ReviewItem.campaign_id == campaign_id).group_by(key))


def recount(session: Session, campaign_id: int) -> None:
    """Count the campaign's rows again from its items: after the snapshot that opens it (hundreds of thousands of
    items in one INSERT ... SELECT), where counting once is cheaper than following every row."""
    session.execute(delete(ReviewProgress).where(ReviewProgress.campaign_id == campaign_id))
    session.execute(insert(ReviewProgress).from_select(["campaign_id", "reviewer_key", *PROGRESS_COLUMNS],
                                                       counted_from_items(campaign_id)))


def moved(session: Session, campaign_id: int, moves: Mapping[Move, int]) -> None:
    """Follow items from one (reviewer, decision) to another: one UPDATE per reviewer touched, in reviewer order
    (two transactions deciding for the same reviewers lock their rows in the same order)."""
    deltas: dict[int, Counter[str]] = defaultdict(Counter)
    for (reviewer_before, before, reviewer_after, after), count in moves.items():
        deltas[reviewer_key(reviewer_before)][column_of(before)] -= count
        deltas[reviewer_key(reviewer_after)][column_of(after)] += count
    for key in sorted(deltas):
        change = {column: delta for column, delta in deltas[key].items() if delta}
        if not change:
            continue
        row = and_(ReviewProgress.campaign_id == campaign_id, ReviewProgress.reviewer_key == key)
        done = session.execute(update(ReviewProgress).where(row)
                               .values({column: getattr(ReviewProgress, column) + delta for column, delta in change.items()})
                               .execution_options(synchronize_session=False))
        if done.rowcount == 0:  # governance receiving its first items at the deadline
            session.execute(insert(ReviewProgress).values(campaign_id=campaign_id, reviewer_key=key,
                                                          **change))
        if sum(change.values()) < 0:  # a reviewer left with no items has no row, as a GROUP BY over items has none
            session.execute(delete(ReviewProgress).where(
                row, *(getattr(ReviewProgress, column) == 0 for column in PROGRESS_COLUMNS)))


def item_moved(session: Session, item: ReviewItem, before: ItemDecision | None) -> None:
    """One item decided (its reviewer unchanged): `before` is the decision it had."""
    moved(session, item.campaign_id, {(item.reviewer_person_id, before, item.reviewer_person_id, item.decision): 1})


def ensure_row(session: Session, campaign_id: int, reviewer_id: int | None) -> None:
    """Make the reviewer's row (all zero) if the campaign has none yet: an item handed to someone new. An insert that
    ignores a row another transaction made first, so no lock on the campaign is needed and two hand-overs to the same
    new reviewer never collide."""
    values = {"campaign_id": campaign_id, "reviewer_key": reviewer_key(reviewer_id), **dict.fromkeys(PROGRESS_COLUMNS, 0)}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(ReviewProgress).values(values).on_conflict_do_nothing())
    else:
        session.execute(insert(ReviewProgress).values(values).prefix_with("OR IGNORE"))
