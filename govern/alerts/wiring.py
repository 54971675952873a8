"""Alerts' receivers: the scan's inbound items are counted and checked with the app's current settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from govern import signals
from govern.alerts.service import AlertRules, InboundItem, record_inbound

_receivers_connected = False


def connect_receivers(current_settings: Callable[[], Any]) -> None:
    """Called once per process from create_app's list; connecting again is a no-op. `current_settings` is read at each
    signal, so the app that sends it decides the thresholds and the lexicon file."""
    global _receivers_connected
    if _receivers_connected:
        return

    def _count_inbound(session: Session, *, account_id: int, items: list[dict[str, Any]]) -> None:
        parsed = [InboundItem.from_document(item) for item in items if isinstance(item, dict) and item.get("id") is not None]
        record_inbound(session, AlertRules.from_settings(current_settings()), account_id, parsed)

    signals.inbound_items_read.connect(_count_inbound, weak=False)
    _receivers_connected = True
