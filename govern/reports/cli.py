"""`govern report NAME --format csv|json|pdf [--from --to] -o FILE`."""

from __future__ import annotations

from pathlib import Path

import click

from govern.locales import SUPPORTED_LOCALES
from govern import app_services
from govern.cli_support import with_app
from govern.reports.render import RENDER_FORMATS
from govern.reports.service import REPORTS


@click.command("report")
@click.argument("name", type=click.Choice(REPORTS))
@click.option("--format", "fmt", type=click.Choice(RENDER_FORMATS), default="pdf", show_default=True)
@click.option("--from", "since", default=None, help="Start: YYYY-MM-DD or ISO 8601 (UTC if no offset); default 90 days before --to.")
@click.option("--to", "until", default=None, help="End: YYYY-MM-DD, that whole day included (--to 2026-12-01 covers all of 1 December), "
                   "or an ISO 8601 date-time (that moment excluded); default now.")
@click.option("--locale", type=click.Choice(SUPPORTED_LOCALES), default="en", show_default=True, help="Language of the PDF: its headings, column names, labels and numbers.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="File to write ('-' for standard output).")
@with_app
def report(name: str, fmt: str, since: str | None, until: str | None, locale: str, output: Path) -> None:
    """Write compliance report NAME (access, leavers, accounts, policy, credentials, reviews) to a file."""

    from govern.extensions import db
    from govern.reports.document import Period
    from govern.reports.render import stream_report
    from govern.reports.service import build_report, read_consistently

    period = Period.parse(since, until)  # a bad date is a DomainError: with_app prints it and exits 1
    read_consistently(db.session)
    built = build_report(db.session, name, period, app_services.settings())
    pieces = stream_report(built, fmt, locale=locale)
    if str(output) == "-":
        stdout = click.get_binary_stream("stdout")
        for piece in pieces:
            stdout.write(piece)
        return
    size = 0
    with output.open("wb") as target:  # written as the rows are read: memory stays bounded whatever the size
        for piece in pieces:
            target.write(piece)
            size += len(piece)
    first, last = period.shown()
    click.echo(f"{name} report ({fmt}, {size} bytes, {first} to {last} UTC{', both days included' if period.whole_days else ''}) "
               f"written to {output}; audit chain head seq {built.chain_head.seq}", err=True)
