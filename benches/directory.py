"""Directory sync at scale: a generated directory of N people (slapadd), bare ldap3 paged read vs govern's syncs,
and the time to revoke over LDAP with the watcher (`govern directory watch`): directory write -> access removed, next to
the same for a SCIM push (`PATCH active false`): request -> access removed. GOVERN_BENCH_PEOPLE sets N (100,000)."""

from __future__ import annotations

import math
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import ldap3
from sqlalchemy import select
from alembic import command as alembic_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govern import app_services
from govern import create_app  # noqa: E402
from govern.adapters.directory_factory import build_directory  # noqa: E402
from govern.accounts.service import create_account  # noqa: E402
from govern.audit.service import Actor  # noqa: E402
from govern.auth.roles import Role  # noqa: E402
from govern.auth.service import create_api_client  # noqa: E402
from govern.cli import alembic_config  # noqa: E402
from govern.directory import service  # noqa: E402
from govern.directory.models import Departure  # noqa: E402
from govern.directory.watch import committed_sync, start_watch_thread  # noqa: E402
from govern.people.models import Person  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.grants.models import GrantRole  # noqa: E402
from govern.grants.service import create_grant  # noqa: E402
from tests.support.postgres import ScratchPostgres  # noqa: E402
from tests.support.slapd import start_slapd  # noqa: E402

PEOPLE_COUNT = int(os.environ.get("GOVERN_BENCH_PEOPLE", "100000"))
CHANGES = 100
LEAVERS = int(os.environ.get("GOVERN_BENCH_LEAVERS", "40"))  # watcher samples: half terminated by HR, half deleted
ADMIN_URL = os.environ.get("GOVERN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BASE = "ou=people,dc=example,dc=com"
FIRST = ["Lina", "Omar", "Noa", "Uri", "Dana", "Sami", "Maya", "Yossi", "ليلى", "عمر", "نور", "נועה", "אורי", "דנה"]
LAST = ["Khoury", "Haddad", "Cohen", "Levi", "Mizrahi", "الخطيب", "حداد", "כהן", "לוי", "Smith", "Jones"]


def generate_ldif(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        for n in range(count):
            manager = f"manager: uid=u{(n - 1) // 10:06d},{BASE}\n" if n else ""
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            out.write(
                f"dn: uid=u{n:06d},{BASE}\nobjectClass: inetOrgPerson\nuid: u{n:06d}\ncn: {name}\nsn: {name.split()[-1]}\n"
                f"displayName: {name}\nmail: u{n:06d}@example.com\ndepartmentNumber: D{n % 40}\n{manager}"
                f"entryUUID: {uuid.UUID(int=n + 1)}\n\n"
            )


def timed(label: str, results: dict, fn):
    started = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - started
    return value


WATCH_INTERVAL = 1.0


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]  # nearest rank


def time_to_revoke(app, directory, slapd) -> list[float]:
    """The watcher on its thread (as `govern serve` starts it); leavers one after another at random moments, each
    timed from just before the LDAP write to the departure's access_removed_at (same host clock)."""
    rng = random.Random(11)
    leavers = [f"u{number:06d}" for number in rng.sample(range(1000, PEOPLE_COUNT), LEAVERS)]
    bench = Actor.system("bench")
    ids = dict(db.session.execute(select(Person.username, Person.id).where(Person.username.in_(leavers))).all())
    for uid in leavers:  # something to take away: a grant on an account of their own and an API token each
        account = create_account(db.session, bench, "x", handle=f"acme_{uid}", display_name=f"Acme {uid}", owner_id=ids[uid])
        create_grant(db.session, bench, ids[uid], account.id, GrantRole.PUBLISHER, "bench")
        create_api_client(db.session, bench, f"{uid}-tool", Role.IT, ids[uid])
    db.session.commit()
    stop = start_watch_thread(directory, committed_sync(app, directory), interval=WATCH_INTERVAL)
    writer, admin = slapd.connection("writer"), slapd.connection("admin")
    samples = []
    try:
        time.sleep(2)  # its first look (catching up) is done
        for n, uid in enumerate(leavers):
            person_id = ids[uid]
            time.sleep(rng.uniform(0, WATCH_INTERVAL))  # land anywhere in the watcher's cycle
            written = time.time()
            if n % 2:
                admin.delete(f"uid={uid},{BASE}")
            else:
                writer.modify(f"uid={uid},{BASE}", {"employeeType": [(ldap3.MODIFY_REPLACE, ["terminated"])]})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                db.session.rollback()
                removed = db.session.scalar(select(Departure.access_removed_at).where(Departure.person_id == person_id))
                if removed is not None:
                    samples.append(removed.timestamp() - written)
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError(f"{uid} was not revoked within 60 s")
    finally:
        stop.set()
        writer.unbind()
        admin.unbind()
    return samples


def scim_time_to_revoke(app) -> list[float]:
    """The same leaver, pushed by an identity provider instead: SCIM users given a grant and an API token each, then
    deactivated one after another (`PATCH active false`, as Okta and Entra ID send it), each timed from just before the
    request to the departure's access_removed_at, in the same database of PEOPLE_COUNT people."""
    bench = Actor.system("bench")
    _, token = create_api_client(db.session, bench, "bench-scim", Role.SCIM)
    db.session.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {token.reveal()}"}
    users = []
    for n in range(LEAVERS):
        created = client.post("/scim/v2/Users", headers=headers, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"scim-leaver-{n}@example.com",
            "displayName": f"SCIM leaver {n}", "active": True})
        assert created.status_code == 201, created.get_json()
        users.append(created.get_json()["id"])
    ids = dict(db.session.execute(select(Person.external_id, Person.id).where(Person.external_id.in_(users))).all())
    for scim_id in users:
        account = create_account(db.session, bench, "x", handle=f"acme_{scim_id[:8]}", display_name="Acme", owner_id=ids[scim_id])
        create_grant(db.session, bench, ids[scim_id], account.id, GrantRole.PUBLISHER, "bench")
        create_api_client(db.session, bench, f"{scim_id[:8]}-tool", Role.IT, ids[scim_id])
    db.session.commit()
    samples = []
    for scim_id in users:
        sent = time.time()
        answer = client.patch(f"/scim/v2/Users/{scim_id}", headers=headers, json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}]})
        assert answer.status_code == 200, answer.get_json()
        db.session.rollback()
        removed = db.session.scalar(select(Departure.access_removed_at).where(Departure.person_id == ids[scim_id]))
        if removed is None:
            raise RuntimeError(f"SCIM user {scim_id} was not revoked by its request")
        samples.append(removed.timestamp() - sent)
    return samples


