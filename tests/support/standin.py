"""The stand-ins' one lifecycle: start and wait until ready, stop only what was started, and a free loopback port.

A stand-in is a server the tests start for themselves: a WSGI app on a loopback thread (the fake network, the fake
OIDC provider) or a real program in a subprocess (OpenBao, slapd, redis-server, oidc-provider under node).
`start()` waits a bounded time for it to answer and otherwise stops it and raises StandInNotReady with what the
process said; `stop()` may be called any number of times and halts its own process (by the Popen it started) or
its own server, never anything found by name or port.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any, Self, TypeVar


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


class StandInNotReady(RuntimeError):
    """The stand-in exited early or did not answer in time; the message carries the end of its output."""


S = TypeVar("S")


def start_or_require(service: str, start: Callable[[], S],
                     unavailable: tuple[type[Exception], ...] = (FileNotFoundError, RuntimeError)) -> S:
    """What a fixture does with a stand-in that cannot run (its program is missing, or it never got ready):
    require_service decides, so under CI=true that fails the run and elsewhere it skips the test."""
    from tests.support.services import require_service  # pytest's; the benches start stand-ins without it

    try:
        return start()
    except unavailable as exc:
        require_service(service, str(exc))


class StandIn:
    """Subclasses launch it (`_launch`), tell when it answers (`_ready`), and halt what they launched (`_halt`);
    a process stand-in also tells whether it exited (`_exit_code`) and what it said (`_output`)."""

    name = "stand-in"
    ready_within = 30.0  # seconds from launch to the first ready answer
    url: str  # where it answers: a property or an attribute of the subclass

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def _launch(self) -> None:
        raise NotImplementedError

    def _ready(self) -> bool:
        return True

    def _exit_code(self) -> int | None:
        return None

    def _output(self) -> str:
        return ""

    def _halt(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Launch and wait until it answers; already running, it is left as it is (so `with start_x():` is safe)."""
        if self.running:
            return self
        self._launch()
        deadline = time.monotonic() + self.ready_within
        while True:
            code = self._exit_code()
            if code is not None:
                problem = f"{self.name} exited early with {code}"
                break
            if self._ready():
                return self
            if time.monotonic() > deadline:
                problem = f"{self.name} did not answer within {self.ready_within:g} s"
                break
            time.sleep(0.05)
        self.stop()
        output = self._output().strip()
        raise StandInNotReady(f"{problem}: {output}" if output else problem)

    def stop(self) -> None:
        if self.running:
            self._halt()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ProcessStandIn(StandIn):
    """A program in a subprocess of ours. Its output goes to `log_path` when one is given, else into `output_lines`
    (read by a thread). stop() sends SIGTERM to that one process, then SIGKILL after `stop_within` seconds."""

    stop_within = 15.0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def _spawn(self, argv: list[str], log_path: Path | None = None, **popen: Any) -> subprocess.Popen:
        self.log_path = log_path
        if log_path is not None:
            with open(log_path, "ab") as log:
                self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)
            return self.process
        self.output_lines: list[str] = []
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        text=True, **popen)
        threading.Thread(target=self.output_lines.extend, args=(self.process.stdout,), name=self.name, daemon=True).start()
        return self.process

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _output(self) -> str:
        if self.log_path is not None:
            try:
                return self.log_path.read_text(errors="replace")[-2000:]
            except OSError:
                return ""
        return "".join(getattr(self, "output_lines", []))[-2000:]

    def _halt(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=self.stop_within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
