"""The audit queries pages use: a period newest first along occurred_at, paged by seq; a period's seq range."""

from __future__ import annotations

from datetime import timedelta

from govern.audit.trail import seq_range_for_times
from govern.audit.service import EventFilter, events_query, history_of, record
from govern.db import utcnow


def test_a_period_pages_newest_first_and_each_event_once(session, actor):
    since = utcnow() - timedelta(seconds=1)
    seqs = [record(session, actor, "accounts:account:update", "account", 424242, n=n).seq for n in range(7)]
    session.flush()
    period = EventFilter(target_type="account", target_id="424242", since=since, until=utcnow() + timedelta(minutes=1))
    seen, cursor = [], None
    while True:
        page = list(session.scalars(events_query(period, cursor).limit(3)))
        seen += [event.seq for event in page]
        if len(page) < 3:
            break
        cursor = page[-1].seq
    assert seen == sorted(seqs, reverse=True)
    first, last = seq_range_for_times(session, since, utcnow() + timedelta(minutes=1))
    assert first <= seqs[0] and last >= seqs[-1]


def test_history_of_says_whether_there_is_more(session, actor):
    for n in range(4):
        record(session, actor, "accounts:account:update", "person", 535353, n=n)
    session.flush()
    events, more = history_of(session, "person", 535353, 3)
    assert len(events) == 3 and more
    assert history_of(session, "person", 535353, 4)[1] is False
