"""`govern evidence export`: the evidence bundle of a period written to a file, with a progress bar on a terminal."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from govern import app_services
from govern.audit.signing import SigningUnavailable, current_signer
from govern.cli_support import cli_actor, moment_or_seq, with_app
from govern.extensions import db


@click.group()
def evidence() -> None:
    """Evidence for auditors."""


@evidence.command("export")
@click.option("--from", "from_", required=True, metavar="DATE", help="Start of the period (UTC date or time).")
@click.option("--to", required=True, metavar="DATE",
              help="Last day of the period, included (UTC), e.g. 2026-12-31; or an exact end time, excluded.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The .zip to write.")
def export(from_: str, to: str, output: Path) -> None:
    """The reports, the period's audit events sealed by a signed checkpoint, the public keys and a manifest."""
    since, until = moment_or_seq(from_, "--from"), moment_or_seq(to, "--to", end_of_day=True)
    if not isinstance(since, datetime) or not isinstance(until, datetime):
        raise click.BadParameter("--from and --to take dates, e.g. 2026-01-01", param_hint="--from/--to")
    if since >= until:
        raise click.BadParameter("--from must be before --to", param_hint="--from/--to")
    _export(since, until, output)


class _ProgressBar:
    """A progress bar on standard error while an export runs, when standard error is a terminal (stdout stays clean)."""

    def __init__(self, stream) -> None:
        self.stream, self.bar, self.shown, self.stage = stream, None, 0, ""

    def __call__(self, state) -> None:
        if self.bar is None:
            if not state.total:
                return
            self.bar = click.progressbar(length=state.total, label="evidence bundle", file=self.stream, show_pos=True,
                                         item_show_func=lambda _item: self.stage)
            self.bar.__enter__()
        self.stage = state.stage
        self.bar.update(state.done - self.shown)
        self.shown = state.done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@with_app
def _export(since: datetime, until: datetime, output: Path) -> None:

    from govern.evidence.builder import export_evidence_to

    stderr = sys.stderr
    bar = _ProgressBar(stderr) if stderr.isatty() else None
    try:
        outcome = export_evidence_to(db.session, cli_actor(), current_signer(), app_services.settings(),
                                     since, until, output, commit=db.session.commit, progress=bar)
    except SigningUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"evidence bundle written to {output} ({outcome.size:,} bytes, {outcome.events:,} audit events, "
               f"sha256 {outcome.sha256})")
