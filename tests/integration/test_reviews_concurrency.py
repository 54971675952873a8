"""Access reviews under concurrent writers on a committed database: a bulk keep and a single removal racing for the
same item decide it once, the loser is told it was decided, and two hand-overs to the same new reviewer never collide;
the kept per-reviewer counts equal the items afterwards."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from govern.actor import Actor
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.reviews import service
from govern.reviews.models import ItemDecision, ReviewItem, ReviewProgress, ScopeKind
from tests import factories

ACTOR = Actor.system("reviews-race")


def build(app) -> dict[str, int]:
    with app.app_context():
        session = db.session
        owner = factories.person(session, ACTOR, display_name="Owner")
        holders = [factories.person(session, ACTOR, display_name=f"Holder {n}") for n in range(3)]
        colleague = factories.person(session, ACTOR, display_name="Colleague")
        account = factories.account(session, ACTOR, business_unit="Race", owner_id=owner.id)
        for holder in holders:
            create_grant(session, ACTOR, holder.id, account.id, GrantRole.ANALYST, "work")
        campaign = service.open_campaign(session, ACTOR, service.ReviewSettings(), name="Race", scope_kind=ScopeKind.BUSINESS_UNIT,
                                         scope_value="Race", deadline=datetime.now(timezone.utc) + timedelta(days=7))
        session.commit()
        return {"owner": owner.id, "colleague": colleague.id, "campaign": campaign.id}


def counts_match(app, campaign_id: int) -> None:
    with app.app_context():
        kept = {(row.reviewer_key, row.undecided, row.certified, row.revoked) for row in
                db.session.scalars(select(ReviewProgress).where(ReviewProgress.campaign_id == campaign_id))}
        rows = db.session.execute(select(ReviewItem.reviewer_person_id, ReviewItem.decision, func.count())
                                  .where(ReviewItem.campaign_id == campaign_id)
                                  .group_by(ReviewItem.reviewer_person_id, ReviewItem.decision)).all()
        counted: dict[int, list[int]] = {}
        for reviewer, decision, count in rows:
            column = {None: 1, ItemDecision.CERTIFIED: 2, ItemDecision.REVOKED: 3}[decision]
            counted.setdefault(reviewer or 0, [reviewer or 0, 0, 0, 0])[column] = count
        assert kept == {tuple(values) for values in counted.values()}


def run_together(*jobs) -> list[BaseException]:
    failures: list[BaseException] = []

    def guarded(job):
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - collected for the test to read
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    return failures


@pytest.mark.integration
def test_a_bulk_keep_and_a_removal_racing_for_one_item_decide_it_once(make_committed_app):
    app = make_committed_app()
    ids = build(app)
    with app.app_context():
        items = sorted(db.session.scalars(select(ReviewItem.id).where(ReviewItem.campaign_id == ids["campaign"])))
    owner = service.Decider(ids["owner"])
    locked = threading.Event()

    def bulk_keep():
        with app.app_context():
            service.decide_items(db.session, ACTOR, owner, items[:2], "certify")  # the third keeps the campaign open
            locked.set()
            time.sleep(0.5)  # holds the items' row locks while the removal waits for them
            db.session.commit()

    def single_remove():
        with app.app_context():
            locked.wait(10)
            service.decide_item(db.session, ACTOR, owner, items[0], "revoke", "racing")
            db.session.commit()

    failures = run_together(bulk_keep, single_remove)
    assert [type(failure).__name__ for failure in failures] == ["AlreadyDecided"], failures
    with app.app_context():
        decisions = dict(db.session.execute(select(ReviewItem.id, ReviewItem.decision).where(ReviewItem.id.in_(items))).all())
    assert decisions == {items[0]: ItemDecision.CERTIFIED, items[1]: ItemDecision.CERTIFIED, items[2]: None}
    counts_match(app, ids["campaign"])


@pytest.mark.integration
def test_two_hand_overs_to_the_same_new_reviewer_never_collide(make_committed_app):
    app = make_committed_app()
    ids = build(app)
    with app.app_context():
        first, second = sorted(db.session.scalars(select(ReviewItem.id).where(ReviewItem.campaign_id == ids["campaign"])))[:2]
    start = threading.Barrier(2)

    def hand_over(item_id: int):
        def job():
            with app.app_context():
                start.wait()
                service.reassign_item(db.session, ACTOR, service.Decider(ids["owner"]), item_id, ids["colleague"])
                db.session.commit()
        return job

    assert run_together(hand_over(first), hand_over(second)) == []
    with app.app_context():
        reviewers = set(db.session.scalars(select(ReviewItem.reviewer_person_id).where(ReviewItem.id.in_([first, second]))))
    assert reviewers == {ids["colleague"]}
    counts_match(app, ids["campaign"])
