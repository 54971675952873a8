"""The evidence bundle: reports, the audit events of a period with their signed checkpoints and public keys, a manifest.

An auditor verifies it without govern's database: SHA-256 of every file against the manifest, the hash chain of the
events, and every checkpoint signature against keys obtained independently (docs/evidence.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson

from govern.audit.chain import canonical_time
from govern.audit.verification import EventRow, SignedCheckpoint, TrailReport, TrustedKey, verify_trail

FORMAT = "govern-evidence-bundle/1"
EVENTS = "audit/events.jsonl"
CHECKPOINTS = "audit/checkpoints.jsonl"
KEYS = "audit/keys.json"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"


class BundleError(ValueError):
    """The bundle cannot be read or does not match its manifest; the message says which file and why."""


def checkpoint_json(checkpoint: SignedCheckpoint) -> dict[str, object]:
    return {"seq": checkpoint.seq, "head_hash": checkpoint.head_hash, "signed_at": canonical_time(checkpoint.signed_at),
            "key_id": checkpoint.key_id, "signature": base64.b64encode(checkpoint.signature).decode()}


def key_json(key: TrustedKey) -> dict[str, object]:
    return {"key_id": key.key_id, "algorithm": "ed25519", "public_key": base64.b64encode(key.public_key).decode(),
            "valid_from": canonical_time(key.valid_from) if key.valid_from else None,
            "valid_until": canonical_time(key.valid_until) if key.valid_until else None}


def _time(value: object) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def keys_from_json(data: object) -> list[TrustedKey]:
    """Keys as /api/v1/audit/keys publishes them ({"keys": [...]}) or a bare list of them."""
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise BundleError("a keys file must be a JSON list of keys or an object with a 'keys' list")
    try:
        return [TrustedKey(str(e["key_id"]), base64.b64decode(e["public_key"]), _time(e.get("valid_from")),
                           _time(e.get("valid_until"))) for e in entries]
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"a key entry is malformed: {exc}") from None


@dataclass(frozen=True)
class BundleContents:
    files: dict[str, bytes]
    manifest: dict[str, object]


def write_bundle(files: dict[str, bytes], manifest: dict[str, object], readme: str) -> bytes:
    """Zip `files` with README.md, a manifest listing every file's SHA-256, and SHA256SUMS for `sha256sum -c`."""
    everything = {"README.md": readme.encode(), **files}
    manifest = {**manifest, "format": FORMAT, "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(everything.items())}}
    everything[MANIFEST] = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(everything.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(everything.items()):
            archive.writestr(name, data)
        archive.writestr(SUMS, sums)
    return buffer.getvalue()


def read_bundle(data: bytes) -> BundleContents:
    """Open a bundle and check every file against the manifest (a missing, extra or changed file is refused)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a readable zip file: {exc}") from None
    if MANIFEST not in files:
        raise BundleError(f"{MANIFEST} is missing")
    try:
        manifest = orjson.loads(files[MANIFEST])
        listed = dict(manifest["files"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BundleError(f"{MANIFEST} is not a valid manifest") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
    for name, digest in sorted(listed.items()):
        if name not in files:
            raise BundleError(f"{name} is listed in the manifest but missing from the bundle")
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise BundleError(f"{name} does not match its SHA-256 in the manifest (the file was changed)")
    extra = sorted(set(files) - set(listed) - {MANIFEST, SUMS})
    if extra:
        raise BundleError(f"files not in the manifest: {', '.join(extra)}")
    return BundleContents(files, manifest)


def _jsonl(data: bytes, name: str) -> Iterable[dict]:
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                raise BundleError(f"{name} line {number} is not JSON") from None


def verify_bundle(data: bytes, trusted_keys: list[TrustedKey] | None = None) -> TrailReport:
    """Manifest, hash chain, checkpoints; keys from `trusted_keys` (obtained independently) or else the bundle's own."""
    contents = read_bundle(data)
    files = contents.files
    for needed in (EVENTS, CHECKPOINTS, KEYS):
        if needed not in files:
            raise BundleError(f"{needed} is missing")
    try:
        events = [EventRow.from_json(e) for e in _jsonl(files[EVENTS], EVENTS)]
        checkpoints = [SignedCheckpoint(int(c["seq"]), c["head_hash"], _time(c["signed_at"]), c["key_id"],
                                        base64.b64decode(c["signature"])) for c in _jsonl(files[CHECKPOINTS], CHECKPOINTS)]
        bundle_keys = keys_from_json(orjson.loads(files[KEYS]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"the audit files are malformed: {exc}") from None
    first = events[0].seq if events else int(contents.manifest.get("events", {}).get("first_seq", 1) or 1)
    report = verify_trail(events, checkpoints=checkpoints, keys=trusted_keys if trusted_keys is not None else bundle_keys,
                          from_seq=first, to_seq=events[-1].seq if events else None)
    if trusted_keys is None:
        report.notes.append("the public keys were taken from the bundle itself: compare their fingerprints with the keys "
                            "govern publishes at /api/v1/audit/keys, or pass --public-key with keys you obtained yourself")
    if report.ok and events and not any(c.seq == events[-1].seq for c in checkpoints):
        report.notes.append(f"the last event ({events[-1].seq}) is not sealed by a checkpoint in the bundle")
    return report
