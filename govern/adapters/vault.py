"""VaultStore: one shared hvac client for Vault or OpenBao KV v2, with token or AppRole auth and renewal."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from govern.adapters.outbound_http import OutboundSession
from govern.adapters.secret_store import (
    CasConflict,
    SecretNotFound,
    SecretStoreUnavailable,
    StoredSecret,
    WrappedHandOff,
)
from govern.secret_value import SecretValue

T = TypeVar("T")
MAX_VERSIONS = 10
RENEW_AT_FRACTION = 2 / 3
TRANSIT_PREFIX = "vault:v"


@dataclass(frozen=True)
class TokenAuth:
    """A plain Vault token (development)."""

    token: SecretValue


@dataclass(frozen=True)
class AppRoleAuth:
    role_id: str
    secret_id: SecretValue
    mount_point: str = "approle"


VaultAuth = TokenAuth | AppRoleAuth


class VaultStore:
    kind = "vault"
    single_node = False

    def __init__(
        self,
        addr: str,
        auth: VaultAuth,
        mount: str = "secret",
        ca_file: str | None = None,
        namespace: str | None = None,
        transit_key: str | None = None,
        encrypted_fields: frozenset[str] = frozenset({"refresh_token"}),
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,  # when to renew; tests inject their own
    ) -> None:
        self._connection = {"url": addr, "namespace": namespace or None, "verify": ca_file or True, "timeout": timeout}
        self._client = hvac.Client(**self._connection, session=OutboundSession())
        self._auth = auth
        self._mount = mount
        self._transit_key = transit_key
        self._encrypted_fields = encrypted_fields
        self._lock = threading.Lock()
        self._renew_at: float | None = None
        self._expires_at: float | None = None
        self._clock = clock

    # --- authentication -------------------------------------------------------------------
    def _login(self) -> None:
        if isinstance(self._auth, AppRoleAuth):
            response = self._client.auth.approle.login(
                role_id=self._auth.role_id, secret_id=self._auth.secret_id.reveal(), mount_point=self._auth.mount_point
            )
            auth = response["auth"]
            self._schedule(auth["lease_duration"], auth.get("renewable", False))
        else:
            self._client.token = self._auth.token.reveal()
            data = self._client.auth.token.lookup_self()["data"]
            self._schedule(data.get("ttl") or 0, data.get("renewable", False))

    def _schedule(self, ttl_seconds: int, renewable: bool) -> None:
        now = self._clock()
        if ttl_seconds <= 0:  # root and other non-expiring tokens
            self._renew_at = self._expires_at = float("inf")
            return
        self._expires_at = now + ttl_seconds
        self._renew_at = now + ttl_seconds * RENEW_AT_FRACTION if renewable else self._expires_at - 5

    def _renew_or_login(self) -> None:
        if self._renew_at is not None and self._clock() < (self._expires_at or 0):
            try:
                auth = self._client.auth.token.renew_self()["auth"]
                self._schedule(auth["lease_duration"], auth.get("renewable", False))
                if auth["lease_duration"] > 0:
                    return
            except hvac.exceptions.VaultError:
                pass
        self._login()

    def _authenticated(self) -> hvac.Client:
        with self._lock:
            if self._renew_at is None:
                self._guard(self._login)
            elif self._clock() >= self._renew_at:
                self._guard(self._renew_or_login)
        return self._client

    @property
    def token_expires_in(self) -> float | None:
        return None if self._expires_at is None else self._expires_at - self._clock()

    # --- error mapping --------------------------------------------------------------------
    def _guard(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return call(*args, **kwargs)
        except hvac.exceptions.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                raise CasConflict("the secret changed since it was read (check-and-set mismatch)") from None
            raise SecretStoreUnavailable("vault rejected the request as invalid") from None
        except hvac.exceptions.InvalidPath:
            raise SecretNotFound("no secret at that path") from None
        except hvac.exceptions.Forbidden:
            raise SecretStoreUnavailable("vault refused: permission denied (check govern's policy)") from None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise SecretStoreUnavailable(f"vault is unavailable ({type(exc).__name__})") from None

    # --- transit --------------------------------------------------------------------------
    def _encrypt(self, client: hvac.Client, name: str, value: str) -> str:
        if not self._transit_key or name not in self._encrypted_fields:
            return value
        plaintext = base64.b64encode(value.encode()).decode()
        return client.secrets.transit.encrypt_data(name=self._transit_key, plaintext=plaintext)["data"]["ciphertext"]

    def _decrypt(self, client: hvac.Client, name: str, value: str) -> str:
        if not (self._transit_key and name in self._encrypted_fields and value.startswith(TRANSIT_PREFIX)):
            return value
        plaintext = client.secrets.transit.decrypt_data(name=self._transit_key, ciphertext=value)["data"]["plaintext"]
        return base64.b64decode(plaintext).decode()

    # --- the SecretStore protocol ---------------------------------------------------------
    def read(self, path: str, version: int | None = None) -> StoredSecret:
        client = self._authenticated()

        def fetch() -> StoredSecret:
            response = client.secrets.kv.v2.read_secret_version(
                path=path, version=version, mount_point=self._mount, raise_on_deleted_version=True
            )
            data = {k: SecretValue(self._decrypt(client, k, v)) for k, v in response["data"]["data"].items()}
            return StoredSecret(path, response["data"]["metadata"]["version"], data)

        return self._guard(fetch)

    def write(self, path: str, data: Mapping[str, SecretValue], cas: int) -> int:
        client = self._authenticated()

        def store() -> int:
            if cas == 0:
                client.secrets.kv.v2.update_metadata(path=path, max_versions=MAX_VERSIONS, cas_required=True, mount_point=self._mount)
            payload = {k: self._encrypt(client, k, SecretValue(v).reveal()) for k, v in data.items()}
            response = client.secrets.kv.v2.create_or_update_secret(path=path, secret=payload, cas=cas, mount_point=self._mount)
            return response["data"]["version"]

        return self._guard(store)

    def destroy(self, path: str) -> None:
        client = self._authenticated()
        self._guard(client.secrets.kv.v2.delete_metadata_and_all_versions, path=path, mount_point=self._mount)

    def check(self) -> None:
        client = self._authenticated()
        self._guard(client.auth.token.lookup_self)

    def wrap(self, data: Mapping[str, SecretValue], ttl_seconds: int) -> WrappedHandOff:
        client = self._authenticated()

        def wrap_payload() -> WrappedHandOff:
            payload = {k: SecretValue(v).reveal() for k, v in data.items()}
            info = client.sys.wrap(payload=payload, ttl=f"{int(ttl_seconds)}s")["wrap_info"]
            return WrappedHandOff(SecretValue(info["token"]), info["accessor"], int(info["ttl"]))

        return self._guard(wrap_payload)

    def revoke_wrapping(self, accessor: str) -> None:
        """Revoke an outstanding wrapping token by its accessor, so it can never be unwrapped."""
        client = self._authenticated()
        self._guard(client.auth.token.revoke_accessor, accessor)

    def unwrap(self, token: SecretValue) -> dict[str, SecretValue]:
        """Unwrap once (the integration's side); a second unwrap fails at Vault."""
        unwrapping = hvac.Client(**self._connection, token=token.reveal())
        response = self._guard(unwrapping.sys.unwrap)
        return {k: SecretValue(v) for k, v in response["data"].items()}

    # --- transit signing (audit checkpoints): the private key never leaves Vault ---------
    def create_signing_key(self, name: str, mount: str = "transit") -> None:
        """Create the Ed25519 Transit key `name` (needs create/update on transit/keys/<name>); a no-op if it exists."""
        client = self._authenticated()
        self._guard(client.secrets.transit.create_key, name=name, key_type="ed25519", mount_point=mount)

    def signing_public_keys(self, name: str, mount: str = "transit") -> dict[int, tuple[str, str]]:
        """Every version of the Transit key: version -> (base64 raw public key, creation time as Vault writes it).
        SecretNotFound when Vault has no such key; never creates one."""
        client = self._authenticated()
        keys = self._guard(client.secrets.transit.read_key, name=name, mount_point=mount)["data"]["keys"]
        return {int(version): (info["public_key"], info.get("creation_time", "")) for version, info in keys.items()}

    def sign(self, name: str, message: bytes, mount: str = "transit") -> tuple[int, bytes]:
        """Sign `message` with the latest version of the Transit key; returns (version, raw signature)."""
        client = self._authenticated()
        response = self._guard(
            client.secrets.transit.sign_data, name=name, hash_input=base64.b64encode(message).decode(), mount_point=mount,
        )
        _, version, signature = response["data"]["signature"].split(":", 2)
        return int(version.removeprefix("v")), base64.b64decode(signature)

    def rotate_signing_key(self, name: str, mount: str = "transit") -> None:
        client = self._authenticated()
        self._guard(client.secrets.transit.rotate_key, name=name, mount_point=mount)

