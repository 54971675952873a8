"""govern.db.transaction_memo: what a schedule batch reads once (the pause lock, the active pauses, each grant) is read
on every call outside a block, once inside, and again after it is forgotten or the block ends."""

from __future__ import annotations

from govern.db import forget, in_transaction_memo, remembered, transaction_memo


class Reads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_outside_a_block_every_call_reads(session):
    reads = Reads()
    assert [remembered(session, "k", reads) for _ in range(3)] == [1, 2, 3]
    assert not in_transaction_memo(session)


def test_inside_a_block_each_key_is_read_once_until_forgotten(session):
    reads, other = Reads(), Reads()
    with transaction_memo(session):
        assert in_transaction_memo(session)
        assert [remembered(session, "k", reads) for _ in range(3)] == [1, 1, 1]
        assert remembered(session, ("grant", 1, 2), other) == 1 and remembered(session, ("grant", 1, 2), other) == 1
        forget(session, "k")
        assert remembered(session, "k", reads) == 2
        with transaction_memo(session):  # a nested block shares the outer one's reads
            assert remembered(session, "k", reads) == 2
        assert in_transaction_memo(session)
    assert not in_transaction_memo(session)
    assert remembered(session, "k", reads) == 3


def test_a_block_that_raises_forgets_everything(session):
    reads = Reads()
    try:
        with transaction_memo(session):
            remembered(session, "k", reads)
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    assert not in_transaction_memo(session)
    assert remembered(session, "k", reads) == 2
