"""The secret store interface: versioned, check-and-set writes of SecretValues at a path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from govern.secret_value import SecretValue


class SecretStoreError(RuntimeError):
    """Base for secret store failures; messages never include secret values."""


class SecretStoreUnavailable(SecretStoreError):
    """The store did not answer or refused us; nothing was read or written."""


class CasConflict(SecretStoreError):
    """Someone else wrote the path since the version we read."""


class SecretNotFound(SecretStoreError):
    """No live version at that path (never written, deleted or destroyed)."""


class WrappingUnsupported(SecretStoreError):
    """Response wrapping needs Vault; the embedded store cannot do it."""


@dataclass(frozen=True)
class StoredSecret:
    path: str
    version: int
    data: Mapping[str, SecretValue]

    def __repr__(self) -> str:
        return f"StoredSecret(path={self.path!r}, version={self.version}, keys={sorted(self.data)})"


@dataclass(frozen=True)
class WrappedHandOff:
    """A single-use Vault wrapping token: itself a secret, shown once to the caller."""

    token: SecretValue
    accessor: str
    ttl_seconds: int


class SecretStore(Protocol):
    kind: str
    single_node: bool

    def read(self, path: str, version: int | None = None) -> StoredSecret: ...

    def write(self, path: str, data: Mapping[str, SecretValue], cas: int) -> int:
        """Write a new version; `cas` is the version read before (0 to create). Returns the new version."""
        ...

    def destroy(self, path: str) -> None:
        """Remove every version and the metadata of a path."""
        ...

    def check(self) -> None:
        """Raise SecretStoreUnavailable unless the store answers and we are authenticated."""
        ...

    def wrap(self, data: Mapping[str, SecretValue], ttl_seconds: int) -> WrappedHandOff: ...

    def unwrap(self, token: SecretValue) -> dict[str, SecretValue]: ...

    def revoke_wrapping(self, accessor: str) -> None: ...


def account_path(account_id: int, kind: str) -> str:
    """Where an account's secrets live, relative to the store's mount: govern/accounts/<id>/<kind>."""
    return f"govern/accounts/{int(account_id)}/{kind}"
