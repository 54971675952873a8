"""A clock the test moves, for code that takes `clock=` instead of reading the time itself."""

from __future__ import annotations

import threading
from collections.abc import Callable


class FakeClock:
    """Stands still until the test calls advance(); callable like time.time or time.monotonic.

    Every read is counted and announced, so a test can wait for a thread to get as far as reading the clock: it waits
    for the thread's progress, never for time to pass.
    """

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.reads = 0
        self._read = threading.Condition()

    def __call__(self) -> float:
        with self._read:
            self.reads += 1
            self._read.notify_all()
            return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate()` holds when the clock is read (checked now and at every read), or the timeout."""
        with self._read:
            return self._read.wait_for(predicate, timeout)
