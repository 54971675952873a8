"""Runbooks' receivers: a crisis alert activates the runbooks set to activate themselves for the alert's account."""

from __future__ import annotations

from sqlalchemy.orm import Session

from govern import signals
from govern.runbooks.service import on_alert

_receivers_connected = False


def connect_receivers() -> None:
    """Called once per process from create_app's list; connecting again is a no-op."""
    global _receivers_connected
    if _receivers_connected:
        return

    def _activate(session: Session, *, alert_id: int, account_id: int, kind: str) -> None:
        on_alert(session, alert_id, account_id, kind)

    signals.crisis_alert_raised.connect(_activate, weak=False)
    _receivers_connected = True
