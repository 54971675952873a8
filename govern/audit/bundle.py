"""The evidence bundle: reports, the audit events of a period with their signed checkpoints and public keys, a manifest.

An auditor verifies it without govern's database: SHA-256 of every file against the manifest, the hash chain of the
events, and every checkpoint signature against keys obtained independently (docs/evidence.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson

from govern.audit.chain import canonical_time
from govern.audit.signing import signature_valid
from govern.audit.verification import EventRow, Failure, SignedCheckpoint, TrailReport, TrustedKey, verify_trail

FORMAT = "govern-evidence-bundle/1"
EVENTS = "audit/events.jsonl"
CHECKPOINTS = "audit/checkpoints.jsonl"
KEYS = "audit/keys.json"
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig"
SUMS = "SHA256SUMS"
MANIFEST_MESSAGE = "govern-evidence-manifest:v1"


def manifest_message(manifest: bytes) -> bytes:
    """What the manifest signature covers: its SHA-256, under a label no checkpoint message can have."""
    return f"{MANIFEST_MESSAGE}\nsha256={hashlib.sha256(manifest).hexdigest()}\n".encode()


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


def write_bundle(files: dict[str, bytes], manifest: dict[str, object], readme: str,
                 sign: Callable[[bytes], tuple[str, bytes]] | None = None) -> bytes:
    """Zip `files` with README.md, a manifest listing every file's SHA-256 (signed with the audit key when `sign`
    is given), and SHA256SUMS for `sha256sum -c`."""
    everything = {"README.md": readme.encode(), **files}
    manifest = {**manifest, "format": FORMAT, "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(everything.items())}}
    everything[MANIFEST] = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    if sign is not None:
        key_id, signature = sign(manifest_message(everything[MANIFEST]))
        everything[MANIFEST_SIGNATURE] = orjson.dumps({"key_id": key_id, "signature": base64.b64encode(signature).decode()})
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(everything.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(everything.items()):
            archive.writestr(name, data)
        archive.writestr(SUMS, sums)
    return buffer.getvalue()


def _unzipped(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a readable zip file: {exc}") from None


def signing_key_ids(data: bytes) -> set[str]:
    """The key ids a bundle's checkpoints and manifest signature name (before any check: to trust one PEM key under each)."""
    try:
        files = _unzipped(data)
        signed = list(_jsonl(files.get(CHECKPOINTS, b""), CHECKPOINTS))
        if MANIFEST_SIGNATURE in files:
            signed.append(orjson.loads(files[MANIFEST_SIGNATURE]))
    except (BundleError, orjson.JSONDecodeError):
        return set()
    return {str(entry.get("key_id")) for entry in signed if isinstance(entry, dict)}


def read_bundle(data: bytes) -> BundleContents:
    """Open a bundle and check every file against the manifest (a missing, extra or changed file is refused)."""
    files = _unzipped(data)
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
    extra = sorted(set(files) - set(listed) - {MANIFEST, MANIFEST_SIGNATURE, SUMS})
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
    first = int((contents.manifest.get("events") or {}).get("first_seq") or (events[0].seq if events else 1))
    keys = trusted_keys if trusted_keys is not None else bundle_keys
    report = verify_trail(events, checkpoints=checkpoints, keys=keys, from_seq=first)
    report.notes = [note for note in report.notes if "taken on trust" not in note and "not yet covered" not in note]
    if report.ok and first > 1 and not any(c.seq == first for c in checkpoints):
        report.failure = Failure(first, "the bundle starts at an event that is neither the start of the chain nor sealed "
                                        "by a checkpoint, so its link to earlier events cannot be proven")
    if report.ok and events and not any(c.seq == events[-1].seq for c in checkpoints):
        report.failure = Failure(events[-1].seq, "the last event of the bundle is not sealed by a checkpoint")
    if report.ok:
        problem = _manifest_signature_problem(files, keys)
        if problem:
            report.failure = Failure(None, problem)
    if trusted_keys is None:
        report.notes.append("the public keys were taken from the bundle itself: compare their fingerprints with the keys "
                            "govern publishes at /api/v1/audit/keys, or pass --public-key with keys you obtained yourself")
    return report


def _manifest_signature_problem(files: dict[str, bytes], keys: list[TrustedKey]) -> str | None:
    if MANIFEST_SIGNATURE not in files:
        return f"{MANIFEST_SIGNATURE} is missing: the manifest is not signed"
    try:
        signed = orjson.loads(files[MANIFEST_SIGNATURE])
        key_id, signature = str(signed["key_id"]), base64.b64decode(signed["signature"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return f"{MANIFEST_SIGNATURE} is malformed"
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        return f"the manifest is signed by key {key_id}, which is not a trusted key"
    if not signature_valid(key.public_key, signature, manifest_message(files[MANIFEST])):
        return f"the manifest signature does not verify with key {key_id} (the manifest was changed)"
    return None
