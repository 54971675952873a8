"""`govern accounts impostors --candidates FILE`: lookalikes of the inventory's handles among candidates."""

from __future__ import annotations

import json
import unicodedata

import click
from govern.cli_support import with_app
from govern.extensions import db
from govern.policy.impostors.matching import DEFAULT_MIN_SCORE, ImpostorMatch, parse_candidates
from govern.policy.service import lookalikes_of_inventory


@click.command("impostors")
@click.option("--candidates", "candidates_file", required=True, type=click.File("r", encoding="utf-8"),
              help="One handle per line, optionally network:handle (e.g. instagram:acme_support); '-' for stdin.")
@click.option("--min-score", default=DEFAULT_MIN_SCORE, show_default=True, type=click.FloatRange(0, 1),
              help="Flag only lookalikes at least this alike.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@with_app
def impostors(candidates_file, min_score: float, as_json: bool) -> None:
    """Flag candidate handles that imitate the inventory's accounts (confusables and edit distance)."""
    matches = lookalikes_of_inventory(db.session, parse_candidates(candidates_file), min_score=min_score)
    if as_json:
        click.echo(json.dumps([match.as_dict() for match in matches], ensure_ascii=False, indent=2))
        return
    if not matches:
        click.echo("no lookalikes of the inventory's handles among the candidates")
        return
    click.echo(_table(matches))


def _table(matches: list[ImpostorMatch]) -> str:
    rows = [("SCORE", "CANDIDATE", "LOOKS LIKE", "WHY")]
    rows += [(f"{m.score:.2f}", _visible(str(m.candidate)), str(m.looks_like), "; ".join(m.reasons)) for m in matches]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3] for row in rows
    )


def _visible(text: str) -> str:
    """Invisible and direction-control characters shown as <U+200B>, so the terminal shows what is there."""
    return "".join(f"<U+{ord(char):04X}>" if unicodedata.category(char) == "Cf" else char for char in text)
