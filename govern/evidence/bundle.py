"""The evidence bundle: reports, the audit events of a period with their signed checkpoints and public keys, a manifest.

An auditor verifies it without govern's database: SHA-256 of every file against the manifest, the hash chain of the
events, and every checkpoint signature against keys obtained independently (docs/evidence.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

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


class BundleWriter:
    """A bundle written entry by entry straight into its zip (`target`: a file opened for writing, or any seekable
    binary stream), each file's SHA-256 computed as it is written; `finish` adds README.md, the signed manifest and
    SHA256SUMS. Memory stays bounded whatever the size of an entry."""

    # Deflate level 1: a trail is mostly hashes and ids, which level 6 packs no better (0.30 against 0.33 of the size
    # on audit events) at a quarter of the speed; at 10 million events that is minutes of the export.
    COMPRESS_LEVEL = 1

    def __init__(self, target: BinaryIO) -> None:
        self.archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.COMPRESS_LEVEL,
                                       allowZip64=True)
        self.digests: dict[str, str] = {}

    @contextmanager
    def entry(self, name: str) -> Iterator[Callable[[bytes], None]]:
        """`with writer.entry(name) as write: write(piece)...`: one file of the bundle, streamed."""
        digest = hashlib.sha256()
        with self.archive.open(name, "w", force_zip64=True) as stream:
            def write(piece: bytes) -> None:
                digest.update(piece)
                stream.write(piece)

            yield write
        self.digests[name] = digest.hexdigest()

    def add(self, name: str, data: bytes) -> None:
        with self.entry(name) as write:
            write(data)

    def finish(self, manifest: dict[str, object], readme: str,
               sign: Callable[[bytes], tuple[str, bytes]] | None = None) -> None:
        self.add("README.md", readme.encode())
        manifest = {**manifest, "format": FORMAT, "files": dict(sorted(self.digests.items()))}
        manifest_bytes = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        self.add(MANIFEST, manifest_bytes)
        if sign is not None:
            key_id, signature = sign(manifest_message(manifest_bytes))
            self.add(MANIFEST_SIGNATURE, orjson.dumps({"key_id": key_id, "signature": base64.b64encode(signature).decode()}))
        sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.digests.items()))
        self.archive.writestr(SUMS, sums)
        self.archive.close()


def write_bundle(files: dict[str, bytes], manifest: dict[str, object], readme: str,
                 sign: Callable[[bytes], tuple[str, bytes]] | None = None) -> bytes:
    """Zip `files` with README.md, a manifest listing every file's SHA-256 (signed with the audit key when `sign`
    is given), and SHA256SUMS for `sha256sum -c` (in memory: small bundles and tests; exports use BundleWriter)."""
    buffer = io.BytesIO()
    writer = BundleWriter(buffer)
    for name, data in sorted(files.items()):
        writer.add(name, data)
    writer.finish(manifest, readme, sign)
    return buffer.getvalue()


Source = bytes | str | Path


def _open(source: Source) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a readable zip file: {exc}") from None


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, zipfile.LargeZipFile) as exc:
        raise BundleError(f"{name} cannot be read: {exc}") from None


def _digest(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(name) as stream:
            while piece := stream.read(1 << 20):
                digest.update(piece)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{name} cannot be read: {exc}") from None
    return digest.hexdigest()


def _unzipped(data: Source) -> dict[str, bytes]:
    with _open(data) as archive:
        return {name: _read(archive, name) for name in archive.namelist() if not name.endswith("/")}


def signing_key_ids(data: Source) -> set[str]:
    """The key ids a bundle's checkpoints and manifest signature name (before any check: to trust one PEM key under each)."""
    try:
        with _open(data) as archive:
            names = set(archive.namelist())
            signed = list(_jsonl(_read(archive, CHECKPOINTS) if CHECKPOINTS in names else b"", CHECKPOINTS))
            if MANIFEST_SIGNATURE in names:
                signed.append(orjson.loads(_read(archive, MANIFEST_SIGNATURE)))
    except (BundleError, orjson.JSONDecodeError):
        return set()
    return {str(entry.get("key_id")) for entry in signed if isinstance(entry, dict)}


