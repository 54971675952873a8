"""`govern audit ...`: verify (live or an exported bundle), sign checkpoints, rotate the key, stream to a SIEM."""

from __future__ import annotations

import base64
import sys
import time
from datetime import datetime
from pathlib import Path

import click
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govern import app_services
from govern.audit import checkpoints, trail
from govern.audit.signing import SigningUnavailable, current_signer
from govern.audit.verification import TrailReport, TrustedKey
from govern.cli_support import cli_actor, moment_or_seq, with_app
from govern.evidence.bundle import BundleError, keys_from_json, signing_key_ids, verify_bundle  # verify --bundle
from govern.extensions import db


@click.group()
def audit() -> None:
    """The audit trail: verify it, seal it, ship it."""


def _keys_file(path: Path, checkpoint_key_ids: set[str] | None = None) -> list[TrustedKey]:
    """A JSON keys file (as /api/v1/audit/keys serves it) or one PEM public key (trusted for any key id)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--public-key") from None
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise click.BadParameter(f"{path} is not a PEM public key", param_hint="--public-key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise click.BadParameter(f"{path} is not an Ed25519 public key", param_hint="--public-key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return [TrustedKey(key_id, raw) for key_id in (checkpoint_key_ids or set())]
    try:
        return keys_from_json(orjson.loads(data))
    except (orjson.JSONDecodeError, BundleError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--public-key") from None


def _report(report: TrailReport, as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps({
            "ok": report.ok, "events_checked": report.events_checked, "checkpoints_checked": report.checkpoints_checked,
            "first_seq": report.first_seq, "last_seq": report.last_seq, "last_hash": report.last_hash,
            "first_failure": {"seq": report.failure.seq, "reason": report.failure.reason} if report.failure else None,
            "notes": report.notes,
        }).decode())
    elif report.ok:
        span = f"events {report.first_seq}-{report.last_seq}" if report.events_checked else "no events"
        click.echo(f"audit trail intact: {report.events_checked} events ({span}), {report.checkpoints_checked} signed "
                   f"checkpoints verified; last hash {report.last_hash}")
        for note in report.notes:
            click.echo(f"note: {note}")
    else:
        click.echo(f"audit trail BROKEN at {report.failure} ({report.events_checked} events and "
                   f"{report.checkpoints_checked} checkpoints verified before it)", err=True)
    if not report.ok:
        sys.exit(1)


@audit.command("verify")
@click.option("--from", "from_", metavar="SEQ|DATE", help="First event (number) or time (UTC) to check.")
@click.option("--to", metavar="SEQ|DATE", help="Last event (number) to check, or the last day included (UTC date), or an exact end time, excluded.")
@click.option("--public-key", "public_key", type=click.Path(path_type=Path, dir_okay=False),
              help="Trust only these keys (JSON as /api/v1/audit/keys serves it, or an Ed25519 PEM public key).")
@click.option("--bundle", "bundle_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Verify an exported evidence bundle instead of the database (works offline).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def verify(from_: str | None, to: str | None, public_key: Path | None, bundle_path: Path | None, as_json: bool) -> None:
    """Check every event's hash and link, every checkpoint signature and the head; exit 1 naming the first failure."""
    if bundle_path is not None:
        if not bundle_path.is_file():
            raise click.ClickException(f"cannot read {bundle_path}: No such file")
        data = bundle_path  # read from the zip as it is checked, never whole into memory
        keys = None
        if public_key is not None:
            keys = _keys_file(public_key, signing_key_ids(data))
        try:
            _report(verify_bundle(data, keys), as_json)
        except BundleError as exc:
            raise click.ClickException(f"the bundle is not intact: {exc}") from None
        return
    _verify_database(moment_or_seq(from_, "--from"), moment_or_seq(to, "--to", end_of_day=True), public_key, as_json)


