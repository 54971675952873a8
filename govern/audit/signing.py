"""Who signs audit checkpoints: an Ed25519 key in Vault Transit (it never leaves Vault) or in a local key file."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govern import app_services
from govern.audit.chain import canonical_time
from govern.errors import DomainError

ALGORITHM = "ed25519"
MESSAGE_VERSION = "govern-audit-checkpoint:v1"


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers (docs/audit.md spells them out for auditors)."""
    return f"{MESSAGE_VERSION}\nseq={seq}\nhead={head_hash}\nsigned_at={canonical_time(signed_at)}\nkey={key_id}\n".encode()


def signature_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    public_key: bytes  # raw 32-byte Ed25519 public key
    source: str

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()


class SigningUnavailable(DomainError):
    """The signing key cannot be reached (Vault down, key file unreadable); no checkpoint is written."""

    status = 503
    title = "Audit signing unavailable"


class SigningKeyMissing(SigningUnavailable):
    """The signer holds no key (Vault lost the Transit key, or it was never made); only the signing path makes one."""


class CheckpointSigner(Protocol):
    source: str

    def keys(self) -> list[SigningKey]:
        """Every key this signer holds, oldest first; the last one signs."""
        ...

    def sign(self, message: bytes) -> tuple[str, bytes]:
        """(key id, raw signature) with the current key."""
        ...

    def rotate(self) -> SigningKey:
        """Make a new key current; the old ones stay for verification."""
        ...

    def create(self, published_key_ids: list[str]) -> SigningKey:
        """Make a key where the signer has none; its ids never reuse one of `published_key_ids`."""
        ...


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class LocalKeySigner:
    """Ed25519 keys in 0600 PEM files under one folder, for the embedded default; `current` names the signing one."""

    source = "local"

    def __init__(self, folder: Path) -> None:
        self._folder = Path(folder)

    def _load(self, key_id: str) -> Ed25519PrivateKey:
        path = self._folder / f"{key_id.removeprefix('local:')}.pem"
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise SigningUnavailable("the audit signing key %(path)s cannot be read: %(exc)s", path=path, exc=exc) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningUnavailable("%(path)s is not an Ed25519 key", path=path)
        return key

    def _order(self) -> list[str]:
        order_file = self._folder / "keys"
        return order_file.read_text().split() if order_file.exists() else []

    def _create(self) -> SigningKey:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        public = _raw_public(key)
        key_id = "local:" + hashlib.sha256(public).hexdigest()[:16]
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        descriptor = os.open(self._folder / f"{key_id.removeprefix('local:')}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        with open(self._folder / "keys", "a") as order:
            order.write(key_id + "\n")
        return SigningKey(key_id, public, self.source)

    def _current_id(self) -> str:
        """Read only, like Transit: a folder without a key is SigningKeyMissing (only the signing path makes one)."""
        order = self._order()
        if not order:
            raise SigningKeyMissing("no audit signing key in %(folder)s", folder=self._folder)
        return order[-1]

    def keys(self) -> list[SigningKey]:
        self._current_id()
        return [SigningKey(key_id, _raw_public(self._load(key_id)), self.source) for key_id in self._order()]

    def sign(self, message: bytes) -> tuple[str, bytes]:
        key_id = self._current_id()
        return key_id, self._load(key_id).sign(message)

    def rotate(self) -> SigningKey:
        return self._create()

    def create(self, published_key_ids: list[str]) -> SigningKey:
        return self._create()  # ids are fingerprints of the public key: a new key never reuses one


class TransitSigner:
    """An Ed25519 key in Vault/OpenBao Transit: govern asks Vault to sign and reads only the public halves."""

    source = "vault-transit"

    def __init__(self, vault, key_name: str, mount: str = "transit") -> None:
        self._vault, self._name, self._mount = vault, key_name, mount

    def _key_id(self, version: int) -> str:
        return f"transit:{self._name}:v{version}"

    def _guarded(self, call, *args):
        """Every call asks Vault afresh (nothing about the key is cached), so a key lost and replaced is seen at once."""
        from govern.adapters.secret_store import SecretNotFound, SecretStoreError

        try:
            return call(*args)
        except SecretNotFound:
            raise SigningKeyMissing("Vault has no Transit key %(name)s on %(mount)s/", name=f"{self._name!r}", mount=self._mount) from None
        except SecretStoreError as exc:
            raise SigningUnavailable("Vault Transit key %(name)s: %(exc)s", name=f"{self._name!r}", exc=exc) from None

    def keys(self) -> list[SigningKey]:
        """Read only: a missing key is SigningKeyMissing, never created here (verification must not make keys)."""
        versions = self._guarded(self._vault.signing_public_keys, self._name, self._mount)
        return [SigningKey(self._key_id(version), base64.b64decode(public), self.source)
                for version, (public, _created) in sorted(versions.items())]

    def sign(self, message: bytes) -> tuple[str, bytes]:
        version, signature = self._guarded(self._vault.sign, self._name, message, self._mount)
        return self._key_id(version), signature

    def rotate(self) -> SigningKey:
        self._guarded(self._vault.rotate_signing_key, self._name, self._mount)
        return self.keys()[-1]

    def create(self, published_key_ids: list[str]) -> SigningKey:
        """Create the Transit key; a key made again under the same name restarts at v1, so it is rotated past every
        version already published for that name, and its ids never stand for two different keys."""
        prefix = f"transit:{self._name}:v"
        taken = max((int(key_id.removeprefix(prefix)) for key_id in published_key_ids
                     if key_id.startswith(prefix) and key_id.removeprefix(prefix).isdigit()), default=0)
        self._guarded(self._vault.create_signing_key, self._name, self._mount)
        current = self.keys()[-1]
        while int(current.key_id.removeprefix(prefix)) <= taken:
            current = self.rotate()
        return current


def build_signer(settings, secret_store) -> CheckpointSigner:
    """Vault Transit when govern's secrets are in Vault, else a key file under the instance folder."""
    from govern.adapters.vault import VaultStore

    if isinstance(secret_store, VaultStore):
        return TransitSigner(secret_store, settings.audit_transit_key, settings.audit_transit_mount)
    folder = Path(settings.audit_signing_key_dir) if settings.audit_signing_key_dir else settings.instance_path / "audit-keys"
    return LocalKeySigner(folder)


def current_signer() -> CheckpointSigner:
    """The app's checkpoint signer (built once by create_app)."""

    return app_services.signer()
