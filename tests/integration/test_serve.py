"""`govern serve` for real: slow clients cannot hold its threads, and requests still arrive whole however they are framed.

Real server processes and real sockets (tests/support/slow_clients.py). Bounds are generous: they tell a server
that answers from one that is stalled, not fast from slow.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support.slow_clients import SlowClients, serve, time_to_answer

STALLED = 20  # seconds: /healthz still unanswered after this long means the server is stalled


def _govern(*arguments: str) -> str:
    done = subprocess.run([sys.executable, "-c", "from govern.cli import main; main()", *arguments],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def served_env(scratch_postgres, tmp_path_factory):
    url = scratch_postgres.create("govern_serve")
    instance = tmp_path_factory.mktemp("serve")
    environ = {"GOVERN_DATABASE_URL": url, "GOVERN_SECRET_KEY": "serve-secret-" + "s" * 32,
               "GOVERN_INSTANCE_PATH": str(instance), "GOVERN_LOG_LEVEL": "WARNING"}
    import os

    saved = {key: os.environ.get(key) for key in environ}
    os.environ.update(environ)
    try:
        _govern("db", "upgrade")
        token = _govern("token", "create", "--name", "serve-tests", "--role", "auditor")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield environ, instance, token
    scratch_postgres.drop(url)


@pytest.fixture(scope="module")
def server(served_env):
    environ, instance, _ = served_env
    served = serve(environ, instance)
    yield served
    served.stop()


@pytest.mark.parametrize("part", ["body", "head"])
def test_liveness_answers_while_twenty_slow_clients_are_attached(server, part):
    with SlowClients(server.port, count=20, interval=2.0, part=part) as slow:
        time.sleep(4)  # every slow client has started and trickled twice
        seconds = time_to_answer(f"{server.url}/healthz", timeout=STALLED)
        assert seconds is not None, f"/healthz did not answer within {STALLED} s with 20 slow clients attached"
        login = requests.get(f"{server.url}/login", timeout=STALLED)  # a page that reads the database
        assert login.status_code == 200
        assert slow.attached() == 20  # they are waited for, not dropped: a slow but honest client gets through


def test_a_request_that_never_arrives_whole_gets_408(served_env):
    environ, instance, _ = served_env
    served = serve({**environ, "GOVERN_SERVE_REQUEST_TIMEOUT_SECONDS": "2"}, instance)
    try:
        with socket.create_connection(("127.0.0.1", served.port), timeout=STALLED) as sock:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: govern.test\r\nContent-Length: 100\r\n\r\nemail=")
            answer = sock.recv(200)
        assert answer.startswith(b"HTTP/1.1 408 ")
    finally:
        served.stop()


def _raw(server, payload: bytes, reads: int = 1) -> bytes:
    """Send bytes as they are and return what comes back until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(payload)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if received.count(b"HTTP/1.1 ") >= reads and received.rstrip().endswith((b"}", b">")):
                    break
        except TimeoutError:
            pass
    return received


def _evaluate_body(text: str) -> bytes:
    return json.dumps({"text": text}).encode()


def test_requests_arrive_whole_however_they_are_framed(server, served_env):
    _, _, token = served_env
    auth = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n".encode()
    body = _evaluate_body("call me at ahmed@example.com")

    # Content-Length, sent in pieces
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n" + auth
        sock.sendall(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        for piece in (body[:5], body[5:20], body[20:]):
            time.sleep(0.3)
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b"EMAIL_ADDRESS" in answer

    # chunked, with an extension and a trailer section
    chunked = b"".join(f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:])) + b"0\r\nX-Trailer: 1\r\n\r\n"
    answer = _raw(server, b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n" + auth
                  + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"EMAIL_ADDRESS" in answer

    # two requests pipelined on one kept-alive connection
    one = b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n" + auth + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    two = b"GET /healthz HTTP/1.1\r\nHost: govern.test\r\nConnection: close\r\n\r\n"
    answer = _raw(server, one + two, reads=2)
    assert answer.count(b"HTTP/1.1 200 ") == 2 and b"EMAIL_ADDRESS" in answer and b'"status": "ok"' in answer.replace(b'"status":"ok"', b'"status": "ok"')


def test_expect_100_continue_gets_one_continue_and_the_answer(server, served_env):
    _, _, token = served_env
    body = _evaluate_body("hello")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n"
                     + f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n".encode()
                     + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b"100 Continue" not in answer


def test_a_body_over_the_limit_is_refused_from_its_length_without_waiting_for_it(server, served_env):
    _, _, token = served_env
    started = time.monotonic()
    answer = _raw(server, b"POST /api/v1/policy/evaluate HTTP/1.1\r\nHost: govern.test\r\n"
                  + f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n".encode()
                  + b"Content-Length: 50000000\r\n\r\n{")
    assert answer.startswith(b"HTTP/1.1 413 ") and time.monotonic() - started < STALLED
    assert requests.post(f"{server.url}/api/v1/policy/evaluate", json={"text": "x" * 100},
                         headers={"Authorization": f"Bearer {token}"}, timeout=STALLED).status_code == 200


def test_a_large_body_and_a_kept_alive_connection(server, served_env):
    """Past 64 kB the request waits on disk; the connection then serves the next requests."""
    _, _, token = served_env
    text = ("Our new office opens today, call ahmed@example.com for a visit. " * 14000)[:900_000]
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(3):
            response = session.post(f"{server.url}/api/v1/policy/evaluate", json={"text": text}, timeout=STALLED)
            assert response.status_code == 200 and response.json()["findings"]
            assert session.get(f"{server.url}/healthz", timeout=STALLED).status_code == 200
