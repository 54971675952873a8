"""Broker operations: register network apps, connect accounts, refresh tokens, act on accounts, retire connections.
Flushes only. The public names of the modules below, in one place."""

from __future__ import annotations

from govern.broker.service.apps import network_client, register_network_app
from govern.broker.service.connect import complete_connect, purge_expired_connects, start_connect
from govern.broker.service.retire import disconnect, flag_connector_left, mark_compromised
from govern.broker.service.tokens import (
    ACCOUNT_HEALTH_FILTERS,
    RefreshOutcome,
    RefreshResult,
    account_health_condition,
    connections_due,
    health_of,
    refresh_connection,
    refresh_tokens,
)
from govern.broker.service.use import PreparedAction, complete_action, perform_action, prepare_action, record_stopped

__all__ = [
    "ACCOUNT_HEALTH_FILTERS", "PreparedAction", "account_health_condition", "RefreshOutcome", "RefreshResult", "complete_action", "complete_connect", "connections_due",
    "disconnect", "flag_connector_left", "health_of", "mark_compromised", "network_client", "perform_action",
    "prepare_action", "purge_expired_connects", "record_stopped", "refresh_connection", "refresh_tokens",
    "register_network_app", "start_connect",
]
