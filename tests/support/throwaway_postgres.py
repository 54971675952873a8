"""A PostgreSQL cluster of our own (initdb + pg_ctl on a free port under /tmp) that a test or bench may freeze.

Never freeze the shared server: outages are played on this one. As root the cluster runs as the `postgres`
OS user (initdb refuses root); otherwise as the current user. SIGSTOP on the postmaster and every backend
is a frozen database: the kernel still accepts connections and acknowledges bytes, nobody answers.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.standin import free_port


def postgres_bin_dir() -> Path | None:
    if configured := os.environ.get("GOVERN_TEST_POSTGRES_BIN"):
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class ThrowawayPostgres:
    root: Path
    port: int
    bin_dir: Path
    run_as: str | None
    _stopped: list[int] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, walwriter...)."""
        postmaster = self.postmaster_pid()
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(Path(stat).parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        for pid in self.processes():  # the postmaster first, so it forks no new backend meanwhile
            os.kill(pid, signal.SIGSTOP)
            self._stopped.append(pid)

    def thaw(self) -> None:
        while self._stopped:
            try:
                os.kill(self._stopped.pop(), signal.SIGCONT)
            except ProcessLookupError:
                pass

    @contextmanager
    def frozen(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def stop(self) -> None:
        self.thaw()
        try:
            postmaster = self.postmaster_pid()
        except (OSError, ValueError, IndexError):
            postmaster = None
        if postmaster:
            try:
                os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown, by pid
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _alive(postmaster):
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def start_throwaway_postgres() -> ThrowawayPostgres:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are missing")
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="govern-pg-"))
    if run_as:
        account = pwd.getpwnam(run_as)
        os.chown(root, account.pw_uid, account.pw_gid)
    server = ThrowawayPostgres(root, free_port(), bin_dir, run_as)

    def run(*command: str) -> None:
        prefix = ["runuser", "-u", run_as, "--"] if run_as else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd=root, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8", "--no-sync")
    options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-l", str(root / "server.log"), "-o", options, "-w",
        "-t", "60", "start")
    return server
