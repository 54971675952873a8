"""Robustness: schemathesis fuzzes a live `govern serve` (gunicorn, PostgreSQL, OpenBao) as admin and as auditor.

Done when: no 5xx (other than a real outage's 503) and no schema, status-code or media-type violation.
The server's own request log counts requests and 5xx (a 5xx schemathesis did not flag still counts);
schemathesis' JSON report counts the violations. Exits 1 when either is not zero.

GOVERN_FUZZ_SECONDS (default 180) bounds each role's run; GOVERN_FUZZ_ROLES (default "admin,auditor");
GOVERN_FUZZ_SEED fixes schemathesis' seed; GOVERN_FUZZ_KEEP=1 keeps the working folder (reports, server log).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.openbao import free_port, start_openbao  # noqa: E402
from tests.support.postgres import ScratchPostgres  # noqa: E402

ADMIN_URL = os.environ.get("GOVERN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECONDS = int(os.environ.get("GOVERN_FUZZ_SECONDS", "180"))
ROLES = [role.strip() for role in os.environ.get("GOVERN_FUZZ_ROLES", "admin,auditor").split(",") if role.strip()]
SEED = os.environ.get("GOVERN_FUZZ_SEED", "")
BIN = Path(sys.executable).parent


def _govern(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "govern"), *args], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"govern {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def _wait_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"govern serve exited with {server.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("govern serve did not become healthy within 60 s")


def _server_requests(log_path: Path, since_line: int) -> tuple[list[dict], int]:
    """The server's "request" log lines written after `since_line`, and the new line count."""
    lines = log_path.read_text(errors="replace").splitlines()
    found = []
    for line in lines[since_line:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "request":
            found.append(entry)
    return found, len(lines)


def _failures(report_dir: Path) -> Counter:
    """Distinct failures by schemathesis code and type (ST101 ServerError, ST105 UndefinedContentType...)."""
    counts: Counter = Counter()
    for path in report_dir.glob("json-*.json"):
        for failure in json.loads(path.read_text()).get("failures", []):
            counts[f"{failure.get('code')} {failure.get('type')}"] += failure.get("count", 1)
    return counts


def _fuzz(role: str, token: str, base: str, work: Path) -> tuple[int, Counter, str]:
    report_dir = work / f"report-{role}"
    # One worker: with two, hypothesis' lambda descriptions race in ast.parse on CPython 3.11 (SystemError).
    command = [str(BIN / "schemathesis"), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
               "run", f"{base}/api/v1/openapi.json",
               "--checks", "all", "--max-time", str(SECONDS), "--workers", "1",
               "--header", f"Authorization: Bearer {token}",
               "--report", "json,junit", "--report-dir", str(report_dir),
               "--request-timeout", "30", "--suppress-health-check", "all", "--output-truncate", "true"]
    if SEED:
        command += ["--seed", SEED]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, timeout=SECONDS * 3 + 300)
    (work / f"schemathesis-{role}.txt").write_text(done.stdout + done.stderr)
    return done.returncode, _failures(report_dir), done.stdout


def main() -> int:
    keep = os.environ.get("GOVERN_FUZZ_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix="govern-fuzz-"))
    scratch = ScratchPostgres(ADMIN_URL)
    url = scratch.create("govern_fuzz")
    bao = start_openbao(work)
    server = None
    try:
        bao.client().sys.enable_secrets_engine("transit")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "GOVERN_DATABASE_URL": url, "GOVERN_SECRET_KEY": "fuzz-" + "k" * 40,
               "GOVERN_INSTANCE_PATH": str(work / "instance"), "GOVERN_VAULT_ADDR": bao.addr,
               "GOVERN_VAULT_TOKEN": bao.root_token, "GOVERN_SECURE_COOKIES": "false", "GOVERN_LOG_FORMAT": "json",
               "GOVERN_BASE_URL": base}
        _govern(env, "db", "upgrade")
        _govern(env, "demo", "seed")
        tokens = {role: _govern(env, "token", "create", "--name", f"fuzz-{role}", "--role", role) for role in ROLES}
        log_path = work / "server.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen([str(BIN / "govern"), "serve", "--port", str(port), "--workers", "2"], env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
        _wait_healthy(base, server)
        seen_lines = _server_requests(log_path, 0)[1]
        rows, bad = [], 0
        for role in ROLES:
            started = time.monotonic()
            code, violations, output = _fuzz(role, tokens[role], base, work)
            duration = time.monotonic() - started
            time.sleep(1)
            served, seen_lines = _server_requests(log_path, seen_lines)
            statuses = Counter(entry.get("status") for entry in served)
            errors = {status: n for status, n in statuses.items() if isinstance(status, int) and status >= 500}
            five_xx = sum(n for status, n in errors.items() if status != 503)
            outage_503 = errors.get(503, 0)
            total_violations = sum(n for name, n in violations.items() if not name.startswith("ST101 "))
            rows.append((role, len(served), five_xx, outage_503, total_violations, duration, dict(violations), code))
            bad += five_xx + total_violations + (outage_503 > 0)
            routes = Counter((e.get("method"), e.get("route"), e.get("status")) for e in served if (e.get("status") or 0) >= 500)
            for (method, route, status), n in routes.most_common(30):
                print(f"   {role}: {n} x {status} {method} {route}")
            tail = "\n".join(output.strip().splitlines()[-12:])
            print(f"-- schemathesis as {role} (exit {code}):\n{tail}\n")
        print("| role | requests | 5xx (not 503) | 503 | violations | seconds |")
        print("| --- | --- | --- | --- | --- | --- |")
        for role, served, five_xx, outage, violations, duration, by_check, _code in rows:
            print(f"| {role} | {served} | {five_xx} | {outage} | {violations} | {duration:.0f} |")
            if by_check:
                print(f"   violations by check: {by_check}")
        if keep:
            print(f"working folder kept: {work}")
        return 1 if bad else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        bao.stop()
        scratch.drop(url)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
