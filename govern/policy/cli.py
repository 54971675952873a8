"""`govern policy check` (JSON Lines in, decisions out) and `govern policy test` (every rule's examples)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from govern.policy.engine.evaluation import CompiledPolicy, check_examples, evaluate, load_policy
from govern.policy.engine.findings import Detection
from govern.policy.engine.packs import PackError

_PACKS_OPTION = click.option(
    "--packs", "packs_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Directory of policy packs (default: the repository's policies/).",
)


def _load_or_exit(packs_dir: Path | None) -> CompiledPolicy:
    try:
        return load_policy(packs_dir)
    except PackError as exc:
        click.echo(f"policy packs refused: {exc}", err=True)
        sys.exit(2)


def _media_detections(items: Any) -> list[Detection]:
    """Media as detections already made by govern.policy.images: [{"entity": ..., "kind"?, "detail"?}]."""
    if not isinstance(items, list):
        raise ValueError('"media" must be a list')
    detections = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            raise ValueError(f'media[{index}] must be an object with an "entity"')
        detections.append(Detection(entity=item["entity"], start=0, end=0, kind=item.get("kind"),
                                    media_index=index, detail=item.get("detail")))
    return detections


def check_line(compiled: CompiledPolicy, raw: bytes) -> dict[str, Any] | None:
    """One input line to one output object (None for a blank line); never raises for bad input."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"id": None, "error": f"the line is not valid UTF-8 (byte {exc.start})"}
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except ValueError as exc:
        return {"id": None, "error": f"the line is not JSON: {exc}"}
    if not isinstance(item, dict):
        return {"id": None, "error": "each line must be a JSON object"}
    ident = item.get("id")
    text = item.get("text")
    if not isinstance(text, str):
        return {"id": ident, "error": '"text" must be a string'}
    try:
        media = _media_detections(item.get("media", []))
    except ValueError as exc:
        return {"id": ident, "error": str(exc)}
    # account_id is accepted but not looked up here: the CLI has no database, so no account context.
    decision = evaluate(compiled, text, media_detections=media)
    return {"id": ident, "decision": decision.decision.value,
            "findings": [finding.as_contract() for finding in decision.findings]}


@click.group("policy")
def policy() -> None:
    """The social media policy as code: check texts, test the packs."""


@policy.command("check")
@_PACKS_OPTION
def check(packs_dir: Path | None) -> None:
    """Read JSON Lines {"id", "text", "media"?, "account_id"?} from stdin; write one decision line per input."""
    compiled = _load_or_exit(packs_dir)
    out = sys.stdout
    for raw in sys.stdin.buffer:
        try:
            result = check_line(compiled, raw.rstrip(b"\r\n"))
        except Exception as exc:  # noqa: BLE001 - one bad input must not stop the stream
            result = {"id": None, "error": f"internal error: {type(exc).__name__}"}
        if result is not None:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()


@policy.command("test")
@_PACKS_OPTION
def test(packs_dir: Path | None) -> None:
    """Run every rule's must-match and must-not-match examples; exit 1 on any failure."""
    compiled = _load_or_exit(packs_dir)
    failures = check_examples(compiled)
    total = sum(len(r.must_match) + len(r.must_not_match) for r in compiled.rules)
    for failure in failures:
        click.echo("FAIL " + failure.describe())
    click.echo(f"{len(compiled.rules)} rules, {total} examples, {len(failures)} failed (packs {compiled.version})")
    if failures:
        sys.exit(1)
