"""A large company's size on PostgreSQL: pages, API lists, reports, evidence, reviews and verification (issue 12).

The organisation (100,000 people, 5,000 accounts, 300,000 grants of which 230,000 in force, 3,000 leavers) and a trail
of 2 or 10 million audit events are built once through govern's own code and kept as template databases
(benches/_scale_org.py, docs/decisions/0040). A run clones a template (seconds), brings the clone to this tree's
migrations with `govern db upgrade`, and measures against `govern serve` and the `govern` CLI as subprocesses:

    .venv/bin/python benches/scale.py --events 10m          # the issue's size; builds the template first if missing
    .venv/bin/python benches/scale.py --events both --only pages,campaign
    .venv/bin/python benches/scale.py --quick               # 2,000 people / 20,000 events: a smoke run of everything

Results: benches/results/scale-<events>.json and .md (the table pasted into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

import _scale_org as org  # noqa: E402

GROUPS = ("upgrade", "verify", "campaign", "pages", "reports", "evidence")
RESULTS = ROOT / "benches" / "results"
GOVERN = str(Path(sys.executable).with_name("govern"))
TARGETS = {"page_p95_ms": 300, "page_ratio": 3.0, "report_seconds": 60, "report_rss_mb": 500, "pdf_seconds": 60,
           "evidence_seconds": 300, "evidence_rss_mb": 500, "campaign_seconds": 10, "verify_events_per_second": 250_000}
# GET routes left out of the page walk, and why (reports are measured through the CLI, the rest are not pages)
SKIPPED_ENDPOINTS = {
    "reports.ReportDownload": "a report: measured in the reports group",
    "console.report_file": "a report: measured in the reports group",
    "console.directory_check": "contacts the directory server",
    "api-docs.openapi_json": "a document, not a page",
}
SKIPPED_PATTERN = re.compile(r"login|logout|sign_out|callback|oauth|static|healthz|readyz")


def say(message: str) -> None:
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {message}", flush=True)


# --- subprocesses -----------------------------------------------------------------------------
@dataclass
class Ran:
    seconds: float
    max_rss_mb: float
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str | None:
        if self.returncode is None:
            return "timed out"
        if self.returncode == 0:
            return None
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return (lines[-1] if lines else f"exit {self.returncode}")[:300]


def run(command: list[str], env: dict[str, str], timeout: float, memory_limit_mb: int | None = None) -> Ran:
    """Run one command; its own wall time and peak RSS (wait4), killed (with its children) at the timeout."""
    def limits() -> None:
        os.setsid()
        if memory_limit_mb:
            limit = memory_limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    peak = tempfile.NamedTemporaryFile(prefix="govern-scale-rss-", delete=False)
    peak.close()
    command = [sys.executable, str(ROOT / "benches" / "_maxrss.py"), peak.name, *command]  # see _maxrss.py: why
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, preexec_fn=limits, cwd=ROOT)
        returncode: int | None = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                _, _, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = returncode if returncode is not None else -9
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        try:
            with open(peak.name) as written:
                max_rss_kb = int(written.read() or usage.ru_maxrss)
        except (OSError, ValueError):
            max_rss_kb = usage.ru_maxrss  # killed before it could say: the inflated figure, never a smaller one
        finally:
            os.unlink(peak.name)
        return Ran(seconds, max_rss_kb / 1024, returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


def govern_env(url: str, keys_dir: str, instance: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GOVERN_")}
    env.update(GOVERN_DATABASE_URL=url, GOVERN_SECRET_KEY=org.SECRET_KEY, GOVERN_INSTANCE_PATH=str(instance),
               GOVERN_AUDIT_SIGNING_KEY_DIR=keys_dir, GOVERN_SECURE_COOKIES="false", GOVERN_LOG_LEVEL="WARNING")
    return env


# --- the run database, its sample ids, a signed-in console and tokens ------------------------
@dataclass
class Subject:
    """The clone under measurement and what the measurements need from it."""

    events: str
    built: org.Built
    database: str
    url: str
    env: dict[str, str]
    instance: Path
    ids: dict[str, Any] = field(default_factory=dict)
    app: Any = None
    console_cookie: str | None = None
    api_token: str | None = None
    scim_token: str | None = None

    @property
    def year(self) -> tuple[str, str]:
        start, end = self.built.year
        return f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"


def sample_ids(session) -> dict[str, Any]:
    import sqlalchemy as sa

    def one(query: str) -> Any:
        return session.execute(sa.text(query)).scalar()

    return {
        "account_big": one("SELECT account_id FROM grants WHERE revoked_at IS NULL GROUP BY account_id ORDER BY count(*) DESC LIMIT 1"),
        "account_typical": one("""SELECT account_id FROM (SELECT account_id, count(*) AS n FROM grants GROUP BY account_id) AS c
                                  ORDER BY n, account_id OFFSET (SELECT count(DISTINCT account_id) / 2 FROM grants) LIMIT 1"""),
        "person_owner": one("SELECT owner_id FROM social_accounts GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"),
        "person_typical": one("SELECT person_id FROM grants WHERE revoked_at IS NULL ORDER BY person_id "
                              "OFFSET (SELECT count(*) / 3 FROM grants WHERE revoked_at IS NULL) LIMIT 1"),
        "person_leaver": one("SELECT id FROM people WHERE status = 'leaver' ORDER BY id LIMIT 1"),
        "grant": one("SELECT id FROM grants WHERE revoked_at IS NULL ORDER BY id "
                     "OFFSET (SELECT count(*) / 3 FROM grants WHERE revoked_at IS NULL) LIMIT 1"),
        "campaign": one("SELECT max(id) FROM review_campaigns"),
        "scim_user": one("SELECT external_id FROM people WHERE source = 'scim' ORDER BY id LIMIT 1"),
        "mid_year": one("SELECT occurred_at FROM audit_events WHERE seq = (SELECT last_seq / 2 FROM audit_chain_head)"),
    }


def prepare(events: str, rebuild: bool, reuse_clone: bool = False) -> Subject:
    built = org.build_events(events, rebuild=rebuild, say=say)
    database = f"{org.PREFIX}_run_{events}"
    if reuse_clone and org.database_exists(database):
        clone_seconds = 0.0  # a clone kept by an earlier --keep run (it may hold that run's campaign)
    else:
        clone_seconds = org.clone_database(org.template_name(events), database)
    instance = Path(tempfile.mkdtemp(prefix=f"govern-scale-{events}-"))
    url = org.url_of(database)
    subject = Subject(events, built, database, url, govern_env(url, built.keys_dir, instance), instance)
    subject.ids["clone_seconds"] = round(clone_seconds, 1)
    say(f"cloned {org.template_name(events)} into {database} in {clone_seconds:.1f} s")
    return subject


def sign_in(subject: Subject) -> None:
    """An in-process app on the clone: an admin console session (tied to the person who owns most accounts) and tokens."""
    from govern import create_app
    from govern.actor import Actor
    from govern.auth.roles import Role
    from govern.auth.service import create_api_client, ensure_console_user
    from govern.extensions import db
    from tests.support.console import sign_in_as

    app = create_app({"database_url": subject.url, "secret_key": org.SECRET_KEY, "instance_path": subject.instance,
                      "log_level": "WARNING", "audit_signing_key_dir": subject.built.keys_dir, "secure_cookies": False})
    actor = Actor.system("scale-bench")
    with app.app_context():
        subject.ids.update(sample_ids(db.session))
        user = ensure_console_user(db.session, actor, "scale-admin@example.com", "Scale Admin", Role.ADMIN,
                                   subject.ids["person_owner"])
        stamp = datetime.now(timezone.utc).strftime("%H%M%S%f")
        _, api_secret = create_api_client(db.session, actor, f"scale-api-{stamp}", Role.ADMIN)
        _, scim_secret = create_api_client(db.session, actor, f"scale-scim-{stamp}", Role.SCIM)
        db.session.commit()
        user_id = user.id
    client = sign_in_as(app, app.test_client(), user_id)
    subject.console_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    subject.api_token, subject.scim_token = api_secret.reveal(), scim_secret.reveal()
    subject.app = app


# --- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`govern serve` on a free port, as a subprocess; how long it took to answer /readyz."""

    def __init__(self, subject: Subject, timeout: float) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(subject.instance / "serve.log", "wb")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.process = subprocess.Popen([GOVERN, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=subject.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                        start_new_session=True)
        import requests

        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"govern serve exited ({self.process.returncode}); see {self.log.name}")
            try:
                if requests.get(f"{self.base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.perf_counter() - started > timeout:
                self.stop()
                raise RuntimeError(f"govern serve was not ready after {timeout:.0f} s")
            time.sleep(0.2)
        self.startup_seconds = time.perf_counter() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def http(subject: Subject, server: Server):
    import requests

    console = requests.Session()
    console.cookies.set("govern_session", subject.console_cookie, domain="127.0.0.1")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {subject.api_token}"
    scim = requests.Session()
    scim.headers["Authorization"] = f"Bearer {subject.scim_token}"
    return {"console": console, "api": api, "scim": scim}


# --- measure groups ---------------------------------------------------------------------------
def measure_upgrade(subject: Subject, args) -> dict:
    ran = run([GOVERN, "db", "upgrade"], subject.env, args.timeout * 4)
    say(f"govern db upgrade on the clone: {ran.seconds:.1f} s ({'ok' if ran.ok else ran.failure()})")
    return {"clone_seconds": subject.ids.get("clone_seconds"), "upgrade_seconds": round(ran.seconds, 1),
            "ok": ran.ok, "error": ran.failure()}


def measure_verify(subject: Subject, args) -> dict:
    ran = run([GOVERN, "audit", "verify", "--json"], subject.env, args.timeout * 4, args.memory_limit_mb)
    result: dict[str, Any] = {"seconds": round(ran.seconds, 2), "max_rss_mb": round(ran.max_rss_mb), "ok": False,
                              "error": ran.failure()}
    try:
        report = json.loads(ran.stdout.strip().splitlines()[-1])
        result.update(ok=bool(report["ok"]) and ran.ok, events=report["events_checked"],
                      checkpoints=report["checkpoints_checked"],
                      events_per_second=round(report["events_checked"] / ran.seconds))
    except (ValueError, IndexError, KeyError):
        pass
    say(f"govern audit verify: {result}")
    return result


def measure_campaign(subject: Subject, server: Server, args) -> dict:
    """Open a campaign over all accounts as a user would (the API); if opening continues as a job, until it is done."""
    import requests

    session = http(subject, server)["api"]
    deadline = (datetime.now(timezone.utc) + timedelta(days=14)).isoformat()
    body = {"name": f"Scale review {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}", "scope_kind": "all", "deadline": deadline}
    started = time.perf_counter()
    try:
        response = session.post(f"{server.base}/api/v1/reviews/campaigns", json=body, timeout=args.timeout)
    except requests.RequestException as exc:
        return {"seconds": round(time.perf_counter() - started, 2), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    answered = time.perf_counter() - started
    result: dict[str, Any] = {"status": response.status_code, "request_seconds": round(answered, 2),
                              "bytes": len(response.content)}
    if response.status_code >= 400:
        result.update(seconds=round(answered, 2), ok=False, error=response.text[:300])
        return result
    document = response.json() if response.headers.get("Content-Type", "").startswith("application/") else {}
    campaign = document.get("campaign", document) if isinstance(document, dict) else {}
    campaign_id = campaign.get("id")
    subject.ids["campaign"] = campaign_id or subject.ids.get("campaign")
    poll = response.headers.get("Location") or (f"/api/v1/reviews/campaigns/{campaign_id}" if campaign_id else None)
    state = campaign.get("status")
    while poll and _still_opening(document) and time.perf_counter() - started < args.timeout:
        time.sleep(0.25)
        polled = session.get(server.base + poll if poll.startswith("/") else poll, timeout=args.timeout)
        document = polled.json() if polled.ok else {}
        state = (document.get("campaign") or document).get("status", state) if isinstance(document, dict) else state
    result.update(seconds=round(time.perf_counter() - started, 2), ok=not _still_opening(document), state=state,
                  campaign_id=campaign_id)
    say(f"campaign over all accounts: {result}")
    return result


OPENING_STATES = {"opening", "pending", "queued", "running", "started", "building", "in_progress", "preparing", "scheduled"}


def _still_opening(document: Any) -> bool:
    """Whether a campaign (or its job) is still being opened: the merged tree may open campaigns as a job."""
    if not isinstance(document, dict):
        return False
    campaign = document.get("campaign") if isinstance(document.get("campaign"), dict) else document
    for holder in (campaign, campaign.get("job") if isinstance(campaign.get("job"), dict) else {}, document.get("job") or {}):
        if isinstance(holder, dict):
            for key in ("status", "state"):
                if str(holder.get(key, "")).lower() in OPENING_STATES:
                    return True
    return False


def page_urls(subject: Subject, skipped: list[dict] | None = None) -> list[tuple[str, str, str]]:
    """(label, url, endpoint) for every side-effect-free GET route, path parameters filled with real ids, plus
    the searches and filters the issue names. Routes other branches add are picked up here."""
    from werkzeug.routing import IntegerConverter

    from govern.web.authz import PUBLIC, declared_permission

    app, ids = subject.app, subject.ids
    mid = ids.get("mid_year")
    fillers = {
        "account_id": [("big account", ids["account_big"]), ("typical account", ids["account_typical"])],
        "person_id": [("owner of most accounts", ids["person_owner"]), ("typical person", ids["person_typical"]),
                      ("leaver", ids["person_leaver"])],
        "grant_id": [("", ids["grant"])],
        "campaign_id": [("all accounts", ids.get("campaign"))],
        "user_id": [("", ids.get("scim_user"))],
        "name": [("", "User")],
        "schema_id": [("", "urn:ietf:params:scim:schemas:core:2.0:User")],
    }
    urls: list[tuple[str, str, str]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods:
            continue
        why = SKIPPED_ENDPOINTS.get(rule.endpoint)
        if why is None and SKIPPED_PATTERN.search(rule.rule + rule.endpoint):
            why = "sign-in, callback, static file or probe"
        if why is None and declared_permission(app, rule.endpoint, "GET") == PUBLIC and rule.endpoint != "audit.SigningKeys":
            why = "public, not a page"
        if why is not None:
            if skipped is not None:
                skipped.append({"route": rule.rule, "why": why})
            continue
        variants: list[tuple[str, str]] = [("", rule.rule)]
        for argument in sorted(rule.arguments):
            options = [(label, value) for label, value in fillers.get(argument, []) if value is not None]
            if argument == "name" and not rule.rule.startswith("/scim/"):
                options = []
            expanded = []
            for label, path in variants:
                for value_label, value in options:
                    converter = "int:" if isinstance(rule._converters[argument], IntegerConverter) else ""
                    filled = re.sub(rf"<({converter}|[a-z]+:)?{argument}>", str(value), path)
                    expanded.append((", ".join(part for part in (label, value_label) if part), filled))
            variants = expanded
        if not variants and skipped is not None:
            skipped.append({"route": rule.rule, "why": "no sample value for " + ", ".join(sorted(rule.arguments))})
        urls += [(label, path, rule.endpoint) for label, path in variants]
    extras = [
        ("search Latin", "/people?q=Cohen", "console.people"), ("search Arabic", "/people?q=ليلى", "console.people"),
        ("search Hebrew", "/api/v1/people?q=נועה", "people.People"), ("search", "/accounts?q=scale0012", "console.accounts"),
        ("grants of the big account", f"/api/v1/grants?account_id={ids['account_big']}", "grants.Grants"),
        ("grants of a person", f"/api/v1/grants?person_id={ids['person_typical']}", "grants.Grants"),
        ("accounts of the owner", f"/api/v1/accounts?owner_id={ids['person_owner']}", "accounts.Accounts"),
        ("history of the big account", f"/api/v1/audit/events?target_type=account&target_id={ids['account_big']}",
         "audit.AuditEvents"),
        ("history of a person", f"/api/v1/audit/events?target_type=person&target_id={ids['person_typical']}",
         "audit.AuditEvents"),
    ]
    if mid is not None:
        day = mid.astimezone(timezone.utc)
        extras.append(("a day mid-year", "/api/v1/audit/events?" + _query(since=day.isoformat(),
                                                                             until=(day + timedelta(days=1)).isoformat()),
                       "audit.AuditEvents"))
    known = {rule.endpoint for rule in app.url_map.iter_rules()}
    return urls + [extra for extra in extras if extra[2] in known]


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def _client_for(path: str) -> str:
    return "scim" if path.startswith("/scim/") else "api" if path.startswith("/api/") else "console"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def measure_pages(subject: Subject, server: Server, args, skipped: list[dict]) -> list[dict]:
    import requests

    clients = http(subject, server)
    results = []
    for label, path, endpoint in page_urls(subject, skipped):
        session, samples, status, size, error = clients[_client_for(path)], [], None, 0, None
        wanted = args.requests
        while len(samples) < wanted:
            started = time.perf_counter()
            try:
                response = session.get(server.base + path, timeout=args.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}"
                samples.append(time.perf_counter() - started)
                break
            samples.append(time.perf_counter() - started)
            status, size = response.status_code, len(response.content)
            if len(samples) == 1 and samples[0] > 1:  # a slow page: as many as fit in about a minute, at least 2
                wanted = max(1 if samples[0] > 30 else 2, min(args.requests, int(60 / samples[0])))
        bare = bare_sql(subject, path, _client_for(path))
        p50, p95 = statistics.median(samples) * 1000, percentile(samples, 0.95) * 1000
        row = {"route": path if not label else f"{path} ({label})", "endpoint": endpoint, "status": status,
               "n": len(samples), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "bytes": size, "error": error,
               "bare_sql_ms": bare["ms"], "queries": bare["queries"],
               "ratio": round(p50 / bare["ms"], 2) if bare["ms"] else None}
        row["meets"] = (status is not None and status < 500 and error is None and p95 <= TARGETS["page_p95_ms"])
        results.append(row)
        say(f"{row['route']}: {status} p50 {p50:.0f} ms p95 {p95:.0f} ms, {size:,} bytes, bare SQL {bare['ms']} ms"
            f" ({bare['queries']} queries)")
    return results


def bare_sql(subject: Subject, path: str, kind: str) -> dict:
    """The page's own reads sent straight to PostgreSQL: the SELECTs the same request runs in-process are captured
    and replayed on a plain psycopg connection (median of 3 replays). Writes (session touch, audit) are left out."""
    import psycopg
    from sqlalchemy import event

    from govern.extensions import db

    app, captured = subject.app, []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if not executemany and re.match(r"\s*(SELECT|WITH)\b", statement, re.IGNORECASE) and "FOR UPDATE" not in statement.upper():
            captured.append((statement, parameters))

    headers = {"Authorization": f"Bearer {subject.scim_token if kind == 'scim' else subject.api_token}"} if kind != "console" else {}
    client = app.test_client()
    if kind == "console":
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], subject.console_cookie, domain="localhost")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(path, headers=headers)
    except Exception:  # noqa: BLE001 - the page's failure is reported by the server run; no bare figure then
        return {"ms": None, "queries": len(captured)}
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if not captured:
        return {"ms": None, "queries": 0}
    runs = []
    conninfo = org.ADMIN_CONNINFO.replace("dbname=postgres", f"dbname={subject.database}")
    with psycopg.connect(conninfo) as connection:
        for _ in range(3):
            if runs and runs[0] > 2:  # a page whose reads take seconds: once is enough
                break
            started = time.perf_counter()
            try:
                for statement, parameters in captured:
                    with connection.cursor() as cursor:
                        cursor.execute(statement, parameters)
                        if cursor.description:
                            cursor.fetchall()
            except psycopg.Error:
                connection.rollback()
                return {"ms": None, "queries": len(captured)}
            runs.append(time.perf_counter() - started)
            connection.rollback()
    return {"ms": round(statistics.median(runs) * 1000, 1), "queries": len(captured)}


def report_kinds() -> tuple[list[str], list[str]]:
    from govern.reports.render import RENDER_FORMATS
    from govern.reports.service import REPORTS

    return list(REPORTS), list(RENDER_FORMATS)


def measure_reports(subject: Subject, args) -> list[dict]:
    since, until = subject.year
    kinds, formats = report_kinds()
    results = []
    for kind in kinds:
        for fmt in formats:
            output = subject.instance / f"report-{kind}.{fmt}"
            ran = run([GOVERN, "report", kind, "--format", fmt, "--from", since, "--to", until, "-o", str(output)],
                      subject.env, args.timeout, args.memory_limit_mb)
            size = output.stat().st_size if ran.ok and output.exists() else None
            limit_seconds = TARGETS["pdf_seconds"] if fmt == "pdf" else TARGETS["report_seconds"]
            row = {"report": kind, "format": fmt, "seconds": round(ran.seconds, 1), "max_rss_mb": round(ran.max_rss_mb),
                   "ok": ran.ok, "bytes": size, "error": ran.failure()}
            row["meets"] = ran.ok and ran.seconds <= limit_seconds and (fmt == "pdf" or ran.max_rss_mb <= TARGETS["report_rss_mb"])
            results.append(row)
            output.unlink(missing_ok=True)
            say(f"report {kind} {fmt}: {row}")
    return results


def measure_evidence(subject: Subject, args) -> dict:
    since, until = subject.year
    bundle = subject.instance / "evidence.zip"
    ran = run([GOVERN, "evidence", "export", "--from", since, "--to", until, "-o", str(bundle)], subject.env,
              max(args.timeout, 2 * TARGETS["evidence_seconds"]), args.memory_limit_mb)
    result: dict[str, Any] = {"seconds": round(ran.seconds, 1), "max_rss_mb": round(ran.max_rss_mb), "ok": ran.ok,
                              "error": ran.failure(), "bytes": bundle.stat().st_size if bundle.exists() else None}
    if ran.ok:
        checked = run([GOVERN, "audit", "verify", "--bundle", str(bundle)], subject.env, args.timeout * 4, args.memory_limit_mb)
        result.update(verify_seconds=round(checked.seconds, 1), verify_max_rss_mb=round(checked.max_rss_mb),
                      verify_ok=checked.ok, verify_output=(checked.stdout or checked.stderr).strip()[:300])
    result["meets"] = bool(ran.ok and result.get("verify_ok") and ran.seconds <= TARGETS["evidence_seconds"]
                           and ran.max_rss_mb <= TARGETS["evidence_rss_mb"])
    bundle.unlink(missing_ok=True)
    say(f"evidence bundle for a year: {result}")
    return result


# --- output -----------------------------------------------------------------------------------
def markdown(result: dict) -> str:
    out = [f"### {result['events']} audit events ({result['started']}, tree {result['tree']})", ""]
    counts = result["built"]["counts"]
    out.append("Organisation: " + ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in counts.items()) + ".")
    setup = result.get("upgrade") or {}
    out.append(f"Template built in {result['built']['seconds']:,.0f} s (once); clone {setup.get('clone_seconds')} s, "
               f"`govern db upgrade` {setup.get('upgrade_seconds')} s"
               + (f", `govern serve` ready after {result['serve_startup_seconds']} s" if result.get("serve_startup_seconds") else "")
               + ".")
    out.append("")
    if "verify" in result:
        verify = result["verify"]
        rate = verify.get("events_per_second")
        out += ["| measure | value | target |", "| --- | ---: | --- |",
                f"| `govern audit verify` | {verify.get('events', 0):,} events in {verify['seconds']} s = "
                f"{rate or 0:,} events/s, {verify['max_rss_mb']} MB | >= 250,000/s: "
                f"{_mark(bool(rate) and rate >= TARGETS['verify_events_per_second'])} |"]
        if "campaign" in result:
            campaign = result["campaign"]
            out.append(f"| open a campaign over all accounts (API{', until open' if campaign.get('state') else ''}) | "
                       f"{campaign.get('seconds')} s (HTTP {campaign.get('status')}) | <= 10 s: "
                       f"{_mark(campaign.get('ok') and campaign.get('seconds', 1e9) <= TARGETS['campaign_seconds'])} |")
        if "evidence" in result:
            evidence = result["evidence"]
            out.append(f"| evidence bundle for a year | {evidence['seconds']} s, {evidence['max_rss_mb']} MB"
                       f"{', bundle verifies' if evidence.get('verify_ok') else ''}{_error(evidence)} | <= 300 s, <= 500 MB: "
                       f"{_mark(evidence['meets'])} |")
        out.append("")
    if "reports" in result:
        out += ["| report | format | seconds | max RSS MB | result |", "| --- | --- | ---: | ---: | --- |"]
        for row in result["reports"]:
            out.append(f"| {row['report']} | {row['format']} | {row['seconds']} | {row['max_rss_mb']} | "
                       f"{_mark(row['meets'])}{_error(row)} |")
        out.append("")
    if "pages" in result:
        out += ["| route | status | n | p50 ms | p95 ms | bytes | bare SQL ms | ratio | p95 <= 300 ms |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for row in result["pages"]:
            out.append(f"| `{row['route']}` | {row['status'] or row['error']} | {row['n']} | {row['p50_ms']:,} | "
                       f"{row['p95_ms']:,} | {row['bytes']:,} | {row['bare_sql_ms'] if row['bare_sql_ms'] is not None else ''} | "
                       f"{str(row['ratio']) + 'x' if row['ratio'] else ''} | {_mark(row['meets'])} |")
        met = sum(1 for row in result["pages"] if row["meets"])
        out += ["", f"{met} of {len(result['pages'])} routes meet p95 <= 300 ms."]
        if result.get("pages_skipped"):
            out += ["", "GET routes not walked: " + "; ".join(f"`{row['route']}` ({row['why']})" for row in result["pages_skipped"]) + "."]
    return "\n".join(out) + "\n"


def _mark(ok: bool | None) -> str:
    return "met" if ok else "**not met**"


def _error(row: dict) -> str:
    return f" ({row['error']})" if row.get("error") else ""


def tree() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(events: str, args) -> dict:
    wanted = set(args.only.split(",")) if args.only else set(GROUPS)
    subject = prepare(events, args.rebuild, args.reuse_clone)
    result: dict[str, Any] = {"events": events, "started": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
                              "tree": tree(), "built": subject.built.__dict__, "year": subject.year, "targets": TARGETS}
    try:
        result["upgrade"] = measure_upgrade(subject, args)  # always: the clone must match this tree's migrations
        if not result["upgrade"]["ok"]:
            raise RuntimeError(f"govern db upgrade failed: {result['upgrade']['error']}")
        sign_in(subject)
        if "verify" in wanted:
            result["verify"] = measure_verify(subject, args)
        if wanted & {"campaign", "pages"}:
            server = Server(subject, args.timeout * 4)
            result["serve_startup_seconds"] = round(server.startup_seconds, 1)
            say(f"govern serve ready after {server.startup_seconds:.1f} s on port {server.port}")
            try:
                if "campaign" in wanted:
                    result["campaign"] = measure_campaign(subject, server, args)
                if "pages" in wanted:
                    result["pages_skipped"] = []
                    result["pages"] = measure_pages(subject, server, args, result["pages_skipped"])
            finally:
                server.stop()
        if "reports" in wanted:
            result["reports"] = measure_reports(subject, args)
        if "evidence" in wanted:
            result["evidence"] = measure_evidence(subject, args)
    finally:
        if subject.app is not None:
            from govern.extensions import db

            with subject.app.app_context():
                db.engine.dispose()
        if not args.keep:
            org.drop_database(subject.database)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", choices=("2m", "10m", "both", "quick"), default="10m")
    parser.add_argument("--quick", action="store_true", help="the small size (2,000 people, 20,000 events): a smoke run")
    parser.add_argument("--rebuild", action="store_true", help="build the template databases again")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the templates and stop")
    parser.add_argument("--only", help=f"comma-separated measure groups: {','.join(GROUPS)}")
    parser.add_argument("--requests", type=int, default=20, help="requests per page (fewer for pages slower than 1 s)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a report or a request is a failure")
    parser.add_argument("--memory-limit-mb", type=int, default=4096,
                        help="address-space cap of each CLI subprocess, so a runaway report fails instead of the machine")
    parser.add_argument("--keep", action="store_true", help="keep the run's clone (govern_scale_run_<events>)")
    parser.add_argument("--reuse-clone", action="store_true", help="measure the clone a --keep run left, if there is one")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON and markdown go")
    args = parser.parse_args(argv)
    if args.only and not set(args.only.split(",")) <= set(GROUPS):
        parser.error(f"--only takes {','.join(GROUPS)}")
    if args.quick or args.events == "quick":
        args.requests, args.timeout = min(args.requests, 3), min(args.timeout, 120)
    sizes = ["quick"] if args.quick or args.events == "quick" else ["2m", "10m"] if args.events == "both" else [args.events]
    if args.build_only:
        for events in sizes:
            org.build_events(events, rebuild=args.rebuild, say=say)
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    for events in sizes:
        result = measure(events, args)
        path = args.results / f"scale-{events}.json"
        if args.only and path.exists():  # a partial run updates the groups it measured, keeps the others
            earlier = json.loads(path.read_text())
            if earlier.get("built", {}).get("key") == result["built"]["key"]:
                result = {**earlier, **result}
        path.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))
        table = markdown(result)
        (args.results / f"scale-{events}.md").write_text(table)
        print(table, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
