"""The embedded secret store: AES-256-GCM values in one file, for single-node `make run` installs."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from govern.adapters.secret_store import (
    CasConflict,
    SecretNotFound,
    SecretStoreUnavailable,
    StoredSecret,
    WrappedHandOff,
    WrappingUnsupported,
)
from govern.secret_value import SecretValue

MAX_VERSIONS = 10


def load_or_create_key(key_file: Path, key_b64: str | None) -> bytes:
    """The 256-bit key from the environment, else from a 0600 file beside (not inside) the store."""
    if key_b64:
        key = base64.urlsafe_b64decode(key_b64 + "=" * (-len(key_b64) % 4))
    else:
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        key = base64.urlsafe_b64decode(key_file.read_text().strip())
    if len(key) != 32:
        raise SecretStoreUnavailable("the local secret store key must be 32 bytes (base64)")
    return key


class LocalStore:
    """Same versioning and check-and-set semantics as Vault KV v2; single node only."""

    kind = "local"
    single_node = True

    def __init__(self, store_file: Path, key: bytes) -> None:
        self._file = store_file
        self._aead = AESGCM(key)

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[dict[str, Any]]:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self._file.with_suffix(self._file.suffix + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            document = json.loads(self._file.read_text()) if self._file.exists() else {"paths": {}}
            yield document
            if exclusive:
                temporary = self._file.with_suffix(".tmp")
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w") as handle:
                    json.dump(document, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self._file)

    def _seal(self, path: str, version: int, data: Mapping[str, SecretValue]) -> str:
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps({k: SecretValue(v).reveal() for k, v in data.items()}).encode()
        sealed = self._aead.encrypt(nonce, plaintext, f"{path}#{version}".encode())
        return base64.b64encode(nonce + sealed).decode()

    def _open(self, path: str, version: int, blob: str) -> dict[str, SecretValue]:
        raw = base64.b64decode(blob)
        plaintext = self._aead.decrypt(raw[:12], raw[12:], f"{path}#{version}".encode())
        return {k: SecretValue(v) for k, v in json.loads(plaintext).items()}

    def read(self, path: str, version: int | None = None) -> StoredSecret:
        with self._locked(exclusive=False) as document:
            entry = document["paths"].get(path)
            if not entry or not entry["versions"]:
                raise SecretNotFound(f"no secret at {path}")
            wanted = version or entry["current"]
            blob = entry["versions"].get(str(wanted))
            if blob is None:
                raise SecretNotFound(f"version {wanted} of {path} does not exist or was destroyed")
            return StoredSecret(path, wanted, self._open(path, wanted, blob))

    def write(self, path: str, data: Mapping[str, SecretValue], cas: int) -> int:
        with self._locked(exclusive=True) as document:
            entry = document["paths"].setdefault(path, {"current": 0, "versions": {}})
            if entry["current"] != cas:
                raise CasConflict(f"{path} is at version {entry['current']}, not {cas}")
            version = entry["current"] + 1
            entry["versions"][str(version)] = self._seal(path, version, data)
            entry["current"] = version
            for old in sorted(entry["versions"], key=int)[:-MAX_VERSIONS]:
                del entry["versions"][old]
            return version

    def destroy(self, path: str) -> None:
        with self._locked(exclusive=True) as document:
            document["paths"].pop(path, None)

    def check(self) -> None:
        with self._locked(exclusive=False):
            return None

    def wrap(self, data: Mapping[str, SecretValue], ttl_seconds: int) -> WrappedHandOff:
        raise WrappingUnsupported("wrapped hand-offs need Vault; the embedded store cannot issue them")

    def unwrap(self, token: SecretValue) -> dict[str, SecretValue]:
        raise WrappingUnsupported("wrapped hand-offs need Vault; the embedded store cannot unwrap them")

    def revoke_wrapping(self, accessor: str) -> None:
        raise WrappingUnsupported("wrapped hand-offs need Vault")