def main() -> int:
    workdir = Path(tempfile.mkdtemp())
    results: dict[str, float] = {}
    ldif = workdir / "people.ldif"
    generate_ldif(ldif, PEOPLE_COUNT)
    slapd = timed("slapadd + start", results, lambda: start_slapd(workdir / "slapd", extra_ldif=ldif))
    scratch = ScratchPostgres(ADMIN_URL)
    url = scratch.create("govern_bench")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        app = create_app({
            "database_url": url, "secret_key": "d" * 40, "instance_path": workdir, "log_level": "WARNING",
            "ldap_url": slapd.url, "ldap_bind_dn": slapd.bind_dn, "ldap_bind_password": slapd.bind_password, "ldap_base_dn": BASE,
        })
        actor = Actor.system("bench")

        def bare_read() -> int:
            connection = ldap3.Connection(ldap3.Server(slapd.url, get_info=ldap3.NONE), slapd.bind_dn, slapd.bind_password, auto_bind=True)
            entries = connection.extend.standard.paged_search(
                BASE, "(&(objectClass=inetOrgPerson)(uid=*))", attributes=["entryUUID", "uid", "displayName", "cn", "mail",
                                                                           "departmentNumber", "manager", "modifyTimestamp"],
                paged_size=1000, generator=True)
            count = sum(1 for entry in entries if entry.get("type") == "searchResEntry")
            connection.unbind()
            return count

        with app.app_context():
            directory = build_directory(app_services.settings(app))
            counted = timed("bare ldap3 paged read", results, bare_read)
            timed("govern adapter read alone (all_entries)", results, lambda: list(directory.all_entries()))
            if os.environ.get("GOVERN_BENCH_PROFILE"):
                import cProfile

                profile = cProfile.Profile()
                first = timed("govern full sync, fresh database", results, lambda: profile.runcall(service.sync_full_from, db.session, actor, directory))
                profile.dump_stats("/tmp/directory.prof")
            else:
                first = timed("govern full sync, fresh database", results, lambda: service.sync_full_from(db.session, actor, directory))
            db.session.commit()
            again = timed("govern full sync, nothing changed", results, lambda: service.sync_full_from(db.session, actor, directory))
            db.session.commit()
            writer = slapd.connection("writer")
            for n in range(CHANGES):
                writer.modify(f"uid=u{n * 7 % PEOPLE_COUNT:06d},{BASE}", {"displayName": [(ldap3.MODIFY_REPLACE, [f"Renamed {n}"])]})
            writer.unbind()
            incremental = timed(f"govern incremental sync after {CHANGES} changes", results,
                                lambda: service.sync_incremental_from(db.session, actor, directory))
            db.session.commit()
            runs = [f"{run.status.value} {run.counts}" for run in (first, again, incremental)]
            revoke = time_to_revoke(app, directory, slapd)
            scim_revoke = scim_time_to_revoke(app)
            db.engine.dispose()
        print(f"directory of {PEOPLE_COUNT:,} people (bare read saw {counted:,}); runs: " + "; ".join(runs))
        print("| measure | seconds | vs bare read |")
        print("| --- | --- | --- |")
        bare = results["bare ldap3 paged read"]
        for label, seconds in results.items():
            ratio = f"{seconds / bare:.2f}x" if "govern full" in label else ""
            print(f"| {label} | {seconds:.2f} | {ratio} |")
        print(f"\ntime to revoke over LDAP with the watcher (every {WATCH_INTERVAL:g} s), {len(revoke)} leavers among "
              f"{PEOPLE_COUNT:,} people, from the directory write to the last access removed:")
        print(f"| path | p50 | p95 | max |\n| --- | --- | --- | --- |\n| LDAP, the watcher | {percentile(revoke, 50):.2f} s "
              f"| {percentile(revoke, 95):.2f} s | {max(revoke):.2f} s |")
        print(f"| SCIM, PATCH active false ({len(scim_revoke)} users) | {percentile(scim_revoke, 50):.2f} s "
              f"| {percentile(scim_revoke, 95):.2f} s | {max(scim_revoke):.2f} s |")
    finally:
        slapd.stop()
        scratch.drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
