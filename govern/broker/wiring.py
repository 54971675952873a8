"""Builds the broker's context from settings and connects its signal receivers once."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from govern import signals
from govern.adapters.secret_store_factory import build_secret_store
from govern.actor import Actor
from govern.broker.handoffs import revoke_handoffs
from govern.broker.context import BrokerContext
from govern.broker.service import disconnect, flag_connector_left
from govern.config import Settings

_receivers_connected = False


def build_broker_context(settings: Settings, secret_key: str) -> BrokerContext:
    fingerprint_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"govern token fingerprint").derive(secret_key.encode())
    return BrokerContext(build_secret_store(settings), fingerprint_key, f"{settings.base_url}/oauth/callback")


def connect_receivers(current_context: Callable[[], BrokerContext]) -> None:
    global _receivers_connected
    if _receivers_connected:
        return

    def _disconnect_retired(session: Session, *, actor: Actor, account_id: int, reason: str) -> None:
        disconnect(session, current_context(), actor, account_id, reason=f"account retired: {reason}")

    def _offboard(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
        revoked = revoke_handoffs(session, current_context(), actor, person_id=person_id, reason=f"departure {departure_id}")
        flagged = flag_connector_left(session, actor, person_id, departure_id)
        return {"handoffs_revoked": revoked, "connections_flagged_for_reconnect": flagged}

    def _revoke_compromised_handoffs(session: Session, *, actor: Actor, account_id: int, reason: str) -> None:
        revoke_handoffs(session, current_context(), actor, account_id=account_id, reason=f"compromised: {reason}")

    signals.account_retired.connect(_disconnect_retired, weak=False)
    signals.person_departed.connect(_offboard, weak=False)
    signals.account_compromised.connect(_revoke_compromised_handoffs, weak=False)
    _receivers_connected = True
