"""What every broker module shares: the broker's context, token fingerprints, its errors and the connection lookup."""

from __future__ import annotations

import hashlib
import hmac
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.adapters.secret_store import SecretNotFound, SecretStore, SecretStoreError, StoredSecret
from govern.broker.models import AccountConnection
from govern.errors import DomainError, NotFound
from govern.secret_value import SecretValue


class NeedsReconnect(DomainError):
    status = 409
    title = "Account must be reconnected"
    keeps_audit = True  # the health change and its audit event must outlive the refused request


class ActionFailed(DomainError):
    """The network refused or failed; the attempt is audited and that audit event is kept."""

    status = 502
    title = "The network refused the action"
    keeps_audit = True


class AppSecretMissing(DomainError):
    status = 409
    title = "The network app's secret is missing"


class SecretStoreDown(DomainError):
    status = 503
    title = "Secret store unavailable"


@dataclass(frozen=True)
class BrokerContext:
    store: SecretStore
    fingerprint_key: bytes
    callback_url: str
    clients: dict[tuple, Any] = field(default_factory=dict, compare=False, repr=False)
    store_readers: dict[int, ThreadPoolExecutor] = field(default_factory=dict, compare=False, repr=False)

    def read_ahead(self, path: str) -> Future[StoredSecret]:
        """Start reading a secret while the database work runs; the caller uses it only once access is settled.

        One thread pool per process: a pool inherited through fork (gunicorn, Celery prefork) has no threads.
        """
        readers = self.store_readers.get(os.getpid())
        if readers is None:
            readers = self.store_readers[os.getpid()] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="store-read-ahead")
        return readers.submit(self.store.read, path)


def fingerprint(context: BrokerContext, value: SecretValue) -> str:
    """A keyed hash so a leaked token can be recognised without storing it."""
    return hmac.new(context.fingerprint_key, value.reveal().encode(), hashlib.sha256).hexdigest()


def guard_store(call, *args, passthrough: tuple[type[SecretStoreError], ...] = (SecretNotFound,), **kwargs):
    """Call the secret store; its failures become SecretStoreDown (503), except those the caller handles itself."""
    try:
        return call(*args, **kwargs)
    except passthrough:
        raise
    except SecretStoreError as exc:
        raise SecretStoreDown("the secret store did not answer: %(reason)s", reason=str(exc)) from None


def get_connection(session: Session, account_id: int) -> AccountConnection:
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None:
        raise NotFound("account %(account_id)s is not connected", account_id=account_id)
    return connection
