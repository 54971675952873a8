"""A redis-server of a test's own on a free port, which the test may stop and start again (an outage)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.support.standin import ProcessStandIn, free_port, listening


class RedisServer(ProcessStandIn):
    """No persistence: what was queued when it stops is gone, as after a crash of a cache-configured Redis."""

    name = "redis-server"
    ready_within = 15.0

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary, self.directory, self.port = binary, directory, free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _launch(self) -> None:
        self._spawn([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.directory)])

    def _ready(self) -> bool:
        return listening(self.port)

    def stop(self) -> None:
        super().stop()
        deadline = time.monotonic() + 15
        while listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
