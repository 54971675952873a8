"""Rate limits in front of the paths anyone can reach without a credential (sign-in, hand-off unwrap), through the
`limits` library: counters in Redis, shared by every instance, or in this process's memory when embedded.

Only refusals are counted; a caller over a limit is refused before any work is done. Each path says what happens
while the shared store does not answer (docs/decisions/0025-rate-limits-and-refusals.md): LOCAL keeps limiting with
this process's own counters, OPEN lets requests through. Neither turns a request into a 500.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from govern import metrics
from govern.config import Settings

log = structlog.get_logger("govern.throttle")
T = TypeVar("T")

OPEN, LOCAL = "open", "local"
NAME, ADDRESS, EVERYONE = "name", "address", "everyone"
OUTAGE_RETRY_SECONDS = 15.0  # after a store error, the store is tried again only this much later
STORE_TIMEOUT_SECONDS = 0.5  # a store that does not answer must not hold a request for long
SIGN_IN_METHODS = ("ldap", "oidc", "login_link")
HANDOFF_UNWRAP = "handoff_unwrap"


@dataclass(frozen=True)
class Rule:
    scope: str  # NAME (one name from one address), ADDRESS or EVERYONE
    amount: int
    window_seconds: int

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.amount, self.window_seconds)


@dataclass(frozen=True)
class Gate:
    name: str
    rules: tuple[Rule, ...]  # narrowest first: the first one exceeded names the refusal
    on_outage: str


@dataclass(frozen=True)
class Verdict:
    rule: Rule | None = None
    retry_after: int = 0

    @property
    def limited(self) -> bool:
        return self.rule is not None


def gates_from_settings(settings: Settings) -> dict[str, Gate]:
    window = settings.sign_in_failure_window_seconds
    sign_in_rules = (Rule(NAME, settings.sign_in_max_failures, window),
                     Rule(ADDRESS, settings.sign_in_max_failures_per_address, window),
                     Rule(EVERYONE, settings.sign_in_max_failures_global, window))
    unwrap_window = settings.handoff_unwrap_refusal_window_seconds
    gates = {f"sign_in:{method}": Gate(f"sign_in:{method}", sign_in_rules, LOCAL) for method in SIGN_IN_METHODS}
    gates[HANDOFF_UNWRAP] = Gate(HANDOFF_UNWRAP, (Rule(ADDRESS, settings.handoff_unwrap_max_refusals_per_address, unwrap_window),
                                                  Rule(EVERYONE, settings.handoff_unwrap_max_refusals_global, unwrap_window)), OPEN)
    return gates


def _identifiers(gate: Gate, rule: Rule, address: str | None, name: str | None) -> tuple[str, ...]:
    if rule.scope == EVERYONE:
        return (gate.name, EVERYONE)
    where = address or "unknown"
    if rule.scope == ADDRESS:
        return (gate.name, ADDRESS, where)
    # what was typed as a name may be a password typed in the wrong box: only a digest of it reaches the store
    return (gate.name, NAME, where, hashlib.sha256((name or "").encode()).hexdigest()[:32])


class _Counters:
    """One storage with the two strategies used: moving windows for limits, fixed windows for "once per window"."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.moving = MovingWindowRateLimiter(storage)
        self.fixed = FixedWindowRateLimiter(storage)


class Throttle:
    def __init__(self, gates: dict[str, Gate], storage_url: str = "", key_prefix: str = "govern") -> None:
        self.gates = gates
        self._shared: _Counters | None = None
        if storage_url and not storage_url.startswith("memory://"):
            self._shared = _Counters(storage_from_string(
                storage_url, key_prefix=f"{key_prefix}:limits", wrap_exceptions=True,
                socket_timeout=STORE_TIMEOUT_SECONDS, socket_connect_timeout=STORE_TIMEOUT_SECONDS,
            ))
        self._local: _Counters | None = None
        self._local_pid = 0
        self._lock = threading.Lock()
        self._shared_down_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(gates_from_settings(settings), settings.rate_limit_storage_url, settings.rate_limit_key_prefix)

    @property
    def shared(self) -> bool:
        return self._shared is not None

    def check(self, gate_name: str, address: str | None, name: str | None = None) -> Verdict:
        """Is this address (this name from it, everyone) over a limit? Asked before any work is done."""
        gate = self.gates[gate_name]

        def over(counters: _Counters) -> Verdict:
            for rule in gate.rules:
                if rule.scope == NAME and name is None:
                    continue
                ids = _identifiers(gate, rule, address, name)
                if not counters.moving.test(rule.item, *ids):
                    reset_at = counters.moving.get_window_stats(rule.item, *ids).reset_time
                    return Verdict(rule, max(1, math.ceil(reset_at - time.time())))
            return Verdict()

        return self._run(gate, over, Verdict())

    def count(self, gate_name: str, address: str | None, name: str | None = None) -> None:
        """Count one refusal against every limit of the gate."""
        gate = self.gates[gate_name]

        def hit(counters: _Counters) -> None:
            for rule in gate.rules:
                if rule.scope != NAME or name is not None:
                    counters.moving.hit(rule.item, *_identifiers(gate, rule, address, name))

        self._run(gate, hit, None)

    def first_in_window(self, gate_name: str, what: str, key: str, window_seconds: int) -> bool:
        """True once per `window_seconds` for (what, key): for writing one aggregated event per window."""
        return self._run(self.gates[gate_name],
                         lambda counters: counters.fixed.hit(RateLimitItemPerSecond(1, window_seconds), what, key), False)

    def reset(self) -> None:
        """Forget every count (tests; and after changing limits by hand)."""
        for counters in (self._shared, self._local):
            if counters is not None:
                counters.storage.reset()

    def _local_counters(self) -> _Counters:
        with self._lock:  # a forked worker starts with fresh counters, never its parent's locks
            if self._local is None or self._local_pid != os.getpid():
                self._local, self._local_pid = _Counters(MemoryStorage()), os.getpid()
            return self._local

    def _run(self, gate: Gate, operation: Callable[[_Counters], T], when_open: T) -> T:
        if self._shared is None:
            return operation(self._local_counters())
        if time.monotonic() >= self._shared_down_until:
            try:
                return operation(self._shared)
            except (StorageError, OSError) as exc:
                self._shared_down_until = time.monotonic() + OUTAGE_RETRY_SECONDS
                cause = getattr(exc, "storage_error", exc)
                log.error("rate_limit_store_unavailable", error=type(cause).__name__, retry_in_seconds=OUTAGE_RETRY_SECONDS)
        metrics.count("rate_limit_store_unavailable", gate=gate.name, on_outage=gate.on_outage)
        return when_open if gate.on_outage == OPEN else operation(self._local_counters())