def _checked_manifest(archive: zipfile.ZipFile) -> dict:
    """The manifest, after checking every file against it (a missing, extra or changed file is refused); files are
    hashed as they are read, never held whole."""
    names = {name for name in archive.namelist() if not name.endswith("/")}
    if MANIFEST not in names:
        raise BundleError(f"{MANIFEST} is missing")
    try:
        manifest = orjson.loads(_read(archive, MANIFEST))
        listed = dict(manifest["files"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BundleError(f"{MANIFEST} is not a valid manifest") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
    for name, digest in sorted(listed.items()):
        if name not in names:
            raise BundleError(f"{name} is listed in the manifest but missing from the bundle")
        if _digest(archive, name) != digest:
            raise BundleError(f"{name} does not match its SHA-256 in the manifest (the file was changed)")
    extra = sorted(names - set(listed) - {MANIFEST, MANIFEST_SIGNATURE, SUMS})
    if extra:
        raise BundleError(f"files not in the manifest: {', '.join(extra)}")
    return manifest


def read_bundle(data: Source) -> BundleContents:
    """Open a bundle and check every file against the manifest (a missing, extra or changed file is refused)."""
    with _open(data) as archive:
        manifest = _checked_manifest(archive)
    return BundleContents(_unzipped(data), manifest)


def _jsonl(data: bytes, name: str) -> Iterable[dict]:
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                raise BundleError(f"{name} line {number} is not JSON") from None


def _event_lines(archive: zipfile.ZipFile) -> Iterator[EventRow]:
    with archive.open(EVENTS) as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                try:
                    yield EventRow.from_json(orjson.loads(line))
                except orjson.JSONDecodeError:
                    raise BundleError(f"{EVENTS} line {number} is not JSON") from None


def verify_bundle(data: Source, trusted_keys: list[TrustedKey] | None = None) -> TrailReport:
    """Manifest, hash chain, checkpoints; keys from `trusted_keys` (obtained independently) or else the bundle's own.

    `data` is the bundle's bytes or its path; the events are read line by line from the zip, never held whole."""
    with _open(data) as archive:
        manifest = _checked_manifest(archive)
        names = set(archive.namelist())
        for needed in (EVENTS, CHECKPOINTS, KEYS):
            if needed not in names:
                raise BundleError(f"{needed} is missing")
        try:
            checkpoints = [SignedCheckpoint(int(c["seq"]), c["head_hash"], _time(c["signed_at"]), c["key_id"],
                                            base64.b64decode(c["signature"]))
                           for c in _jsonl(_read(archive, CHECKPOINTS), CHECKPOINTS)]
            bundle_keys = keys_from_json(orjson.loads(_read(archive, KEYS)))
            first = (manifest.get("events") or {}).get("first_seq")
            if first is None:
                first_event = next(_event_lines(archive), None)
                first = first_event.seq if first_event else 1
            first = int(first)
            keys = trusted_keys if trusted_keys is not None else bundle_keys
            report = verify_trail(_event_lines(archive), checkpoints=checkpoints, keys=keys, from_seq=first)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(f"the audit files are malformed: {exc}") from None
        signature_files = {name: _read(archive, name) for name in (MANIFEST, MANIFEST_SIGNATURE) if name in names}
    report.notes = [note for note in report.notes if "taken on trust" not in note and "not yet covered" not in note]
    if report.ok and first > 1 and not any(c.seq == first for c in checkpoints):
        report.failure = Failure(first, "the bundle starts at an event that is neither the start of the chain nor sealed "
                                        "by a checkpoint, so its link to earlier events cannot be proven")
    if report.ok and report.events_checked and not any(c.seq == report.last_seq for c in checkpoints):
        report.failure = Failure(report.last_seq, "the last event of the bundle is not sealed by a checkpoint")
    if report.ok:
        problem = _manifest_signature_problem(signature_files, keys)
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
