"""Resource attacks and outages, measured on real servers: slow clients, image bombs, a frozen PostgreSQL.

1. Slow clients: `govern serve`, and for comparison stock gunicorn gthread (what `govern serve` ran before issue 11),
   each with 20 connections trickling one byte every 2 s; how long /healthz and /login take to answer.
2. Image bombs: POST /api/v1/policy/evaluate with ten 7999x7999 1-bit PNGs (the issue's 225 kB request), and the
   largest post the default limits let through; wall time and the process's peak RSS, each in a fresh process.
3. Frozen database: `govern serve` on a throwaway PostgreSQL cluster frozen with SIGSTOP; how long /healthz (with and
   without an Authorization header) and an API request take to answer while 8 API requests are already waiting.

Answers still missing after CAP seconds are reported as "> CAP s". Needs PostgreSQL's server binaries (initdb) for 3.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.slow_clients import SlowClients, serve  # noqa: E402

CAP = 30.0
GOVERN = [sys.executable, "-c", "from govern.cli import main; main()"]


def _seconds(value: float | None) -> str:
    return f"> {CAP:.0f} s (no answer)" if value is None else f"{value:.2f} s"


def _timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float | None, int | None]:
    started = time.monotonic()
    try:
        response = requests.get(url, headers=headers or {}, timeout=CAP)
    except requests.RequestException:
        return None, None
    return time.monotonic() - started, response.status_code


def _govern(environ: dict[str, str], *arguments: str) -> str:
    done = subprocess.run([*GOVERN, *arguments], env={**os.environ, **environ}, capture_output=True, text=True, check=True, timeout=300)
    return done.stdout.strip()


def _sqlite_instance() -> tuple[dict[str, str], Path]:
    folder = Path(tempfile.mkdtemp(prefix="govern-bench-attacks-"))
    environ = {"GOVERN_INSTANCE_PATH": str(folder), "GOVERN_LOG_LEVEL": "WARNING"}
    _govern(environ, "db", "upgrade")
    return environ, folder


# --- 1. slow clients ------------------------------------------------------------------------------

def _probes(url: str, count: int, headers: dict[str, str] | None = None) -> str:
    """`count` GETs at once, each on a new connection (so the kernel spreads them over the workers)."""
    with ThreadPoolExecutor(count) as pool:
        results = [seconds for seconds, _ in pool.map(lambda _: _timed_get(url, headers), range(count))]
    answered = [seconds for seconds in results if seconds is not None]
    slowest = f", slowest {max(answered):.2f} s" if answered else ""
    return f"{len(answered)} of {count} answered{slowest}"


def slow_clients() -> None:
    environ, folder = _sqlite_instance()
    stock = [sys.executable, "-m", "gunicorn", "govern:create_app()", "--bind", "127.0.0.1:{port}", "--workers", "2",
             "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"]
    print(f"### Slow clients: 20 connections, one byte every 2 s (2 workers x 4 threads); probes wait at most {CAP:.0f} s\n")
    print("| server | slow part | 4 x /healthz, idle | 4 x /healthz with 20 slow clients | 4 x /login with 20 slow clients |")
    print("| --- | --- | --- | --- | --- |")
    for name, command in (("stock gunicorn gthread", stock), ("`govern serve`", None)):
        served = serve(environ, folder, command=command)
        try:
            for part in ("body", "head"):
                idle = _probes(f"{served.url}/healthz", 4)
                with SlowClients(served.port, count=20, interval=2.0, part=part):
                    time.sleep(4)
                    with ThreadPoolExecutor(2) as both:
                        live, page = both.map(lambda path: _probes(f"{served.url}{path}", 4), ("/healthz", "/login"))
                print(f"| {name} | {part} | {idle} | {live} | {page} |")
        finally:
            served.stop()
    shutil.rmtree(folder, ignore_errors=True)
    print()


# --- 2. image bombs -------------------------------------------------------------------------------

IMAGE_CASE = r'''
import base64, io, json, os, resource, struct, sys, time, zlib
from govern import create_app
from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.extensions import db

def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

def one_bit_png(width, height):
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))

width, height, count = (int(part) for part in sys.argv[1:4])
images = [base64.b64encode(one_bit_png(width, height)).decode()] * count
body = json.dumps({"text": "bench", "media": images})
app = create_app({"log_level": "WARNING"})
with app.app_context():
    _, token = create_api_client(db.session, Actor.system("bench"), f"bench-{time.time_ns()}", Role.AUDITOR)
    db.session.commit()
client = app.test_client()
headers = {"Authorization": f"Bearer {token.reveal()}", "Content-Type": "application/json"}
client.post("/api/v1/policy/evaluate", data=json.dumps({"text": "warm up"}), headers=headers)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
response = client.post("/api/v1/policy/evaluate", data=body, headers=headers)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": response.status_code, "seconds": seconds, "peak_mb": peak / 1024, "added_mb": (peak - before) / 1024,
                  "request_kb": len(body) / 1024, "limit": (response.get_json() or {}).get("limit")}))
'''


def image_bombs() -> None:
    environ, folder = _sqlite_instance()
    print("### Image bombs: POST /api/v1/policy/evaluate, one fresh process per case\n")
    print("| attachments | request | answer | time | peak RSS of the process (added by the request) |")
    print("| --- | --- | --- | --- | --- |")
    for width, height, count, label in (
        (7999, 7999, 10, "ten 7999x7999 1-bit PNGs (the issue's bomb)"),
        (4000, 4000, 10, "ten 4000x4000 1-bit PNGs (16 M pixels each)"),
        (7071, 7071, 3, "three 7071x7071 1-bit PNGs (the most the defaults let through: 3 x 50 M pixels)"),
    ):
        done = subprocess.run([sys.executable, "-c", IMAGE_CASE, str(width), str(height), str(count)],
                              env={**os.environ, **environ}, capture_output=True, text=True, timeout=600)
        if done.returncode:
            print(f"| {label} | failed: {done.stderr.strip().splitlines()[-1]} | | | |")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        answer = f"{result['status']}" + (f" ({result['limit']})" if result.get("limit") else "")
        print(f"| {label} | {result['request_kb']:.0f} kB | {answer} | {result['seconds']:.2f} s | "
              f"{result['peak_mb']:.0f} MB (+{result['added_mb']:.0f} MB) |")
    shutil.rmtree(folder, ignore_errors=True)
    print()


# --- 3. a frozen database -------------------------------------------------------------------------

def frozen_database() -> None:
    from alembic import command as alembic_command

    from govern.cli import alembic_config
    from tests.support.throwaway_postgres import start_throwaway_postgres

    try:
        database = start_throwaway_postgres()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"### Frozen database: skipped ({exc})\n")
        return
    try:
        url = database.url()
        alembic_command.upgrade(alembic_config(url), "head")
        folder = Path(tempfile.mkdtemp(prefix="govern-bench-frozen-"))
        environ = {"GOVERN_DATABASE_URL": url, "GOVERN_SECRET_KEY": "bench-" + "f" * 40,
                   "GOVERN_INSTANCE_PATH": str(folder), "GOVERN_LOG_LEVEL": "WARNING"}
        token = _govern(environ, "token", "create", "--name", "bench-frozen", "--role", "auditor")
        bearer = {"Authorization": f"Bearer {token}"}
        served = serve(environ, folder)
        try:
            for _ in range(20):  # every worker thread holds a pooled connection
                requests.get(f"{served.url}/api/v1/accounts", headers=bearer, timeout=CAP)
            with database.frozen(), ThreadPoolExecutor(8) as waiting:
                queued = [waiting.submit(_timed_get, f"{served.url}/api/v1/accounts", bearer) for _ in range(8)]
                time.sleep(0.5)
                with ThreadPoolExecutor(3) as probes:
                    live, live_with_token, api = probes.map(lambda probe: probe(), (
                        lambda: _probes(f"{served.url}/healthz", 4),
                        lambda: _probes(f"{served.url}/healthz", 4, bearer),
                        lambda: _timed_get(f"{served.url}/api/v1/accounts", bearer),
                    ))
                answered = [future.result() for future in queued]  # still frozen: they must answer by themselves
        finally:
            served.stop()
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        database.stop()

    def show(result: tuple[float | None, int | None]) -> str:
        return f"{_seconds(result[0])}" + (f" ({result[1]})" if result[1] else "")

    print("### Frozen database: `govern serve` (2 workers x 4 threads), PostgreSQL SIGSTOPped, 8 API requests sent first\n")
    print("| request | answered (status) |")
    print("| --- | --- |")
    print(f"| 4 x GET /healthz at once | {live} |")
    print(f"| 4 x GET /healthz with a bearer token at once | {live_with_token} |")
    print(f"| GET /api/v1/accounts | {show(api)} |")
    slowest = max((seconds for seconds, _ in answered if seconds is not None), default=None)
    statuses = ", ".join(str(status) for status in sorted({status for _, status in answered if status}))
    print(f"| the 8 API requests sent first: slowest | {_seconds(slowest)}{f' ({statuses})' if statuses else ''} |")
    print()


def main() -> int:
    started = time.monotonic()
    slow_clients()
    image_bombs()
    frozen_database()
    print(f"(attacks bench: {time.monotonic() - started:.0f} s; peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
