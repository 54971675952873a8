"""gunicorn's own refusals, answered before any WSGI code runs, are problem+json rather than HTML (item 11)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.standin import free_port


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`govern serve` (gunicorn) on SQLite: what answers here is gunicorn itself, not the app."""
    instance = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {**os.environ, "GOVERN_INSTANCE_PATH": str(instance), "GOVERN_SECRET_KEY": "g" * 40, "GOVERN_LOG_FORMAT": "json"}
    for name in ("GOVERN_DATABASE_URL", "GOVERN_VAULT_ADDR", "GOVERN_CELERY_BROKER_URL"):
        env.pop(name, None)
    govern = str(Path(sys.executable).parent / "govern")
    subprocess.run([govern, "db", "upgrade"], env=env, check=True, capture_output=True)
    log = open(instance / "serve.log", "w")
    server = subprocess.Popen([govern, "serve", "--port", str(port), "--workers", "1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (instance / "serve.log").read_text()[-2000:]
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "govern serve did not start"
            time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /api/v1/accounts?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
    (b"GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", "431"),
    (b"GET /api/v1/accounts HTTP/1.1 nonsense\r\nHost: x\r\n\r\n", "400"),
])
def test_gunicorn_refusals_are_problem_json(served, request_bytes, status):
    line, headers, body = _raw(served, request_bytes)
    assert line.split(" ")[1] == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == int(status) and problem["title"] and "<" not in body.decode()
