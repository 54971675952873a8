"""A real `govern serve` on a free port, and slow clients that trickle their requests to it (slowloris)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.standin import free_port

SLOW_BODY = (
    b"POST /login HTTP/1.1\r\nHost: govern.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 100000\r\n\r\nemail="
)
SLOW_HEAD = b"GET /login HTTP/1.1\r\nHost: govern.test\r\n"


@dataclass
class Served:
    """`govern serve` in a session of its own; stop() ends it (and the scheduler and workers it started) by its id."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # only the session started for it: stray workers, if any
        except (ProcessLookupError, PermissionError):
            pass


def serve(environ: Mapping[str, str], log_dir: Path, *arguments: str, command: list[str] | None = None) -> Served:
    """Start `govern serve` (or `command`, given the port) and wait until /healthz answers."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    argv = command or [sys.executable, "-c", "from govern.cli import main; main()", "serve", "--host", "127.0.0.1",
                       "--port", str(port), *arguments]
    argv = [part.replace("{port}", str(port)) for part in argv]
    with open(log, "wb") as output:
        process = subprocess.Popen(argv, env={**os.environ, **environ}, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    served = Served(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"govern serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return served
        except requests.RequestException:
            pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"govern serve did not answer /healthz within 60 s: {log.read_text()[-2000:]}")


class SlowClients:
    """`count` connections that send a request's start at once and then one more byte every `interval` seconds.

    part="body": complete headers announcing 100 kB of form, then the form one byte at a time;
    part="head": headers that never end. The two ways a slow client holds a server thread that reads from it.
    """

    def __init__(self, port: int, count: int = 20, interval: float = 2.0, part: str = "body") -> None:
        self.port, self.count, self.interval, self.part = port, count, interval, part
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SlowClients:
        for index in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(SLOW_BODY if self.part == "body" else SLOW_HEAD)
            self.sockets.append(sock)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def _trickle(self) -> None:
        while not self._stop.wait(self.interval):
            for sock in self.sockets:
                try:
                    sock.sendall(b"a" if self.part == "body" else b"X")
                except OSError:
                    pass  # the server gave up on this one; it stays closed

    def attached(self) -> int:
        """How many of the slow connections the server still keeps open."""
        open_count = 0
        for sock in self.sockets:
            try:
                sock.setblocking(False)
                open_count += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                open_count += 1  # nothing to read and not closed
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return open_count

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def time_to_answer(url: str, timeout: float = 30.0) -> float | None:
    """Seconds until GET url answers 200, or None when it did not within `timeout`."""
    started = time.monotonic()
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException:
        return None
    return time.monotonic() - started if response.status_code == 200 else None
