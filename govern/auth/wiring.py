"""Connects the sign-in domain's reactions to other domains' signals (called from create_app's one list)."""

from __future__ import annotations

from govern import signals
from govern.auth.service import _close_access_on_departure
from govern.auth.sessions import _end_sessions_on_departure


def connect_receivers() -> None:
    """A leaver's API tokens and console users are closed, and their console sessions end; connecting again is a no-op."""
    signals.person_departed.connect(_close_access_on_departure, weak=False)
    signals.person_departed.connect(_end_sessions_on_departure, weak=False)
