"""Signals by which one domain reacts to another without importing it.

account_retired(session, actor, account_id, reason)
    Sent by accounts after an account is retired, inside the same transaction.
    grants revokes every grant on the account; the broker revokes and destroys its tokens.

connection_needs_reconnect(session, account_id, owner_id, reason)
    Sent by the broker when a network refuses an account's refresh token; the owner is told.
"""

from __future__ import annotations

from blinker import Namespace

_domain = Namespace()

account_retired = _domain.signal("account-retired")
connection_needs_reconnect = _domain.signal("connection-needs-reconnect")
