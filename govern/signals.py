"""Signals by which one domain reacts to another without importing it.

account_retired(session, actor, account_id, reason)
    Sent by accounts after an account is retired, inside the same transaction.
    grants revokes every grant on the account.
"""

from __future__ import annotations

from blinker import Namespace

_domain = Namespace()

account_retired = _domain.signal("account-retired")
