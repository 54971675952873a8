"""Counters of refused anonymous noise: one structured log line each (event "counted"), with this process's total.

Noise (garbage hand-off tokens, wrong passwords, requests over a rate limit) is counted, not audited: a log pipeline
turns these lines into a metric by `counter` (docs/operations.md, "Logs"), and the totals are at hand in-process.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import structlog

log = structlog.get_logger("govern.metrics")
_totals: Counter[str] = Counter()
_lock = threading.Lock()


def count(counter: str, **fields: Any) -> int:
    """Add one to `counter` and log it at info; returns this process's total so far."""
    with _lock:
        _totals[counter] += 1
        total = _totals[counter]
    log.info("counted", counter=counter, total=total, **fields)
    return total


def totals() -> dict[str, int]:
    with _lock:
        return dict(_totals)