@with_app
def _verify_database(start, end, public_key: Path | None, as_json: bool) -> None:
    session = db.session
    from_seq, to_seq = 1, None
    if isinstance(start, datetime) or isinstance(end, datetime):
        from_seq, to_seq = trail.seq_range_for_times(session, start if isinstance(start, datetime) else None,
                                                           end if isinstance(end, datetime) else None)
    from_seq = start if isinstance(start, int) else from_seq
    to_seq = end if isinstance(end, int) else to_seq
    if public_key is not None:
        ids = {c.key_id for c in trail.stored_checkpoints(session, from_seq, to_seq)}
        keys = _keys_file(public_key, ids)
    else:
        try:
            keys = trail.trusted_keys_from_signer(session, current_signer())
        except SigningUnavailable as exc:
            raise click.ClickException(f"{exc}; pass --public-key to verify with keys you hold") from None
    report = trail.verify_stored_trail(session, keys, max(from_seq, 1), to_seq)
    if public_key is None and max(from_seq, 1) == 1 and to_seq is None:
        # the whole trail with the signer's keys: kept, so the API checks only what comes after it
        from govern.audit.verifications import keep

        try:
            keep(session, cli_actor(), report)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - a read-only database still gets its verification printed
            session.rollback()
            click.echo(f"note: this verification could not be kept ({exc.__class__.__name__})", err=True)
    _report(report, as_json)


@audit.command("checkpoint")
@with_app
def checkpoint() -> None:
    """Sign the chain head now (the schedule does this every N events or M minutes)."""
    try:
        signed = checkpoints.sign_checkpoint(db.session, current_signer())
    except SigningUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if signed is None:
        click.echo("nothing to sign: the chain head is already sealed (or empty)")
    else:
        click.echo(f"signed checkpoint at event {signed.seq} ({signed.head_hash}) with key {signed.key_id}")


@audit.command("keys")
@click.option("--json", "as_json", is_flag=True, help="The same JSON as /api/v1/audit/keys.")
@with_app
def keys(as_json: bool) -> None:
    """The public keys that sign checkpoints, with their validity periods."""
    try:
        checkpoints.sync_keys(db.session, current_signer())
    except SigningUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    published = [trail.describe_key(row) for row in trail.published_keys(db.session)]
    if as_json:
        click.echo(orjson.dumps({"keys": published}, option=orjson.OPT_INDENT_2).decode())
        return
    for key in published:
        until = key["valid_until"] or "now"
        click.echo(f"{key['key_id']}  {key['algorithm']}  {key['public_key']}  {key['valid_from']} .. {until}")


@audit.command("rotate-key")
@click.option("--reason", required=True, help="Why the key is rotated (kept in the audit trail).")
@with_app
def rotate_key(reason: str) -> None:
    """Seal the head with the current key, make a new key current, and seal again with it."""
    try:
        new = checkpoints.rotate_key(db.session, cli_actor(), current_signer(), reason)
    except SigningUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new signing key {new.key_id} ({base64.b64encode(new.public_key).decode()})")


@audit.command("stream")
@click.option("--to", "target", metavar="TARGET", help="stdout, file:/path, syslog or syslog://host:port "
              "(default: GOVERN_AUDIT_STREAM, else stdout).")
@click.option("--after-seq", type=click.IntRange(min=0), help="Move the sink's cursor to this event first (re-ship from there).")
@click.option("--follow", is_flag=True, help="Keep shipping new events every few seconds until interrupted.")
def stream(target: str | None, after_seq: int | None, follow: bool) -> None:
    """Ship committed audit events as JSON lines to a SIEM, in order, resuming from the sink's cursor in the database."""
    _stream(target, after_seq, follow)


@with_app
def _stream(target: str | None, after_seq: int | None, follow: bool) -> None:

    from govern.audit.stream import LEGACY_CURSOR_FILE, open_sink, ship

    settings = app_services.settings()
    sink_key = target or settings.audit_stream or "stdout"
    try:
        sink = open_sink(sink_key)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        while True:
            ship(db.session, sink_key, sink, db.session.commit, after_seq=after_seq,
                 legacy_file=settings.instance_path / LEGACY_CURSOR_FILE)
            after_seq = None
            db.session.rollback()  # end the read transaction so the next round sees new commits
            if not follow:
                break
            time.sleep(2)
    except KeyboardInterrupt:
        pass
    finally:
        sink.close()
