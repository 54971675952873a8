"""Choose the secret store from settings: Vault when GOVERN_VAULT_ADDR is set, else the embedded store."""

from __future__ import annotations

from pathlib import Path

from govern.adapters.local_store import LocalStore, load_or_create_key
from govern.adapters.secret_store import SecretStore, SecretStoreUnavailable
from govern.adapters.vault import AppRoleAuth, TokenAuth, VaultStore
from govern.config import Settings
from govern.secret_value import SecretValue


def _secret_id(settings: Settings) -> SecretValue:
    if settings.vault_secret_id:
        return SecretValue(settings.vault_secret_id)
    try:
        return SecretValue(Path(settings.vault_secret_id_file).read_text().strip())
    except OSError as exc:
        raise SecretStoreUnavailable(f"GOVERN_VAULT_SECRET_ID_FILE: cannot read it ({exc.strerror})") from None


def build_secret_store(settings: Settings) -> SecretStore:
    if not settings.vault_addr:
        key = load_or_create_key(settings.instance_path / "secret-store.key", settings.local_secret_key or None)
        return LocalStore(settings.instance_path / "secret-store.json", key)
    auth = (
        AppRoleAuth(settings.vault_role_id, _secret_id(settings))
        if settings.vault_role_id
        else TokenAuth(SecretValue(settings.vault_token))
    )
    return VaultStore(
        settings.vault_addr,
        auth,
        mount=settings.vault_mount,
        ca_file=settings.vault_ca_file or None,
        namespace=settings.vault_namespace or None,
        transit_key=settings.vault_transit_key or None,
    )
